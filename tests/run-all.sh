#!/usr/bin/env bash
# Every test guestprobe has, on a fresh Debian machine, in one command (as root):
#
#   bash tests/run-all.sh
#
# 1. installs what the tests need: every .ci/*-deps.sh (apt: sg3-utils, QEMU, tgt, rpm tools,
#    ...; run as root only), then the Python test dependencies with pip;
# 2. ruff;
# 3. the unit tests under Python 3.6 (RHEL 7.9, RHEL 8's platform-python, SLES 15: the oldest
#    click and pyudev those ship, 7.0 and 0.21) and 3.9 (RHEL 9), each in its own venv, where
#    the machine has those interpreters (pyenv's, or pythonX.Y on PATH; in CI both must exist);
# 4. everything under the default python3: unit, RPM payload, real-guest rig, sg3_utils matrix.
# Extra arguments go to that last pytest (e.g. -x, -k mixed).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
pipq=(-q --disable-pip-version-check)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    for deps in .ci/*-deps.sh; do bash "$deps"; done
fi
python3 -m pip install "${pipq[@]}" -e '.[test]'
python3 -m ruff check guestprobe tests bench

interpreter() {  # pyenv's newest X.Y, else pythonX.Y on PATH
    local found
    found=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/python"$1" 2>/dev/null |
            sort -V | tail -n 1 || true)
    [ -n "$found" ] || found=$(command -v "python$1" || true)
    echo "$found"
}

unit_tests_under() {  # VERSION, then pip requirements for that venv
    local version=$1 python venv
    shift
    python=$(interpreter "$version")
    if [ -z "$python" ]; then
        if [ "${CI:-}" = true ]; then
            echo "run-all: no Python $version interpreter: CI must test the product on it" >&2
            exit 1
        fi
        echo "run-all: no Python $version here: unit tests under it not run" >&2
        return 0
    fi
    venv=${TMPDIR:-/tmp}/guestprobe-py$version
    "$python" -m venv --clear "$venv"
    # pip 21.3 is the last for 3.6 and the first that reads an index's requires-python right
    "$venv/bin/python" -m pip install "${pipq[@]}" 'pip==21.3.1'
    "$venv/bin/python" -m pip install "${pipq[@]}" "$@"
    echo "== unit tests under Python $version"
    PYTHONPATH="$PWD" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit
}

unit_tests_under 3.6 'click==7.0' 'pyudev==0.21.0' six dataclasses 'tomli==1.2.3' \
    'pytest<7.1' pytest-subprocess hypothesis 'jsonschema<4.1' 'PyYAML==6.0.1'
unit_tests_under 3.9 'click==7.1.2' 'pyudev==0.22.0' 'tomli==1.2.3' \
    pytest pytest-subprocess hypothesis jsonschema PyYAML

echo "== every test under $(python3 --version)"
python3 -m pytest -q "$@"
