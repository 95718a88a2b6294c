"""Other guest kernels and host QEMUs for the rig, beside Debian 12's own (6.1 and 7.2).

Customers' guests run kernels older than the rig's 6.1 (RHEL 7.9: 3.10, RHEL 8: 4.18, RHEL 9 and
SLES 15: 5.14, all before 5.19, where ``vpd_pgb0/b1/b2`` came to sysfs), and their hosts run
newer QEMUs than 7.2. Debian's archive serves both: Debian 11's kernel (5.10) and Debian 12
backports' kernel (6.12) and QEMU (10.0). They are fetched with a private apt configuration
under the rig's cache (its own sources list and package lists; the system's apt is not touched)
and unpacked there with ``dpkg-deb -x``, never installed: QEMU 10 runs from its unpacked tree,
with ``QEMU_MODULE_DIR`` at its own modules (``block-iscsi.so``) and ``-L`` at its own data
before the system's (SeaBIOS comes from the system's ``seabios`` package).

A :class:`RigPlatform` names one combination; ``run_scenario(..., platform=...)`` boots it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .guest_image import (
    CACHE_DIR,
    GuestImageError,
    GuestKernel,
    _run,
    cache_lock,
    ensure_kernel,
)

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
ARCHIVE = "http://deb.debian.org/debian"
SUITES = ("bullseye", "bookworm-backports")
LISTS_MAX_AGE_S = 7 * 24 * 3600
SYSTEM_QEMU_BINARY = Path("/usr/bin/qemu-system-x86_64")
QEMU_PACKAGES = ("qemu-system-x86", "qemu-system-common", "qemu-system-data", "qemu-block-extra")


@dataclass(frozen=True)
class HostQemu:
    """A QEMU to run: its argv prefix (binary and data directories) and its environment."""

    label: str
    binary: Path
    data_dirs: tuple[Path, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    def binary_args(self) -> list[str]:
        args = [str(self.binary)]
        for directory in self.data_dirs:
            args += ["-L", str(directory)]
        return args


SYSTEM_QEMU = HostQemu("system", SYSTEM_QEMU_BINARY)


@dataclass(frozen=True)
class RigPlatform:
    """One guest kernel and one host QEMU: ``None`` is the system's (Debian 12: 6.1, 7.2)."""

    name: str
    kernel_suite: str | None = None  # the suite whose linux-image-amd64 the guest boots
    qemu_suite: str | None = None  # the suite whose QEMU runs the guest

    def kernel(self, cache_dir: Path = CACHE_DIR) -> GuestKernel:
        if self.kernel_suite is None:
            return ensure_kernel(cache_dir)
        apt = PrivateApt(cache_dir)
        package = apt.kernel_package(self.kernel_suite)
        return ensure_kernel(cache_dir, package, apt.download)

    def qemu(self, cache_dir: Path = CACHE_DIR) -> HostQemu:
        if self.qemu_suite is None:
            return SYSTEM_QEMU
        return ensure_qemu(self.qemu_suite, cache_dir)


DEFAULT_PLATFORM = RigPlatform("default")
PLATFORMS = {
    platform.name: platform
    for platform in (
        DEFAULT_PLATFORM,
        RigPlatform("kernel-5.10", kernel_suite="bullseye"),
        RigPlatform("kernel-6.12", kernel_suite="bookworm-backports"),
        RigPlatform("qemu-10.0", qemu_suite="bookworm-backports"),
    )
}


class PrivateApt:
    """apt with its own sources list and package lists under the rig's cache."""

    def __init__(self, cache_dir: Path = CACHE_DIR) -> None:
        self.root = cache_dir / "apt"
        self.sources = self.root / "sources.list"
        self.lists = self.root / "lists"

    def options(self, suite: str | None = None) -> list[str]:
        options = [
            "-o", f"Dir::Etc::SourceList={self.sources}",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={self.lists}",
            "-o", f"Dir::Cache={self.root / 'cache'}",
            "-o", "APT::Sandbox::User=root",
        ]  # fmt: skip
        if suite is not None:
            options += ["-o", f"APT::Default-Release={suite}"]
        return options

    def update(self) -> None:
        """Fetch the package lists once a week at most."""
        stamp = self.root / "updated"
        with cache_lock(self.root):
            fresh = stamp.exists() and time.time() - stamp.stat().st_mtime < LISTS_MAX_AGE_S
            if fresh:
                return
            (self.lists / "partial").mkdir(parents=True, exist_ok=True)
            (self.root / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
            self.sources.write_text(
                "".join(f"deb [signed-by={KEYRING}] {ARCHIVE} {suite} main\n" for suite in SUITES)
            )
            _run(["apt-get", "-q", *self.options(), "update"], timeout_s=600)
            stamp.write_text(f"{time.time()}\n")

    def candidate(self, package: str, suite: str) -> str:
        """The version of ``package`` that ``suite`` offers."""
        self.update()
        out = _run(["apt-cache", *self.options(suite), "policy", package], timeout_s=60)
        match = re.search(r"^\s*Candidate:\s*(\S+)", out, re.MULTILINE)
        if match is None or match.group(1) == "(none)":
            raise GuestImageError(f"{suite} offers no {package}")
        return match.group(1)

    def kernel_package(self, suite: str) -> str:
        """The versioned image package the suite's ``linux-image-amd64`` depends on."""
        version = self.candidate("linux-image-amd64", suite)
        out = _run(
            ["apt-cache", *self.options(suite), "depends", f"linux-image-amd64={version}"],
            timeout_s=60,
        )
        for line in out.splitlines():
            match = re.match(r"\s*Depends:\s*(linux-image-\S+)", line)
            if match and not match.group(1).endswith("-unsigned"):
                return match.group(1)
        raise GuestImageError(f"linux-image-amd64={version} ({suite}): no linux-image dependency")

    def download(self, package: str, to: Path, suite: str | None = None) -> None:
        """``apt-get download`` of ``package`` (its ``suite``'s version, if given) into ``to``."""
        self.update()
        spec = package if suite is None else f"{package}={self.candidate(package, suite)}"
        _run(["apt-get", "-q", *self.options(), "download", spec], timeout_s=600, cwd=to)


def ensure_qemu(suite: str, cache_dir: Path = CACHE_DIR) -> HostQemu:
    """The suite's QEMU, unpacked under the cache (fetched once)."""
    apt = PrivateApt(cache_dir)
    version = apt.candidate("qemu-system-x86", suite)
    upstream = re.sub(r"^\d+:", "", version).split("+")[0]
    root = cache_dir / "qemu" / re.sub(r"[^A-Za-z0-9.+~-]", "_", version)
    qemu = HostQemu(
        label=upstream,
        binary=root / "usr" / "bin" / "qemu-system-x86_64",
        data_dirs=(root / "usr" / "share" / "qemu",),
        env={"QEMU_MODULE_DIR": str(root / "usr" / "lib" / "x86_64-linux-gnu" / "qemu")},
    )
    with cache_lock(cache_dir):
        if qemu.binary.exists():
            return qemu
        staging = Path(tempfile.mkdtemp(prefix="qemu-", dir=cache_dir))
        try:
            debs = staging / "debs"
            debs.mkdir()
            for package in QEMU_PACKAGES:
                apt.download(package, debs, suite)
            tree = staging / "tree"
            for deb in sorted(debs.glob("*.deb")):
                _run(["dpkg-deb", "-x", str(deb), str(tree)], timeout_s=300)
            root.parent.mkdir(parents=True, exist_ok=True)
            if root.exists():
                shutil.rmtree(root)
            tree.rename(root)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if not qemu.binary.exists():
        raise GuestImageError(f"{qemu.binary} missing after unpacking QEMU {version}")
    return qemu


def qemu_env(host_qemu: HostQemu) -> dict[str, str]:
    """The environment QEMU runs in: the rig's, plus what an unpacked QEMU needs."""
    return {**os.environ, **host_qemu.env}
