"""The rig's scenarios, as data: which disks each guest gets and what happens around its command.

A disk's ``label`` names it for good (result keys, fixture folders): kernel names such as sda and
sdb swap between boots, labels never do. ``scsi-block`` disks are paths to a LUN of the rig's own
tgt iSCSI target; two of them with different ``initiator`` numbers are two I_T nexuses to one LUN.
"""

from __future__ import annotations

from dataclasses import dataclass

# QEMU device models the rig knows how to attach.
VIRTIO_BLK = "virtio-blk"
SCSI_HD = "scsi-hd"  # QEMU's emulated SCSI disk on virtio-scsi
SCSI_BLOCK = "scsi-block"  # SCSI passthrough of a tgt LUN on virtio-scsi
SATA = "ide-hd"  # on an AHCI controller
NVME = "nvme"
DISK_KINDS = (VIRTIO_BLK, SCSI_HD, SCSI_BLOCK, SATA, NVME)
VIRTIO_SCSI_KINDS = (SCSI_HD, SCSI_BLOCK)

# PERSISTENT RESERVE OUT types (SPC-4 table 168).
PR_TYPE_WRITE_EXCLUSIVE_REGISTRANTS_ONLY = 5


@dataclass(frozen=True)
class Disk:
    """One disk the guest sees (or, with ``visible=False``, sees only until the command runs)."""

    kind: str
    label: str
    serial: str | None = None  # virtio-blk, scsi-hd, ide-hd, nvme
    size_mib: int = 64  # image-backed kinds; a LUN's size is the LUN's
    cache: str = "none"
    wwn: str | None = None  # scsi-hd: e.g. "0x5000c50015ea71ac"
    lun: int | None = None  # scsi-block: the tgt LUN number
    initiator: int = 1  # scsi-block: which of the run's initiator names (one per path)
    daemon: int = 1  # scsi-block: which of the run's tgtd instances (each: the same target name)
    visible: bool = True  # False: the guest deletes the disk before its command runs

    @property
    def image_backed(self) -> bool:
        return self.kind != SCSI_BLOCK


@dataclass(frozen=True)
class TgtLun:
    """A logical unit of the rig's tgt target; ``params`` go to ``tgtadm --params``."""

    number: int
    size_mib: int = 64
    params: tuple[tuple[str, str], ...] = ()
    daemon: int = 1  # 2: a second tgtd with the same target name: its LUN 1 has the same NAA


@dataclass(frozen=True)
class ForeignReservation:
    """Before the command: ``disk`` (another initiator's path) registers ``key`` and reserves.

    The key is a VxFEN coordinator key, as another node of an InfoScale cluster leaves on a shared
    disk: "VF1A2B03" = cluster 0x1A2B (6699), node 3 (guestprobe.decode.persist).
    """

    disk: str
    key: int = 0x5646314132423033  # b"VF1A2B03"
    prout_type: int = PR_TYPE_WRITE_EXCLUSIVE_REGISTRANTS_ONLY


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    disks: tuple[Disk, ...]
    luns: tuple[TgtLun, ...] = ()
    foreign_reservation: ForeignReservation | None = None
    # Stop tgtd (SIGSTOP) once the guest is ready to run its command, resume it (SIGCONT) after.
    stop_target_during_command: bool = False
    captured: bool = False  # part of the fixture capture (tests/fixtures/rig/<name>/)
    # Run systemd-udevd in the guest around the command (started, triggered and settled before
    # it, stopped after it), so that guestprobe reads a populated udev database.
    udev: bool = False
    command_timeout_s: int = 120  # a scan takes 5-30 s here; a hung guest costs this + 90 s
    scan_tests: bool = True  # booted by test_rig.py (False: only test_fencing.py boots it)
    memory_mib: int = 1024

    def disk(self, label: str) -> Disk:
        for disk in self.disks:
            if disk.label == label:
                return disk
        raise KeyError(label)

    @property
    def visible_disks(self) -> tuple[Disk, ...]:
        return tuple(disk for disk in self.disks if disk.visible)


def _tgt_path(lun: int, initiator: int, visible: bool = True, daemon: int = 1) -> Disk:
    label = f"tgt-lun{lun}_path{initiator}" if daemon == 1 else f"tgt{daemon}-lun{lun}"
    return Disk(
        SCSI_BLOCK, label, lun=lun, initiator=initiator, visible=visible, daemon=daemon
    )


# virtio-blk + QEMU scsi-hd + a passed-through tgt LUN: `mixed`, and `mixed-udev` with udevd
_MIXED_DISKS = (
    Disk(VIRTIO_BLK, "virtio-blk_VBLKSER01", serial="VBLKSER01"),
    Disk(SCSI_HD, "scsi-hd_SHDSER01", serial="SHDSER01"),
    _tgt_path(1, 1),
)

SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            name="mixed",
            summary="virtio-blk + QEMU scsi-hd + a passed-through tgt LUN (scsi-block)",
            disks=_MIXED_DISKS,
            luns=(TgtLun(1),),
            captured=True,
        ),
        Scenario(
            name="mixed-udev",
            summary="the disks of `mixed`, with systemd-udevd run in the guest before the scan",
            disks=_MIXED_DISKS,
            luns=(TgtLun(1),),
            udev=True,
        ),
        Scenario(
            name="two-paths",
            summary="one tgt LUN through two initiator names: two I_T nexuses, one NAA",
            disks=(_tgt_path(1, 1), _tgt_path(1, 2)),
            luns=(TgtLun(1),),
            captured=True,
        ),
        Scenario(
            name="same-naa",
            summary=(
                "LUN 1 of two tgtd instances with the same target name: two LUs that carry the"
                " same NAA designator (fencing-test --peer must find out)"
            ),
            disks=(_tgt_path(1, 1), _tgt_path(1, 1, daemon=2)),
            luns=(TgtLun(1), TgtLun(1, daemon=2)),
            scan_tests=False,
        ),
        Scenario(
            name="many-virtio-blk",
            summary="30 virtio-blk disks, the ones beyond the root bus behind a pci-bridge",
            disks=tuple(
                Disk(VIRTIO_BLK, f"virtio-blk_VBLKM{i:02d}", serial=f"VBLKM{i:02d}", size_mib=8)
                for i in range(1, 31)
            ),
        ),
        Scenario(
            name="sata-nvme",
            summary=(
                "a SATA disk on AHCI (ide-hd), an NVMe disk and a thin-provisioned tgt LUN"
                " (thin_provisioning=1)"
            ),
            disks=(
                Disk(SATA, "sata_SATASER1", serial="SATASER1"),
                Disk(NVME, "nvme_NVMESER1", serial="NVMESER1"),
                _tgt_path(2, 1),
            ),
            luns=(TgtLun(2, params=(("thin_provisioning", "1"),)),),
            captured=True,
        ),
        Scenario(
            name="hung-target",
            summary="a tgt LUN whose target stops answering (SIGSTOP) while the command runs",
            disks=(_tgt_path(1, 1), Disk(SCSI_HD, "scsi-hd_SHDSER02", serial="SHDSER02")),
            luns=(TgtLun(1),),
            stop_target_during_command=True,
        ),
        Scenario(
            name="foreign-reservation",
            summary=(
                "a tgt LUN on which another initiator (path 2, deleted from the guest before the"
                " command) holds a registration and a Write Exclusive - Registrants Only"
                " reservation with the VxFEN key of node 3 of Veritas cluster 6699 (VF1A2B03)"
            ),
            disks=(_tgt_path(1, 1), _tgt_path(1, 2, visible=False)),
            luns=(TgtLun(1),),
            foreign_reservation=ForeignReservation(disk="tgt-lun1_path2"),
            captured=True,
        ),
    )
}
