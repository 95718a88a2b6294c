"""Build the sg3_utils releases guestprobe's users run, from the upstream sources in ``shared/``.

    python -m tests.vm.sg3_builds                 # build (or find cached) every release; times
    python -m tests.vm.sg3_builds 1.37 --force    # build one again

Each release of :data:`RELEASES` is built from ``<shared>/sg3_utils/sg3_utils-<release>.tar.xz``
(``shared/`` is found beside the checkout, see :func:`shared_dir`) into
``tests/vm/.cache/sg3/<release>/<key>/``, where the key is the tarball's SHA-256 and the recipe
number: a changed tarball or recipe builds again, nothing else does. One configure serves twice:

* ``bin/``: the tools, linked statically against their own release's libsgutils2
  (``-static-libtool-libs``), so that they run beside the system's sg3_utils whatever its
  library; libc stays dynamic;
* ``lib/libsgutils2*.so*`` and ``include/scsi/``: the shared library of that release, for
  callers of libsgutils2 through ctypes, tested against each release.

Fixes applied to a temporary copy of the sources (never to ``shared/``), as its README says:
1.37 wants ``-fcommon`` (gcc >= 10) and ``#include <sys/sysmacros.h>`` in ``src/sg_map26.c``
(glibc >= 2.28); 1.48 ships no ``configure`` and runs ``./autogen.sh`` (autoconf, automake,
libtool: ``.ci/sg3-deps.sh``). Builders running at once (pytest workers, two checkouts sharing a
cache) take a ``flock`` per release; a build is complete when its ``build.json`` exists.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .guest_image import CACHE_DIR

REPO = Path(__file__).resolve().parents[2]
RELEASES = ("1.37", "1.44", "1.47", "1.48")
RECIPE = 1  # bump when the steps below change: every release builds again
SG3_CACHE = CACHE_DIR / "sg3"
STEP_TIMEOUT_S = 900
SHARED_ENV = "GUESTPROBE_SHARED"
# Per release: extra configure environment and source fixes (see the module docstring).
_CFLAGS = {"1.37": "-g -O2 -fcommon"}
_PREPEND_INCLUDE = {"1.37": ("src/sg_map26.c", "#include <sys/sysmacros.h>\n")}


class BuildError(RuntimeError):
    """A release could not be built; the message names the step and the log's tail."""


@dataclass(frozen=True)
class Sg3Build:
    release: str
    prefix: Path
    tarball_sha256: str
    build_s: float  # how long the build took (when it was built, maybe in an earlier run)
    cached: bool  # found complete in the cache by this call

    @property
    def bin_dir(self) -> Path:
        return self.prefix / "bin"

    @property
    def lib_dir(self) -> Path:
        return self.prefix / "lib"

    def libsgutils2(self) -> Path:
        """The shared library (``libsgutils2-1.48.so.2.0.0``; 1.37: ``libsgutils2.so.2.0.0``)."""
        found = sorted(p for p in self.lib_dir.glob("libsgutils2*.so*") if not p.is_symlink())
        if not found:
            raise BuildError(f"sg3_utils {self.release}: no shared libsgutils2 in {self.lib_dir}")
        return found[0]


def shared_dir() -> Path:
    """``shared/``: ``$GUESTPROBE_SHARED``, else the nearest ``shared/`` with ``sg3_utils/`` in it
    beside the checkout or beside one of its parents (CI: ``<repo>/../shared``; a git worktree
    below ``/work/wt/``: ``/work/shared``)."""
    if os.environ.get(SHARED_ENV):
        return Path(os.environ[SHARED_ENV])
    for parent in REPO.parents:
        if (parent / "shared" / "sg3_utils").is_dir():
            return parent / "shared"
    return REPO.parent / "shared"


def tarball(release: str) -> Path:
    path = shared_dir() / "sg3_utils" / f"sg3_utils-{release}.tar.xz"
    if not path.is_file():
        raise BuildError(
            f"sg3_utils {release}: {path} is missing (the upstream sources live in shared/ beside"
            f" the checkout; set {SHARED_ENV} to another shared/)"
        )
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _step(argv: Sequence[str], cwd: Path, log: Path, env: dict[str, str]) -> None:
    with log.open("ab") as handle:
        handle.write(f"\n$ {' '.join(argv)}\n".encode())
        handle.flush()
        try:
            proc = subprocess.run(
                list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=handle,
                stderr=subprocess.STDOUT, env=env, timeout=STEP_TIMEOUT_S, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BuildError(f"{' '.join(argv)}: {exc}") from exc
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise BuildError(f"{' '.join(argv)} exited {proc.returncode} in {cwd}:\n{tail}")


def _build(release: str, source_tarball: Path, prefix: Path, log: Path) -> None:
    """Unpack into a temporary folder, fix, configure, make, install into ``prefix``."""
    with tempfile.TemporaryDirectory(prefix=f"sg3-{release}-") as temp:
        src = Path(temp) / "src"
        src.mkdir()
        env = dict(os.environ, LC_ALL="C")
        _step(["tar", "-xJf", str(source_tarball), "-C", str(src), "--strip-components=1"],
              src, log, env)  # fmt: skip
        if release in _PREPEND_INCLUDE:
            name, line = _PREPEND_INCLUDE[release]
            (src / name).write_text(line + (src / name).read_text(errors="surrogateescape"),
                                    errors="surrogateescape")  # fmt: skip
        if not (src / "configure").exists():
            _step(["sh", "./autogen.sh"], src, log, env)
        if release in _CFLAGS:
            env["CFLAGS"] = _CFLAGS[release]
        jobs = f"-j{max(1, min(4, os.cpu_count() or 1))}"
        _step(["./configure", f"--prefix={prefix}", "--enable-shared", "--enable-static"],
              src, log, env)  # fmt: skip
        _step(["make", jobs, "-C", "lib"], src, log, env)
        _step(["make", jobs, "-C", "src", "LDFLAGS=-static-libtool-libs"], src, log, env)
        for part in ("lib", "src", "include"):
            _step(["make", "-C", part, "install"], src, log, env)


def ensure_build(release: str, force: bool = False) -> Sg3Build:
    """The release's build from the cache, built first when missing (one builder at a time)."""
    source = tarball(release)
    digest = sha256(source)
    release_dir = SG3_CACHE / release
    release_dir.mkdir(parents=True, exist_ok=True)
    prefix = release_dir / f"{digest[:16]}-r{RECIPE}"
    stamp = prefix / "build.json"
    with (release_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and not force:
            info = json.loads(stamp.read_text())
            return Sg3Build(release, prefix, digest, float(info["build_s"]), cached=True)
        if prefix.exists():
            shutil.rmtree(prefix)
        prefix.mkdir()
        log = prefix / "build.log"
        start = time.monotonic()
        try:
            _build(release, source, prefix, log)
        except BuildError:
            (prefix / "build.failed").write_text(f"{time.time()}\n")
            raise
        build_s = round(time.monotonic() - start, 1)
        stamp.write_text(json.dumps({
            "release": release, "tarball": source.name, "tarball_sha256": digest,
            "recipe": RECIPE, "build_s": build_s, "cpus": os.cpu_count(),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }, indent=2) + "\n")  # fmt: skip
        return Sg3Build(release, prefix, digest, build_s, cached=False)


def ensure_builds(releases: Sequence[str] = RELEASES) -> dict[str, Sg3Build]:
    return {release: ensure_build(release) for release in releases}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.vm.sg3_builds", description=__doc__)
    parser.add_argument("releases", nargs="*", default=list(RELEASES))
    parser.add_argument("--force", action="store_true", help="build again even when cached")
    args = parser.parse_args(argv)
    status = 0
    for release in args.releases:
        start = time.monotonic()
        try:
            build = ensure_build(release, force=args.force)
        except BuildError as exc:
            print(f"sg3_utils {release}: FAILED: {exc}", file=sys.stderr)
            status = 1
            continue
        state = "cached" if build.cached else "built"
        print(
            f"sg3_utils {release}: {state} in {time.monotonic() - start:.1f} s"
            f" (build took {build.build_s} s) -> {build.prefix}"
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
