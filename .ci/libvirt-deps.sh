#!/usr/bin/env bash
# What `guestprobe host`'s real-libvirtd tests (tests/vm/test_host_libvirt.py) need on a fresh
# Debian 12 machine, after `apt-get update` (tests/run-all.sh runs every .ci/*-deps.sh):
#   libvirt-daemon-system        libvirtd, virtlogd and their config (started by the test
#                                harness itself, no systemd)
#   libvirt-daemon-driver-qemu   libvirtd's QEMU driver (a Recommends only, so named here)
#   libvirt-clients              virsh (used by people reading the tests' domains, not by tests)
#   libvirt-dev pkg-config gcc   to build the `libvirt` Python binding for the project's python3
#                                (pyenv's 3.11, not Debian's /usr/bin/python3, so Debian's
#                                python3-libvirt is not importable there): libvirt-python is
#                                pip-installed at the version of the libvirt it is built against.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends \
    libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients \
    libvirt-dev pkg-config gcc >/dev/null
version=$(pkg-config --modversion libvirt)
python3 -m pip install -q --disable-pip-version-check "libvirt-python==$version"
