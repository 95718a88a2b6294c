#!/bin/sh
# guestprobe into a venv on the node, in one step (each Ansible task costs a Python start):
#   install_venv.sh VENV PYTHON WHEEL [PIP OPTIONS...]
# The venv sees the system's site-packages (the OS's click, pyudev and pip); a venv of its own
# pip only where the OS has none (ensurepip).
set -eu
venv=$1 python=$2 wheel=$3
shift 3
[ -x "$venv/bin/python" ] || "$python" -m venv --system-site-packages --without-pip "$venv"
"$venv/bin/python" -m pip --version >/dev/null 2>&1 || "$venv/bin/python" -m ensurepip -q
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$@" "$wheel"
"$venv/bin/python" -c 'import click, pyudev, guestprobe.cli'
echo "guestprobe installed in $venv"
