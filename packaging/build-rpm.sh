#!/usr/bin/env bash
# Build guestprobe's SRPM and noarch RPM with rpmbuild, from an sdist of this working tree.
#
#   packaging/build-rpm.sh [--target el7|el8|el9|sles15] [OUTDIR]   # default OUTDIR: dist/rpm
#
# Without --target the build host's own distribution decides (its %{rhel} / %{suse_version});
# with it, the RPM for that guest OS is built anywhere, Debian/Ubuntu included (apt-get install
# rpm). The spec (guestprobe.spec) says per target which interpreter and which bundled libraries.
# The bundled libraries' wheels (Source10-13 of the spec) are taken from $GUESTPROBE_WHEELS
# (a folder) when they are there, else fetched once with pip into dist/wheels/.
# The payload is byte-compiled by the target's own interpreter; where this host lacks it, set
# BYTECOMPILE_PYTHON to a Python of the same version (python3.6 for el7, el8, sles15; python3.9
# for el9). The sdist is made by setuptools' own PEP 517 hook in a scratch copy, so the working
# tree is left untouched. On a host whose rpm database does not know the build requirements
# (Debian), --nodeps is passed. Prints the paths of the SRPM and the RPM.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
target_defines=()
if [ "${1:-}" = "--target" ]; then
    case "${2:-}" in
        el7 | el8 | el9) target_defines=(--define "rhel ${2#el}" --define "dist .${2}") ;;
        sles15) target_defines=(--define "suse_version 1500" --define "dist %{nil}") ;;
        *) echo "build-rpm.sh: --target takes el7, el8, el9 or sles15" >&2; exit 2 ;;
    esac
    shift 2
fi
if [ -n "${BYTECOMPILE_PYTHON:-}" ]; then
    target_defines+=(--define "bytecompile_python $BYTECOMPILE_PYTHON")
fi
outdir=$(mkdir -p "${1:-$top/dist/rpm}" && cd "${1:-$top/dist/rpm}" && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/guestprobe-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. the sdist, from a scratch copy of what the package is made of
mkdir -p "$work/src" "$work/rpmbuild/SOURCES"
cp -a "$top/pyproject.toml" "$top/README.md" "$top/guestprobe" "$work/src/"
if [ -d "$top/checks" ]; then cp -a "$top/checks" "$work/src/"; fi
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +
(cd "$work/src" && "$python" -c \
    'import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])' \
    "$work/rpmbuild/SOURCES" >"$work/sdist.log" 2>&1) || { cat "$work/sdist.log" >&2; exit 1; }
cp "$here/guestprobe.8" "$here/guestprobe.bash" "$here/guestprobe-launcher.py" \
    "$work/rpmbuild/SOURCES/"
wheels=${GUESTPROBE_WHEELS:-$top/dist/wheels}
mkdir -p "$wheels"
for wheel in $(rpmspec -P "${target_defines[@]}" "$here/guestprobe.spec" |
               sed -n 's,^Source1[0-9]:.*/\([^/]*\.whl\)$,\1,p'); do
    if [ ! -e "$wheels/$wheel" ]; then
        IFS=- read -r name version _ <<<"$wheel"
        "$python" -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
            --python-version 3.6 --implementation py -d "$wheels" "$name==$version" >&2
    fi
    cp "$wheels/$wheel" "$work/rpmbuild/SOURCES/"
done

# 2. SRPM and RPM
nodeps=()
if ! rpm -q --whatprovides rpm >/dev/null 2>&1; then nodeps=(--nodeps); fi
rpmbuild -ba "${nodeps[@]}" "${target_defines[@]}" \
    --define "_topdir $work/rpmbuild" \
    --define "_source_filedigest_algorithm 8" \
    --define "_binary_filedigest_algorithm 8" \
    "$here/guestprobe.spec" >"$work/rpmbuild.log" 2>&1 || { cat "$work/rpmbuild.log" >&2; exit 1; }

find "$work/rpmbuild/SRPMS" "$work/rpmbuild/RPMS" -name '*.rpm' -exec cp {} "$outdir/" \;
find "$outdir" -maxdepth 1 -name 'guestprobe-*.rpm' | sort
