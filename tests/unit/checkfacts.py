"""Report documents for the check tests, built from the recorded captures.

The two captured guests (``kvm-mixed``: virtio-blk, a QEMU scsi-hd, a passed-through tgt LUN;
``kvm-sata-nvme``: AHCI SATA, NVMe) are scanned once through the real pipeline (sysfs laid from
the captures, sg3_utils answers replayed), and every test gets a fresh deep copy. The odd cases
are those recorded disks with the facts changed that the case is about, each change said here.
"""


import copy
import functools
import tempfile
from pathlib import Path
from typing import Any

from documents import build_document
from fakesys import MIXED, SATA_NVME, kvm_mixed, kvm_sata_nvme
from pytest_subprocess import FakeProcess
from replay import SG_INQ_VERSION, register_disk

from guestprobe.classify.paths import group_paths
from guestprobe.collect.probe import ProbeOptions
from guestprobe.collect.scan import collect
from guestprobe.collect.sysfs import SysRoot
from guestprobe.collect.udev import UdevView
from guestprobe.decode.persist import (
    decode_read_keys,
    decode_read_reservation,
    decode_veritas_key,
)

_GUESTS = {
    "mixed": (
        kvm_mixed,
        [(MIXED / "0x1af4_VBLKSER01", "/dev/vda"), (MIXED / "IET_beaf11", "/dev/sg1"),
         (MIXED / "QEMU_SHDSER01", "/dev/sg0")],
    ),
    "sata_nvme": (
        kvm_sata_nvme,
        [(SATA_NVME / "ATA_SATASER1", "/dev/sg0"), (SATA_NVME / "virtio_NVMECAP1", "/dev/nvme0n1")],
    ),
}


@functools.lru_cache(maxsize=None)
def _scanned(label: str) -> "dict[str, Any]":
    maker, disks = _GUESTS[label]
    with tempfile.TemporaryDirectory() as tmp:
        fake = maker(Path(tmp))
        with FakeProcess() as fp:
            fp.register(["sg_inq", "--version"], stderr=SG_INQ_VERSION)
            for capture, device in disks:
                register_disk(fp, capture, device)
            collection = collect(
                ProbeOptions(engine="cli"), sys=SysRoot(fake.root),
                udev=UdevView(run_dir=fake.p("/run/udev")),
            )
        return build_document(collection)


def recorded(label: str) -> "dict[str, Any]":
    """A fresh copy of a scanned guest's document ("mixed" or "sata_nvme"), no verdicts."""
    return copy.deepcopy(_scanned(label))


def recorded_disk(label: str, name: str) -> "dict[str, Any]":
    return next(d for d in recorded(label)["disks"] if d["name"] == name)


def rename(disk: "dict[str, Any]", name: str) -> "dict[str, Any]":
    """The same disk under another kernel name (probe ids follow)."""
    old = disk["name"]
    disk = copy.deepcopy(disk)

    def fix(value: "Any") -> "Any":
        if isinstance(value, str) and value.startswith(f"{old}/"):
            return f"{name}/{value[len(old) + 1:]}"
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        return value

    disk = fix(disk)
    disk["name"] = name
    disk["dev_path"] = f"/dev/{name}"
    disk["inventory"]["name"] = name
    return disk


def document(disks: "list[dict[str, Any]]", platform: "dict[str, Any] | None" = None) -> dict:
    """A report document around ``disks``: the mixed guest's platform, LU groups recomputed."""
    doc = recorded("mixed")
    doc["disks"] = disks
    if platform is not None:
        doc["platform"].update(platform)
    doc["logical_units"] = group_paths(
        (d["name"], d["facts"]["identity"]["lu_designator"]) for d in disks
    )
    doc["scan"]["disk_count"] = len(disks)
    return doc


# -- PR IN answers as `sg_persist --hex --hex` gives them (the captures used single --hex) ------

NO_KEYS = "00 00 00 00 00 00 00 00"


def set_pr(disk: "dict[str, Any]", keys_hex: str = NO_KEYS, reservation_hex: str = NO_KEYS) -> dict:
    """Decode READ KEYS / READ RESERVATION parameter data into the disk's PR facts."""
    pr = disk["facts"]["persistent_reservations"]
    keys = decode_read_keys(bytes.fromhex(keys_hex))
    pr["keys"] = keys.to_dict()
    pr["registered_key_count"] = len(keys.keys)
    pr["veritas_keys"] = [
        vk.to_dict() for vk in map(decode_veritas_key, keys.keys) if vk is not None
    ]
    pr["reservation"] = decode_read_reservation(bytes.fromhex(reservation_hex)).to_dict()
    disk["facts"]["decode_errors"] = [
        e for e in disk["facts"]["decode_errors"] if "pr_read" not in e["probe"]
    ]
    return disk


# -- one disk per transport ------------------------------------------------------------------


def virtio_blk() -> "dict[str, Any]":
    """vda: virtio-blk, serial VBLKSER01; every SCSI command fails with ENOTTY (exit 75)."""
    return recorded_disk("mixed", "vda")


def scsi_hd() -> "dict[str, Any]":
    """sdb: QEMU scsi-hd on virtio-scsi, serial SHDSER01, no NAA; PR IN exit 9."""
    return recorded_disk("mixed", "sdb")


def scsi_hd_wwn() -> "dict[str, Any]":
    """sdb with `wwn=0x5000c50015ea71ac` on the host: QEMU then adds an NAA 5 LU designator."""
    disk = scsi_hd()
    identity = disk["facts"]["identity"]
    identity["designators"].append(
        {"code_set": "binary", "piv": False, "association": "logical_unit",
         "designator_type": "naa", "protocol_identifier": None, "protocol_name": None,
         "value": "5000c50015ea71ac", "text": "naa.5000c50015ea71ac", "number": None}
    )
    identity["lu_designator"] = "naa.5000c50015ea71ac"
    identity["lu_designator_type"] = "naa"
    identity["wwid"] = "naa.5000c50015ea71ac"
    return disk


def passthrough() -> "dict[str, Any]":
    """sda: the tgt LUN passed through (scsi-block), PR IN answered as --hex --hex would."""
    return set_pr(recorded_disk("mixed", "sda"))


def passthrough_pr_filtered(outcome: str = "not_supported", exit_status: int = 9) -> dict:
    """sda whose INQUIRY passes through but whose PR IN the host filters (exit 9/5, or 75)."""
    disk = recorded_disk("mixed", "sda")
    pr = disk["facts"]["persistent_reservations"]
    pr.update(read_keys_outcome=outcome, read_reservation_outcome="skipped",
              report_capabilities_outcome="skipped", keys=None, reservation=None,
              capabilities=None, registered_key_count=None, veritas_keys=[])
    for probe in disk["probes"]:
        if probe["name"] == "pr_read_keys":
            probe.update(outcome=outcome, exit_status=exit_status)
    disk["facts"]["decode_errors"] = []
    return disk


def sata() -> "dict[str, Any]":
    """sda of the kvm-sata-nvme guest: AHCI + ide-hd, PR and WRITE SAME exit 9."""
    return recorded_disk("sata_nvme", "sda")


def nvme() -> "dict[str, Any]":
    """nvme0n1: QEMU NVMe, sg3_utils' SCSI-to-NVMe translation."""
    return recorded_disk("sata_nvme", "nvme0n1")


def multipath_pair() -> "list[dict[str, Any]]":
    """One LU through two paths (sda, sdc) and the guest's dm-multipath map dm-0 over them."""
    first = passthrough()
    first["inventory"]["holders"] = ["dm-0"]
    second = rename(first, "sdc")
    second["hctl"] = second["inventory"]["hctl"] = "0:0:2:0"
    dm = rename(passthrough(), "dm-0")
    dm["transport"] = {"kind": "device-mapper", "mode": None, "detail": "dm-multipath",
                       "evidence": ["dm uuid mpath-360000000000000000e00000000010001"],
                       "virtio_blk_scsi_feature": None}
    dm["inventory"].update(slaves=["sda", "sdc"], holders=[], dm_name="mpatha",
                           dm_uuid="mpath-360000000000000000e00000000010001", hctl=None)
    dm["hctl"] = None
    return [first, second, dm]


TRANSPORTS = {
    "virtio-blk": virtio_blk,
    "scsi-hd": scsi_hd,
    "scsi-hd-wwn": scsi_hd_wwn,
    "passthrough": passthrough,
    "pr-filtered": passthrough_pr_filtered,
    "sata": sata,
    "nvme": nvme,
}
