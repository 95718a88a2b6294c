"""The QEMU command line for one guest: kernel, 9p shares, and the scenario's disks.

PCI placement is explicit. On the default i440fx machine slots 0 and 1 belong to the host bridge
and the PIIX3; slots 2 and 3 take the two 9p shares; disks and controllers fill slots 4-31 and,
when they do not fit (about 26 virtio devices, as the issue measured), the rest go behind
``pci-bridge`` devices (up to 31 each).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .guest_image import ROOT_TAG, RUN_TAG, GuestKernel
from .scenarios import NVME, SATA, SCSI_BLOCK, SCSI_HD, VIRTIO_BLK, VIRTIO_SCSI_KINDS, Disk

QEMU = Path("/usr/bin/qemu-system-x86_64")
FIRST_FREE_ROOT_SLOT = 4  # 0 host bridge, 1 PIIX3, 2-3 the 9p shares
LAST_SLOT = 31
BRIDGE_SLOTS = range(1, LAST_SLOT + 1)
KERNEL_CMDLINE = "console=ttyS0 panic=-1 loglevel=6"
VIRTIO_SCSI_ID = "vscsi0"
AHCI_ID = "ahci0"
AHCI_PORTS = 6


@dataclass(frozen=True)
class AttachedDisk:
    """A scenario disk with what the host made for it."""

    disk: Disk
    drive_id: str
    image: Path | None = None  # image-backed kinds
    iscsi_url: str | None = None  # scsi-block
    initiator_name: str | None = None  # scsi-block
    scsi_id: int | None = None  # virtio-scsi target number (the T of H:C:T:L in the guest)
    ahci_port: int | None = None


def assign_scsi_ids(disks: Sequence[Disk]) -> dict[str, int]:
    """Virtio-scsi target numbers by label, in scenario order (the guest finds disks by them)."""
    ids: dict[str, int] = {}
    for disk in disks:
        if disk.kind in VIRTIO_SCSI_KINDS:
            ids[disk.label] = len(ids)
    return ids


def assign_ahci_ports(disks: Sequence[Disk]) -> dict[str, int]:
    ports: dict[str, int] = {}
    for disk in disks:
        if disk.kind == SATA:
            ports[disk.label] = len(ports)
    if len(ports) > AHCI_PORTS:
        raise ValueError(f"{len(ports)} SATA disks: one AHCI controller has {AHCI_PORTS} ports")
    return ports


class PciPlacer:
    """Hands out ``bus=…,addr=…`` for PCI devices, adding pci-bridges when the root bus is full."""

    def __init__(self, devices_needed: int) -> None:
        root_slots = LAST_SLOT - FIRST_FREE_ROOT_SLOT + 1
        self.bridges_needed = 0
        if devices_needed > root_slots:
            # each bridge takes a root slot and offers len(BRIDGE_SLOTS)
            remaining = devices_needed - root_slots
            while remaining > 0:
                self.bridges_needed += 1
                remaining -= len(BRIDGE_SLOTS) - 1
        self.slots: list[tuple[str, int]] = []
        root = list(range(FIRST_FREE_ROOT_SLOT, LAST_SLOT + 1 - self.bridges_needed))
        self.bridge_args: list[str] = []
        self.slots.extend(("pci.0", slot) for slot in root)
        for index in range(self.bridges_needed):
            bridge = f"br{index + 1}"
            self.bridge_args += [
                "-device",
                f"pci-bridge,id={bridge},chassis_nr={index + 1},shpc=off,"
                f"bus=pci.0,addr={LAST_SLOT - index:#x}",
            ]
            self.slots.extend((bridge, slot) for slot in BRIDGE_SLOTS)

    def next(self) -> str:
        bus, slot = self.slots.pop(0)
        return f"bus={bus},addr={slot:#x}"


def _pci_devices_needed(disks: Sequence[AttachedDisk]) -> int:
    kinds = [attached.disk.kind for attached in disks]
    controllers = int(any(kind in VIRTIO_SCSI_KINDS for kind in kinds)) + int(SATA in kinds)
    return controllers + sum(1 for kind in kinds if kind in (VIRTIO_BLK, NVME))


def _drive(attached: AttachedDisk) -> str:
    disk = attached.disk
    if disk.kind == SCSI_BLOCK:
        return (
            f"file={attached.iscsi_url},format=raw,if=none,id={attached.drive_id},"
            f"file.initiator-name={attached.initiator_name}"
        )
    return f"file={attached.image},format=raw,if=none,id={attached.drive_id},cache={disk.cache}"


def _device(attached: AttachedDisk, placer: PciPlacer) -> str:
    disk = attached.disk
    serial = f",serial={disk.serial}" if disk.serial else ""
    if disk.kind == VIRTIO_BLK:
        return f"virtio-blk-pci,drive={attached.drive_id},{placer.next()}{serial}"
    if disk.kind == NVME:
        return f"nvme,drive={attached.drive_id},{placer.next()}{serial}"
    if disk.kind in VIRTIO_SCSI_KINDS:
        wwn = f",wwn={disk.wwn}" if disk.wwn and disk.kind == SCSI_HD else ""
        return (
            f"{disk.kind},drive={attached.drive_id},bus={VIRTIO_SCSI_ID}.0,"
            f"scsi-id={attached.scsi_id},lun=0{serial if disk.kind == SCSI_HD else ''}{wwn}"
        )
    if disk.kind == SATA:
        return f"ide-hd,drive={attached.drive_id},bus={AHCI_ID}.{attached.ahci_port}{serial}"
    raise ValueError(f"unknown disk kind {disk.kind!r}")


def command_line(
    kernel: GuestKernel,
    initramfs: Path,
    run_dir: Path,
    console_log: Path,
    disks: Sequence[AttachedDisk],
    memory_mib: int = 1024,
    cpus: int = 2,
    binary_args: Sequence[str] = (str(QEMU),),
    ssh_port: int | None = None,
) -> list[str]:
    """The full argv; the serial console to a file. No network device (``-nodefaults``), except
    with ``ssh_port``: virtio-net on QEMU user networking, only 127.0.0.1:ssh_port forwarded to
    the guest's port 22 (the cluster rig's nodes).

    ``binary_args``: the QEMU binary and its data directories (another QEMU than the system's:
    :class:`tests.vm.versions.HostQemu`).
    """
    argv = [
        *binary_args,
        "-machine", "pc,accel=tcg",
        "-smp", str(cpus),
        "-m", str(memory_mib),
        "-nodefaults",
        "-no-user-config",
        "-display", "none",
        "-no-reboot",
        "-monitor", "none",
        "-serial", f"file:{console_log}",
        "-kernel", str(kernel.vmlinuz),
        "-initrd", str(initramfs),
        "-append", KERNEL_CMDLINE,
        "-fsdev", f"local,id=fs{ROOT_TAG},path=/,security_model=none,readonly=on,multidevs=remap",
        "-device", f"virtio-9p-pci,fsdev=fs{ROOT_TAG},mount_tag={ROOT_TAG},bus=pci.0,addr=0x2",
        "-fsdev", f"local,id=fs{RUN_TAG},path={run_dir},security_model=none,multidevs=remap",
        "-device", f"virtio-9p-pci,fsdev=fs{RUN_TAG},mount_tag={RUN_TAG},bus=pci.0,addr=0x3",
    ]  # fmt: skip
    placer = PciPlacer(_pci_devices_needed(disks) + (ssh_port is not None))
    argv += placer.bridge_args
    if ssh_port is not None:
        argv += ["-netdev", f"user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{ssh_port}-:22",
                 "-device", f"virtio-net-pci,netdev=net0,{placer.next()}"]  # fmt: skip
    kinds = {attached.disk.kind for attached in disks}
    if kinds & set(VIRTIO_SCSI_KINDS):
        argv += ["-device", f"virtio-scsi-pci,id={VIRTIO_SCSI_ID},{placer.next()}"]
    if SATA in kinds:
        argv += ["-device", f"ahci,id={AHCI_ID},{placer.next()}"]
    for attached in disks:
        argv += ["-drive", _drive(attached), "-device", _device(attached, placer)]
    return argv
