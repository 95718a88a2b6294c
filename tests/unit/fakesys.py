"""A fake machine for tests: a sysfs/procfs tree below tmp_path, built from captured files.

The shared captures (tests/fixtures/shared-captures) hold each disk's sysfs *files* and its sysfs
*path*; the driver/subsystem symlinks of the device tree were not captured, so ``add_disk`` lays
them from the topology the path and the capture's scsi_hosts.txt / virtio_devices.txt describe.
"""


import os
import shutil
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SHARED = FIXTURES / "shared-captures"
if not SHARED.is_dir():  # before the captures are copied into the repo: the shared/ beside it
    SHARED = FIXTURES.parent.parent.parent / "shared" / "captures"
MIXED = SHARED / "kvm-mixed" / "cap"
SATA_NVME = SHARED / "kvm-sata-nvme" / "cap"

# capture file name prefix -> path below /sys/block/NAME
_PREFIXES = (
    ("device_", "device/"),
    ("queue_", "queue/"),
    ("scsi_disk_", "SCSI_DISK/"),
)


class FakeSys:
    def __init__(self, root: "Path") -> None:
        self.root = root
        for folder in (
            "sys/block",
            "sys/class/scsi_host",
            "sys/bus/virtio/devices",
            "proc/self",
            "sys/class/dmi/id",
            "proc/sys/kernel",
            "sys/dev/block",
        ):
            (root / folder).mkdir(parents=True, exist_ok=True)
        self.write("/proc/self/mountinfo", "")
        self.write("/proc/sys/kernel/osrelease", "6.1.0-56-amd64\n")
        self.write("/sys/class/dmi/id/sys_vendor", "QEMU\n")
        self.write("/sys/class/dmi/id/product_name", "Standard PC (i440FX + PIIX, 1996)\n")
        self.write("/proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu sse hypervisor\n")

    def p(self, absolute: str) -> "Path":
        return self.root / absolute.lstrip("/")

    def write(self, absolute: str, data: "str | bytes") -> None:
        path = self.p(absolute)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    def link(self, absolute: str, target_absolute: str) -> None:
        path = self.p(absolute)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        os.symlink(self.p(target_absolute), path)

    def node(
        self,
        absolute: str,
        driver: "str | None" = None,
        subsystem: "str | None" = None,
    ) -> None:
        self.p(absolute).mkdir(parents=True, exist_ok=True)
        if driver:
            self.link(f"{absolute}/driver", f"/sys/bus/x/drivers/{driver}")
            self.p(f"/sys/bus/x/drivers/{driver}").mkdir(parents=True, exist_ok=True)
        if subsystem:
            self.link(f"{absolute}/subsystem", f"/sys/class/{subsystem}")
            self.p(f"/sys/class/{subsystem}").mkdir(parents=True, exist_ok=True)

    def add_scsi_host(self, host: str, proc_name: str) -> None:
        self.write(f"/sys/class/scsi_host/{host}/proc_name", proc_name + "\n")

    def add_virtio(
        self, name: str, device_id: int, driver: str, pci: str, features: str = ""
    ) -> None:
        node = f"/sys/devices/pci0000:00/{pci}/{name}"
        self.node(node, driver=driver, subsystem="virtio")
        self.write(f"{node}/device", f"0x{device_id:04x}\n")
        if features:
            self.write(f"{node}/features", features + "\n")
        self.link(f"/sys/bus/virtio/devices/{name}", node)

    def add_disk_from_capture(
        self, capture: "Path", sg_name: "str | None" = None, devnum: str = "8:0"
    ) -> str:
        """Lay one captured disk's sysfs; returns its kernel name."""
        sysfs_path = (capture / "sysfs_path.txt").read_text().strip()
        name = sysfs_path.rsplit("/", 1)[1]
        self.p(sysfs_path).mkdir(parents=True, exist_ok=True)
        self.link(f"/sys/block/{name}", sysfs_path)
        self.link(f"/sys/dev/block/{devnum}", sysfs_path)
        self.write(f"{sysfs_path}/dev", devnum + "\n")
        parent = (
            sysfs_path.rsplit("/block/", 1)[0]
            if "/block/" in sysfs_path
            else sysfs_path.rsplit("/", 1)[0]
        )
        hctl = parent.rsplit("/", 1)[1]
        scsi_disk = f"device/scsi_disk/{hctl}/"
        for item in sorted((capture / "sysfs").iterdir()):
            rel = item.name
            for prefix, replacement in _PREFIXES:
                if rel.startswith(prefix):
                    rel = replacement.replace("SCSI_DISK/", scsi_disk) + rel[len(prefix) :]
                    break
            target = f"{sysfs_path}/{rel}"
            if rel.startswith("device/"):
                target = f"{parent}/{rel[len('device/') :]}"
            self.write(target, item.read_bytes())
        if "/block/" in sysfs_path:
            self.link(f"{sysfs_path}/device", parent)
        else:
            self.link(f"{sysfs_path}/device", parent)
        if sg_name:
            self.p(f"{parent}/scsi_generic/{sg_name}").mkdir(parents=True, exist_ok=True)
        return name


RIG = FIXTURES / "rig"


def add_rig_disk(fake: "FakeSys", capture: "Path", devnum: str) -> str:
    """Lay one disk captured by the rig (tests/fixtures/rig/<scenario>/<label>/): its sysfs is
    a copy of the tree (``sysfs/device/...``), not flattened names. Returns its kernel name."""
    import shutil

    sysfs_path = (capture / "sysfs_path.txt").read_text().strip()
    name = sysfs_path.rsplit("/", 1)[1]
    parent = sysfs_path.rsplit("/block/", 1)[0]
    fake.p(sysfs_path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        capture / "sysfs",
        fake.p(sysfs_path),
        symlinks=False,
        ignore=shutil.ignore_patterns("device"),
    )
    _merge_tree(capture / "sysfs" / "device", fake.p(parent))
    fake.link(f"{sysfs_path}/device", parent)
    fake.link(f"/sys/block/{name}", sysfs_path)
    fake.link(f"/sys/dev/block/{devnum}", sysfs_path)
    fake.write(f"{sysfs_path}/dev", devnum + "\n")
    fake.node(parent, driver="sd", subsystem="scsi")
    node = (capture / "inquiry.argv").read_text().split()[-1]  # where the probes were sent
    if node.startswith("/dev/sg"):
        fake.p(f"{parent}/scsi_generic/{node[len('/dev/') :]}").mkdir(parents=True, exist_ok=True)
    return name


def rig_probe_node(capture: "Path") -> str:
    return (capture / "inquiry.argv").read_text().split()[-1]


def rig_virtio_scsi_guest(root: "Path", scenario: str) -> "tuple[FakeSys, dict[str, str]]":
    """A guest with the SCSI disks of one captured rig scenario on one virtio-scsi controller.
    Returns the fake and {label: kernel name}."""
    fake = FakeSys(root)
    names = {}
    for minor, capture in enumerate(
        sorted(
            p for p in (RIG / scenario).iterdir() if p.is_dir() and (p / "sysfs_path.txt").exists()
        )
    ):
        sysfs_path = (capture / "sysfs_path.txt").read_text().strip()
        host_dir = sysfs_path.split("/host", 1)[0]
        virtio = host_dir.rsplit("/", 1)[1]
        fake.add_virtio(virtio, 8, "virtio_scsi", host_dir.split("/")[-2])
        host = "host" + sysfs_path.split("/host", 1)[1].split("/", 1)[0]
        fake.add_scsi_host(host, "virtio_scsi")
        fake.node(f"{host_dir}/{host}", subsystem="scsi")
        target = sysfs_path.split("/block/")[0].rsplit("/", 1)[0]
        fake.node(target, subsystem="scsi")
        names[capture.name] = add_rig_disk(fake, capture, f"8:{16 * minor}")
    return fake, names


def kvm_mixed(root: "Path") -> "FakeSys":
    """The kvm-mixed guest: virtio-blk vda, a passed-through tgt LUN sda, a QEMU scsi-hd sdb."""
    fake = FakeSys(root)
    fake.add_virtio(
        "virtio2",
        2,
        "virtio_blk",
        "0000:00:06.0",
        "0010101001111110000000000000110010000000100000000000000000000000",
    )
    fake.node("/sys/devices/pci0000:00/0000:00:06.0", driver="virtio-pci", subsystem="pci")
    fake.add_virtio("virtio3", 8, "virtio_scsi", "0000:00:07.0")
    fake.node("/sys/devices/pci0000:00/0000:00:07.0", driver="virtio-pci", subsystem="pci")
    fake.add_virtio("virtio0", 9, "9pnet_virtio", "0000:00:04.0")
    fake.add_scsi_host("host0", "virtio_scsi")
    base = "/sys/devices/pci0000:00/0000:00:07.0/virtio3/host0"
    fake.node(base, subsystem="scsi")
    for target, hctl in (("target0:0:0", "0:0:0:0"), ("target0:0:1", "0:0:1:0")):
        fake.node(f"{base}/{target}", subsystem="scsi")
        fake.node(f"{base}/{target}/{hctl}", driver="sd", subsystem="scsi")
    fake.add_disk_from_capture(MIXED / "0x1af4_VBLKSER01", devnum="254:0")
    fake.add_disk_from_capture(MIXED / "IET_beaf11", sg_name="sg1", devnum="8:0")
    fake.add_disk_from_capture(MIXED / "QEMU_SHDSER01", sg_name="sg0", devnum="8:16")
    return fake


def kvm_sata_nvme(root: "Path") -> "FakeSys":
    """The kvm-sata-nvme guest: an AHCI SATA disk sda and an NVMe namespace nvme0n1."""
    fake = FakeSys(root)
    fake.add_scsi_host("host0", "ahci")
    fake.node("/sys/devices/pci0000:00/0000:00:06.0", driver="ahci", subsystem="pci")
    fake.node("/sys/devices/pci0000:00/0000:00:06.0/ata1")
    base = "/sys/devices/pci0000:00/0000:00:06.0/ata1/host0"
    fake.node(base, subsystem="scsi")
    fake.node(f"{base}/target0:0:0", subsystem="scsi")
    fake.node(f"{base}/target0:0:0/0:0:0:0", driver="sd", subsystem="scsi")
    fake.node("/sys/devices/pci0000:00/0000:00:07.0", driver="nvme", subsystem="pci")
    fake.node("/sys/devices/pci0000:00/0000:00:07.0/nvme/nvme0", subsystem="nvme")
    fake.write("/sys/devices/pci0000:00/0000:00:07.0/nvme/nvme0/transport", "pcie\n")
    fake.add_disk_from_capture(SATA_NVME / "ATA_SATASER1", sg_name="sg0", devnum="8:0")
    fake.add_disk_from_capture(SATA_NVME / "virtio_NVMECAP1", devnum="259:0")
    return fake


def _merge_tree(source: Path, target: Path) -> None:
    """``shutil.copytree(source, target, dirs_exist_ok=True)`` for Python 3.6."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            _merge_tree(entry, target / entry.name)
        else:
            shutil.copy2(str(entry), str(target / entry.name), follow_symlinks=False)
