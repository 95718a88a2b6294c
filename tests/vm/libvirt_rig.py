"""The rig's guests under a real libvirtd: a private daemon, real domains, real TCG guests.

``LibvirtDaemon`` starts ``/usr/sbin/libvirtd`` (system mode, as root, no systemd) in its own
mount namespace (``unshare -m``) with private bind mounts over ``/etc/libvirt``, ``/run/libvirt``,
``/var/lib/libvirt``, ``/var/cache/libvirt`` and ``/var/log/libvirt``: nothing of the machine's own
libvirt is read or changed, and its socket is reached from outside as
``qemu+unix:///system?socket=<dir>/run/libvirt-sock`` (``-sock-ro`` for read-only). Its
``qemu.conf`` runs QEMU as root without a security driver, cgroups or namespaces (a container has
none to give) and writes QEMU's stdio to files (``stdio_handler = "file"``), so virtlogd is not
needed.

``LibvirtRun`` is the rig's :class:`~tests.vm.rig.Run` with the QEMU command line replaced by a
domain XML of the same disks (virtio-blk and scsi-hd images, tgt LUNs passed through with
``device='lun'`` over QEMU's own iSCSI initiator), the same kernel, initramfs and 9p shares
(``<filesystem accessmode='squash'>`` is QEMU's ``security_model=none``), so the rig's guest
agent runs ``guestprobe scan --json`` inside that very domain. While the domain runs,
``guestprobe host`` reads it over the real read-only connection.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from . import qemu
from .guest_image import CACHE_DIR, ROOT_TAG, RUN_TAG, ensure_initramfs, ensure_kernel
from .processes import start_tied, stop_group
from .rig import BOOT_OVERHEAD_S, REPO, Run, RunResult, checksum_images
from .scenarios import SCSI_BLOCK, SCSI_HD, VIRTIO_BLK, Disk, Scenario, TgtLun
from .tgt import LISTEN_ADDRESS

LIBVIRTD = Path("/usr/sbin/libvirtd")
PRIVATE_DIRS = {  # inside the namespace -> folder under the daemon's directory
    "/etc/libvirt": "etc",
    "/run/libvirt": "run",
    "/var/lib/libvirt": "lib",
    "/var/cache/libvirt": "cache",
    "/var/log/libvirt": "log",
}
QEMU_CONF = """\
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = []
cgroup_controllers = []
stdio_handler = "file"
"""
LIBVIRTD_CONF = """\
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
"""


class LibvirtError(RuntimeError):
    pass


def libvirt_unavailable_reason() -> str | None:
    """Why no libvirtd test can run here; None when everything it needs is present."""
    if not os.access(LIBVIRTD, os.X_OK):
        return f"{LIBVIRTD} is missing (.ci/libvirt-deps.sh: libvirt-daemon-system)"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is missing"
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return "the libvirt Python binding is missing (.ci/libvirt-deps.sh: libvirt-python)"
    if os.geteuid() != 0:
        return "libvirtd's system instance needs root"
    return None


class LibvirtDaemon:
    """A private libvirtd; ``uri`` (read-write) and ``ro_uri`` once started."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = base / "libvirtd.log"

    @property
    def uri(self) -> str:
        return f"qemu+unix:///system?socket={self.base / 'run' / 'libvirt-sock'}"

    @property
    def ro_uri(self) -> str:
        return f"qemu+unix:///system?socket={self.base / 'run' / 'libvirt-sock-ro'}"

    def start(self, timeout_s: float = 60) -> None:
        for folder in PRIVATE_DIRS.values():
            (self.base / folder).mkdir(parents=True, exist_ok=True)
        (self.base / "etc" / "qemu.conf").write_text(QEMU_CONF)
        (self.base / "etc" / "libvirtd.conf").write_text(LIBVIRTD_CONF)
        # one command per line: under `set -e` a failed mount stops the script (in an && list
        # it would not, and libvirtd would run on the machine's own directories)
        mounts = "".join(
            f"mkdir -p {target}\nmount --bind {self.base / folder} {target}\n"
            for target, folder in PRIVATE_DIRS.items()
        )
        script = f"set -e\n{mounts}exec {LIBVIRTD}\n"
        self.proc = start_tied(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script], self.log
        )
        socket = self.base / "run" / "libvirt-sock"
        deadline = time.monotonic() + timeout_s
        while not socket.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise LibvirtError(f"libvirtd did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def connect(self) -> Any:
        import libvirt

        deadline = time.monotonic() + 30
        while True:
            try:
                return libvirt.open(self.uri)
            except libvirt.libvirtError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc, grace_s=10)


@dataclass(frozen=True)
class HostSettings:
    """What the domain XML sets on a disk beyond the rig's own (cache comes from the Disk)."""

    error_policy: str | None = None
    discard: str | None = None
    shareable: bool = False
    reservations: bool = False  # <reservations managed='yes'/>


def _target_dev(kind: str, index: int) -> str:
    return ("vd" if kind == VIRTIO_BLK else "sd") + chr(ord("a") + index)


def disk_xml(attached: qemu.AttachedDisk, target: str, settings: HostSettings,
             iqn: str, port: int, initiator: str) -> str:
    disk = attached.disk
    driver = [("name", "qemu"), ("type", "raw"), ("cache", disk.cache)]
    if settings.error_policy:
        driver.append(("error_policy", settings.error_policy))
    if settings.discard:
        driver.append(("discard", settings.discard))
    driver_xml = "<driver " + " ".join(f"{k}={quoteattr(v)}" for k, v in driver) + "/>"
    extra = "<shareable/>" if settings.shareable else ""
    reservations = "<reservations managed='yes'/>" if settings.reservations else ""
    if disk.serial and disk.kind != SCSI_BLOCK:
        extra += f"<serial>{disk.serial}</serial>"
    if disk.wwn and disk.kind == SCSI_HD:
        extra += f"<wwn>{disk.wwn.removeprefix('0x')}</wwn>"
    if disk.kind == VIRTIO_BLK:
        return (f"<disk type='file' device='disk'>{driver_xml}"
                f"<source file={quoteattr(str(attached.image))}/>"
                f"<target dev='{target}' bus='virtio'/>{extra}</disk>")
    address = (f"<address type='drive' controller='0' bus='0' target='{attached.scsi_id}' "
               "unit='0'/>")
    if disk.kind == SCSI_HD:
        return (f"<disk type='file' device='disk'>{driver_xml}"
                f"<source file={quoteattr(str(attached.image))}/>"
                f"<target dev='{target}' bus='scsi'/>{extra}{address}</disk>")
    if disk.kind == SCSI_BLOCK:
        return (f"<disk type='network' device='lun'>{driver_xml}"
                f"<source protocol='iscsi' name={quoteattr(f'{iqn}/{disk.lun}')}>"
                f"<host name='{LISTEN_ADDRESS}' port='{port}'/>"
                f"<initiator><iqn name={quoteattr(initiator)}/></initiator>"
                f"{reservations}</source>"
                f"<target dev='{target}' bus='scsi'/>{extra}{address}</disk>")
    raise LibvirtError(f"{disk.kind}: not a disk kind the libvirt rig attaches")


def domain_xml(name: str, kernel: Any, initramfs: Path, run_dir: Path, disks: list[str],
               memory_mib: int = 1024) -> str:
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{memory_mib}</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel.vmlinuz}</kernel>
    <initrd>{initramfs}</initrd>
    <cmdline>{qemu.KERNEL_CMDLINE}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{qemu.QEMU}</emulator>
    <controller type='scsi' index='0' model='virtio-scsi'/>
    <controller type='usb' model='none'/>
    {"".join(disks)}
    <filesystem type='mount' accessmode='squash' multidevs='remap'>
      <driver type='path'/><source dir='/'/><target dir='{ROOT_TAG}'/><readonly/>
    </filesystem>
    <filesystem type='mount' accessmode='squash' multidevs='remap'>
      <driver type='path'/><source dir='{run_dir}'/><target dir='{RUN_TAG}'/>
    </filesystem>
    <serial type='file'><source path='{run_dir / "console.log"}'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
"""


@dataclass
class LibvirtResult:
    run: RunResult
    domain_xml: str
    live_xml: str
    host_running: dict[str, Any]  # guestprobe host --json of the running domain
    host_stdout: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def guestprobe_host(uri: str, *args: str, output: Path) -> subprocess.CompletedProcess[str]:
    """``python -m guestprobe host ... --json -o OUTPUT`` against the daemon, from the checkout."""
    return subprocess.run(
        [sys.executable, "-m", "guestprobe", "host", "-c", uri, *args, "--json", "-o",
         str(output)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


class LibvirtRun(Run):
    """One rig scenario booted as a libvirt domain (see the module docstring)."""

    def __init__(self, scenario: Scenario, command: str, daemon: LibvirtDaemon,
                 settings: dict[str, HostSettings], keep: bool = False) -> None:
        super().__init__(scenario, command, capture=False, keep=keep)
        self.daemon = daemon
        self.settings = settings
        self.domain_name = f"gp-{scenario.name}-{self.token}"[:40]

    def execute_libvirt(self) -> LibvirtResult:  # noqa: PLR0915 (one boot, its steps in order)
        kernel = ensure_kernel()
        initramfs = ensure_initramfs(kernel)
        python = os.path.realpath(sys.executable)
        conn = None
        domain = None
        try:
            self._start_tgt()
            attached = self._prepare_disks()
            self._write_plan(python)
            checksums_before = checksum_images(self.images)
            port = self.tgt.port if self.tgt else 0
            counters = {VIRTIO_BLK: 0, "scsi": 0}
            disks = []
            for item in attached:
                group = VIRTIO_BLK if item.disk.kind == VIRTIO_BLK else "scsi"
                target = _target_dev(item.disk.kind, counters[group])
                counters[group] += 1
                disks.append(disk_xml(item, target, self.settings.get(item.disk.label,
                                                                      HostSettings()),
                                      self.iqn, port, self.initiator_name(item.disk.initiator)))
            xml = domain_xml(self.domain_name, kernel, initramfs, self.run_dir, disks,
                             self.scenario.memory_mib)
            (self.run_dir / "domain.xml").write_text(xml)
            conn = self.daemon.connect()
            domain = conn.defineXML(xml)
            guest_start = time.monotonic()
            domain.create()
            live_xml = domain.XMLDesc(0)
            host_json = self.run_dir / "host-running.json"
            shown = guestprobe_host(self.daemon.ro_uri, self.domain_name, output=host_json)
            if shown.returncode != 0:
                raise LibvirtError(f"guestprobe host failed ({shown.returncode}): "
                                   f"{shown.stderr.strip()}")
            host_running = json.loads(host_json.read_text())
            deadline = guest_start + self.scenario.command_timeout_s + BOOT_OVERHEAD_S
            while domain.isActive():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            timed_out = bool(domain.isActive())
            guest_end = time.monotonic()
        finally:
            if domain is not None:
                try:
                    if domain.isActive():
                        domain.destroy()
                    domain.undefine()
                except Exception:  # the daemon goes next anyway
                    pass
            if conn is not None:
                conn.close()
            if self.tgt is not None:
                self.tgt.stop()
        checksums_after = checksum_images(self.images)
        result = self._collect([], None, timed_out, checksums_before, checksums_after)
        result.wall_s = {"guest": round(guest_end - guest_start, 2)}
        return LibvirtResult(result, xml, live_xml, host_running, shown.stdout)


# The domain of the end-to-end test: the rig's disk kinds, with the host settings whose effect
# only the join can show.
LIBVIRT_SCENARIO = Scenario(
    name="libvirt-mixed",
    summary="virtio-blk (cache none), scsi-hd (cache writeback, error_policy stop, discard "
    "unmap), tgt LUN 1 as device='lun' (cache none, error_policy report) and tgt LUN 2 the same "
    "with <reservations managed='yes'/>, in a libvirt domain",
    disks=(
        Disk(VIRTIO_BLK, "virtio-blk_LVBLK01", serial="LVBLK01"),
        Disk(SCSI_HD, "scsi-hd_LSHD01", serial="LSHD01", cache="writeback"),
        Disk(SCSI_BLOCK, "tgt-lun1_path1", lun=1, initiator=1),
        Disk(SCSI_BLOCK, "tgt-lun2_path1", lun=2, initiator=1),
    ),
    luns=(TgtLun(1), TgtLun(2)),
)
LIBVIRT_SETTINGS = {
    "scsi-hd_LSHD01": HostSettings(error_policy="stop", discard="unmap"),
    "tgt-lun1_path1": HostSettings(error_policy="report", shareable=True),
    # libvirt 9.0 starts a managed qemu-pr-helper for it, even over QEMU's own iSCSI initiator
    "tgt-lun2_path1": HostSettings(error_policy="report", shareable=True, reservations=True),
}


# Defined, never started: a LUN on a host block device with managed reservations. This machine
# has no host SCSI block device (no iscsi_tcp module here), so it cannot run; libvirt still
# holds and returns its XML, and no qemu-pr-helper serves it. (No sgio='unfiltered': libvirt 9.0
# refuses it, "unfiltered sgio is no longer supported".)
def _defined_domain(name: str, devices: str) -> str:
    """A domain XML to define only (never started): a virtio-scsi controller and ``devices``."""
    return (f"<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>256</memory>\n"
            "  <os><type arch='x86_64' machine='pc'>hvm</type></os>\n  <devices>\n"
            "    <controller type='scsi' index='0' model='virtio-scsi'/>\n"
            f"{devices}  </devices>\n</domain>\n")


PR_DOMAIN = _defined_domain("gp-pr-defined", """\
    <disk type='block' device='lun'>
      <driver name='qemu' type='raw' cache='none' io='native' error_policy='report'/>
      <source dev='/dev/disk/by-id/wwn-0x60000000000000000e00000000010001'>
        <reservations managed='yes'/>
      </source>
      <target dev='sda' bus='scsi'/>
      <shareable/>
    </disk>
""")


# Defined, never started: two <hostdev type='scsi'> LUNs (scsi-generic), one reached by QEMU's own
# iSCSI initiator, one a host SCSI adapter's LU (this machine has none to start it with): what
# libvirt itself returns for them (the addresses it assigns) is what `guestprobe host` lists.
HOSTDEV_DOMAIN = _defined_domain("gp-hostdev-defined", """\
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/gp-hostdev-root.img'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <hostdev mode='subsystem' type='scsi'>
      <source protocol='iscsi' name='IQN/1'>
        <host name='127.0.0.1' port='3260'/>
      </source>
    </hostdev>
    <hostdev mode='subsystem' type='scsi' managed='no'>
      <source>
        <adapter name='scsi_host7'/>
        <address bus='0' target='0' unit='2'/>
      </source>
      <shareable/>
    </hostdev>
""")


def _define_only(daemon: LibvirtDaemon, xml: str) -> str | None:
    """Define ``xml``; None when libvirt accepts it, else libvirt's error."""
    import libvirt

    conn = daemon.connect()
    try:
        conn.defineXML(xml)
        return None
    except libvirt.libvirtError as exc:
        return str(exc)
    finally:
        conn.close()


def run_libvirt_scenario(keep: bool = False) -> LibvirtResult:
    """Start a private libvirtd, boot the libvirt-mixed domain, scan inside, read from the host;
    then read a defined-only domain with managed reservations and ask for one that is not there."""
    base = Path(tempfile.mkdtemp(prefix="libvirtd-", dir=CACHE_DIR))
    daemon = LibvirtDaemon(base)
    run = LibvirtRun(LIBVIRT_SCENARIO, "{python} -m guestprobe scan --json -o {results}/scan.json",
                     daemon, LIBVIRT_SETTINGS, keep=keep)
    try:
        daemon.start()
        result = run.execute_libvirt()
        extra = result.extra
        extra["pr_domain_define_error"] = _define_only(daemon, PR_DOMAIN)
        pr_json = base / "host-pr.json"
        shown = guestprobe_host(daemon.ro_uri, "gp-pr-defined", output=pr_json)
        extra["pr_domain_rc"] = shown.returncode
        extra["pr_domain"] = json.loads(pr_json.read_text()) if shown.returncode == 0 else None
        # reservations on a LUN reached by QEMU's own iSCSI initiator: does libvirt take them?
        network_pr = PR_DOMAIN.replace("gp-pr-defined", "gp-pr-network").replace(
            "<disk type='block' device='lun'>",
            "<disk type='network' device='lun'>",
        ).replace("<source dev='/dev/disk/by-id/wwn-0x60000000000000000e00000000010001'>",
                  f"<source protocol='iscsi' name='{run.iqn}/1'><host name='{LISTEN_ADDRESS}' "
                  "port='3260'/>")
        extra["network_pr_define_error"] = _define_only(daemon, network_pr)
        extra["hostdev_define_error"] = _define_only(daemon, HOSTDEV_DOMAIN.replace("IQN", run.iqn))
        hostdev_json = base / "host-hostdev.json"
        shown = guestprobe_host(daemon.ro_uri, "gp-hostdev-defined", output=hostdev_json)
        extra["hostdev_domain"] = (json.loads(hostdev_json.read_text())
                                   if shown.returncode == 0 else shown.stderr)
        missing = guestprobe_host(daemon.ro_uri, "no-such-domain", output=base / "none.json")
        extra["missing_domain"] = (missing.returncode, missing.stderr.strip())
        extra["libvirtd_log"] = daemon.log.read_text()[-4000:]
        return result
    finally:
        daemon.stop()
        run.cleanup()
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
