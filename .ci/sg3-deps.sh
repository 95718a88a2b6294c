#!/usr/bin/env bash
# What building the sg3_utils matrix (tests/vm/sg3_builds.py: 1.37, 1.44, 1.47, 1.48 from the
# upstream tarballs in ../shared/sg3_utils/) needs on a fresh Debian 12 machine, after
# `apt-get update`:
#   gcc make          configure && make of every release
#   autoconf automake libtool   1.48 ships no generated configure: ./autogen.sh
#   pkg-config        configure's checks
#   xz-utils          unpacking the .tar.xz sources
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends \
    gcc make autoconf automake libtool pkg-config xz-utils libc6-dev >/dev/null
