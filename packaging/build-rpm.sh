#!/usr/bin/env bash
# Build guestprobe's SRPM and noarch RPM with rpmbuild, from an sdist of this working tree.
#
#   packaging/build-rpm.sh [OUTDIR]        # default OUTDIR: dist/rpm (SRPM and RPM land there)
#
# Works offline, on RHEL/Fedora and on Debian/Ubuntu (apt-get install rpm). The sdist is made
# by setuptools' own PEP 517 hook in a scratch copy, so the working tree is left untouched.
# On a host whose rpm database does not know the build requirements (Debian), --nodeps is
# passed. Prints the paths of the SRPM and the RPM.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
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
cp "$here/guestprobe.8" "$here/guestprobe.bash" "$work/rpmbuild/SOURCES/"

# 2. SRPM and RPM
nodeps=()
if ! rpm -q --whatprovides rpm >/dev/null 2>&1; then nodeps=(--nodeps); fi
rpmbuild -ba "${nodeps[@]}" \
    --define "_topdir $work/rpmbuild" \
    --define "_source_filedigest_algorithm 8" \
    --define "_binary_filedigest_algorithm 8" \
    "$here/guestprobe.spec" >"$work/rpmbuild.log" 2>&1 || { cat "$work/rpmbuild.log" >&2; exit 1; }

find "$work/rpmbuild/SRPMS" "$work/rpmbuild/RPMS" -name '*.rpm' -exec cp {} "$outdir/" \;
find "$outdir" -maxdepth 1 -name 'guestprobe-*.rpm' | sort
