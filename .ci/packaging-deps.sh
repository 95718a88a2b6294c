#!/usr/bin/env bash
# Packages the RPM test needs (tests/unit/test_packaging.py): rpmbuild, rpmlint, rpm2cpio, cpio.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends rpm rpmlint rpm2cpio cpio >/dev/null
