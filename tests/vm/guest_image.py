"""The guest's kernel and initramfs: fetched and built once, cached under ``tests/vm/.cache/``.

The kernel is Debian's own: the image package that ``linux-image-amd64`` depends on, fetched with
``apt-get download`` and unpacked with ``dpkg-deb -x`` (never installed). The initramfs is
busybox-static, the kernel modules the guest needs (resolved through ``modules.dep`` after
``depmod -b``) and :data:`INIT_SCRIPT`, which mounts the host's own ``/`` read-only over virtio-9p
as the guest's root, runs ``/run/rig/guest.sh`` in it and powers off.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
BUSYBOX = Path("/bin/busybox")
META_PACKAGE = "linux-image-amd64"

# What the guest's devices need; their dependencies come from modules.dep.
GUEST_MODULES = (
    # Loaded by crypto-API name, not by symbol, so modules.dep does not list them; before the
    # modules that look them up at load time (t10-pi via crc64-rocksoft, crc-t10dif).
    "crc64_rocksoft_generic",
    "crct10dif_generic",
    "crc32c_generic",  # cluster rig: ext4 (for ext2) asks the crypto API for crc32c at mount
    "virtio_pci",
    "virtio_blk",
    "virtio_scsi",
    "9pnet_virtio",
    "9p",
    "scsi_mod",
    "sd_mod",
    "sg",
    "libata",
    "ahci",
    "nvme",
    "dm_mod",  # fencing-test rig: a device-mapper holder on another path of the LU
    "virtio_net",  # cluster rig: sshd on QEMU user networking
    "ext4",  # cluster rig: a node mounts the data LU (ext2, read-only) for the refused run
)
# Loaded where the kernel has them: crc64-rocksoft came with 6.0 (Debian 11's 5.10 lacks it).
OPTIONAL_MODULES = frozenset({"crc64_rocksoft_generic"})

# 9p tags, shared with :mod:`tests.vm.qemu`.
ROOT_TAG = "root"
RUN_TAG = "rig"

INIT_SCRIPT = f"""#!/bin/busybox sh
# guestprobe rig: load modules, mount the host's / (9p, read-only) as root, run the run's
# /run/rig/guest.sh in it, power off. Everything the run needs comes through the {RUN_TAG!r} share.
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
log() {{ echo "rig-init: $(cut -d' ' -f1 /proc/uptime) $*"; }}
fail() {{ log "FAILED: $*"; sync; poweroff -f; }}
log start
while read -r m; do insmod "/modules/$m" || log "insmod $m failed"; done < /modules/load-order
log modules-loaded
opts=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $opts,ro,cache=loose {ROOT_TAG} /newroot || fail "mount {ROOT_TAG}"
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm
mount -t tmpfs -o mode=755 tmpfs /newroot/run
mkdir -p /newroot/run/rig /newroot/run/rig-repo
mount -t 9p -o $opts {RUN_TAG} /newroot/run/rig || fail "mount {RUN_TAG}"
repo=$(cat /newroot/run/rig/repo_path)
mount --bind "/newroot$repo" /newroot/run/rig-repo || fail "bind $repo"
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
mount -t tmpfs -o mode=1777 tmpfs /newroot/var/tmp
# a checkout under /tmp or /var/tmp stays visible at its own path (its builds are named by it)
case "$repo" in
    /tmp/*|/var/tmp/*) mkdir -p "/newroot$repo" &&
        mount --bind /newroot/run/rig-repo "/newroot$repo" || fail "bind $repo over tmpfs" ;;
esac
log chroot
chroot /newroot /bin/sh /run/rig/guest.sh
log "guest.sh exit status $?"
sync
poweroff -f
"""


class GuestImageError(RuntimeError):
    """The kernel could not be fetched or the initramfs could not be built."""


@dataclass(frozen=True)
class GuestKernel:
    """An unpacked Debian kernel package."""

    package: str  # e.g. linux-image-6.1.0-56-amd64
    release: str  # e.g. 6.1.0-56-amd64
    root: Path  # where the package was unpacked

    @property
    def vmlinuz(self) -> Path:
        return self.root / "boot" / f"vmlinuz-{self.release}"

    @property
    def modules_dir(self) -> Path:
        return self.root / "lib" / "modules" / self.release


def _run(argv: list[str], timeout_s: float, cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GuestImageError(f"{argv[0]}: {exc}") from exc
    if proc.returncode != 0:
        raise GuestImageError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def kernel_package_name() -> str:
    """The versioned image package ``linux-image-amd64`` depends on (from apt's local lists)."""
    pinned = os.environ.get("RIG_KERNEL_PACKAGE")
    if pinned:
        return pinned
    out = _run(["apt-cache", "depends", META_PACKAGE], timeout_s=60)
    for line in out.splitlines():
        match = re.match(r"\s*Depends:\s*(linux-image-\S+)", line)
        if match and not match.group(1).endswith("-unsigned"):
            return match.group(1)
    raise GuestImageError(f"apt-cache depends {META_PACKAGE}: no linux-image dependency")


@contextlib.contextmanager
def cache_lock(cache_dir: Path) -> Iterator[None]:
    """One builder at a time per cache (parallel test runs, another session's rig)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _apt_get_download(package: str, downloads: Path) -> None:
    _run(["apt-get", "download", package], timeout_s=600, cwd=downloads)


def ensure_kernel(
    cache_dir: Path = CACHE_DIR,
    package: str | None = None,
    download: Callable[[str, Path], None] = _apt_get_download,
) -> GuestKernel:
    """Fetch and unpack the guest kernel unless the cache already holds it.

    ``package`` (default: what ``linux-image-amd64`` depends on) is fetched by ``download``
    (default: the system's ``apt-get download``; :mod:`tests.vm.versions` passes its own).
    """
    with cache_lock(cache_dir):
        return _ensure_kernel(cache_dir, package or kernel_package_name(), download)


def _ensure_kernel(
    cache_dir: Path, package: str, download: Callable[[str, Path], None]
) -> GuestKernel:
    release = package.removeprefix("linux-image-")
    root = cache_dir / "kernel" / package
    kernel = GuestKernel(package=package, release=release, root=root)
    if kernel.vmlinuz.exists() and (kernel.modules_dir / "modules.dep").exists():
        return kernel
    downloads = cache_dir / "debs"
    downloads.mkdir(parents=True, exist_ok=True)
    debs = sorted(downloads.glob(f"{package}_*.deb"))
    if not debs:
        download(package, downloads)
        debs = sorted(downloads.glob(f"{package}_*.deb"))
    if not debs:
        raise GuestImageError(f"apt-get download {package} left no .deb in {downloads}")
    staging = Path(tempfile.mkdtemp(prefix="kernel-", dir=cache_dir))
    try:
        _run(["dpkg-deb", "-x", str(debs[-1]), str(staging)], timeout_s=300)
        _run(["depmod", "-b", str(staging), release], timeout_s=300)
        if root.exists():
            shutil.rmtree(root)
        root.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(root)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    if not kernel.vmlinuz.exists():
        raise GuestImageError(f"{kernel.vmlinuz} missing after unpacking {debs[-1].name}")
    return kernel


def parse_modules_dep(text: str) -> dict[str, list[str]]:
    """``modules.dep`` as {module path: [dependency paths]}.

    >>> parse_modules_dep("kernel/a.ko: kernel/b.ko kernel/c.ko\\nkernel/c.ko:\\n")["kernel/a.ko"]
    ['kernel/b.ko', 'kernel/c.ko']
    """
    deps: dict[str, list[str]] = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        module, _, rest = line.partition(":")
        deps[module.strip()] = rest.split()
    return deps


def module_name(path: str) -> str:
    """``kernel/fs/9p/9p.ko`` -> ``9p``; dashes and underscores are the same to the kernel."""
    name = path.rsplit("/", 1)[-1]
    name = re.sub(r"\.ko(\.(xz|zst|gz))?$", "", name)
    return name.replace("-", "_")


def load_order(deps: dict[str, list[str]], wanted: tuple[str, ...]) -> list[str]:
    """Module paths to insmod, dependencies first (modules.dep lists each closure flattened)."""
    by_name = {module_name(path): path for path in deps}
    order: list[str] = []

    def visit(path: str, stack: tuple[str, ...]) -> None:
        if path in order or path in stack:
            return
        for dependency in reversed(deps.get(path, [])):
            visit(dependency, (*stack, path))
        order.append(path)

    missing = []
    for name in wanted:
        path = by_name.get(name.replace("-", "_"))
        if path is None:
            missing.append(name)
            continue
        visit(path, ())
    if missing:
        raise GuestImageError(f"modules not found in modules.dep: {missing}")
    return order


def _builtin_modules(kernel: GuestKernel) -> set[str]:
    path = kernel.modules_dir / "modules.builtin"
    if not path.exists():
        return set()
    return {module_name(line.strip()) for line in path.read_text().splitlines() if line.strip()}


def ensure_initramfs(kernel: GuestKernel, cache_dir: Path = CACHE_DIR) -> Path:
    """Build (or reuse) the initramfs for ``kernel``; its name carries a hash of its inputs."""
    with cache_lock(cache_dir):
        return _ensure_initramfs(kernel, cache_dir)


def _ensure_initramfs(kernel: GuestKernel, cache_dir: Path) -> Path:
    deps = parse_modules_dep((kernel.modules_dir / "modules.dep").read_text())
    builtin = _builtin_modules(kernel)
    present = {module_name(path) for path in deps}
    wanted = tuple(
        name
        for name in GUEST_MODULES
        if module_name(name) not in builtin
        and (name not in OPTIONAL_MODULES or module_name(name) in present)
    )
    order = load_order(deps, wanted)
    key = hashlib.sha256()
    for part in (kernel.release, INIT_SCRIPT, "\n".join(order)):
        key.update(part.encode() + b"\0")
    key.update(hashlib.sha256(BUSYBOX.read_bytes()).digest())
    target = cache_dir / f"initramfs-{kernel.release}-{key.hexdigest()[:16]}.cpio.gz"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory(prefix="initramfs-", dir=cache_dir) as tmp:
        staging = Path(tmp) / "root"
        for sub in ("bin", "modules", "proc", "sys", "dev", "newroot"):
            (staging / sub).mkdir(parents=True)
        shutil.copy2(BUSYBOX, staging / "bin" / "busybox")
        init = staging / "init"
        init.write_text(INIT_SCRIPT)
        init.chmod(0o755)
        names = []
        for path in order:
            name = path.rsplit("/", 1)[-1]
            shutil.copy2(kernel.modules_dir / path, staging / "modules" / name)
            names.append(name)
        (staging / "modules" / "load-order").write_text("\n".join(names) + "\n")
        listing = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p != staging)
        try:
            cpio = subprocess.run(
                ["cpio", "--quiet", "-o", "-H", "newc", "--reproducible"],
                cwd=staging,
                input="\n".join(listing).encode(),
                capture_output=True,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GuestImageError(f"cpio: {exc}") from exc
        if cpio.returncode != 0:
            raise GuestImageError(f"cpio exited {cpio.returncode}: {cpio.stderr.decode()}")
        partial = Path(tmp) / target.name
        partial.write_bytes(gzip.compress(cpio.stdout, compresslevel=6))
        os.replace(partial, target)
    return target
