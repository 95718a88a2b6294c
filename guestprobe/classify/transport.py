"""Which transport brings a disk to the guest. Pure: inventory and identity in, a Transport out.

Never relies on the kernel name (sda/sdb order changes from boot to boot): the driver chain in
sysfs, the SCSI host's ``proc_name`` and the device's own INQUIRY identity decide.
"""


from dataclasses import dataclass, field
from typing import Any

from guestprobe.collect.discover import BlockDisk
from guestprobe.decode import json_ready

VIRTIO_BLK_F_SCSI = 7  # legacy feature bit: the device accepts SCSI commands over virtio-blk

# SCSI host proc_name -> transport kind
SCSI_HOST_KINDS = {
    "virtio_scsi": "virtio-scsi",
    "ahci": "ata",
    "ata_piix": "ata",
    "ata_generic": "ata",
    "pata_acpi": "ata",
    "sata_nv": "ata",
    "sata_sil": "ata",
    "storvsc": "hyperv",
    "vmw_pvscsi": "vmware-pvscsi",
    "iscsi_tcp": "iscsi",
    "ib_iser": "iscsi",
    "lpfc": "fc",
    "qla2xxx": "fc",
    "qedf": "fc",
    "bnx2fc": "fc",
    "fnic": "fc",
    "usb-storage": "usb",
    "uas": "usb",
    "xen-scsifront": "xen",
    "scsifront": "xen",
}

EMULATED_VENDORS = {"QEMU"}
QEMU_PRODUCTS = {"QEMU HARDDISK": "scsi-hd", "QEMU CD-ROM": "scsi-cd"}


@dataclass(frozen=True)
class Transport:
    """How the disk reaches the guest, with the evidence that says so."""

    kind: str
    mode: "str | None" = None  # virtio-scsi: "emulated", "passthrough" or "unknown"
    detail: "str | None" = None  # e.g. "scsi-hd", "dm-multipath", the SCSI host's proc_name
    evidence: "list[str]" = field(default_factory=list)
    virtio_blk_scsi_feature: "bool | None" = None

    def to_dict(self) -> "dict[str, Any]":
        return json_ready(self)


def virtio_feature(features: "str | None", bit: int) -> "bool | None":
    """Bit ``bit`` of sysfs's virtio ``features`` string ('0'/'1' per bit, bit 0 first)."""
    if not features or len(features) <= bit or features[bit] not in "01":
        return None
    return features[bit] == "1"


def classify_transport(
    disk: "BlockDisk", vendor: "str | None", product: "str | None", identity_source: "str | None"
) -> "Transport":
    """Classify one disk. ``vendor``/``product`` come from INQUIRY (live or the kernel's copy)."""
    chain = disk.driver_chain
    if disk.dm_name is not None or disk.name.startswith("dm-"):
        uuid = disk.dm_uuid or ""
        detail = (
            "dm-multipath" if uuid.startswith("mpath-") else (uuid.split("-", 1)[0].lower() or None)
        )
        return Transport("device-mapper", detail=detail, evidence=[f"dm uuid {uuid or 'unknown'}"])
    if disk.md_level is not None or disk.name.startswith("md"):
        return Transport("md", detail=disk.md_level, evidence=["md device"])
    if "virtio_blk" in chain:
        scsi_feature = virtio_feature(disk.virtio_features, VIRTIO_BLK_F_SCSI)
        evidence = [f"driver virtio_blk on {disk.virtio_device or 'a virtio device'}"]
        if scsi_feature:
            evidence.append("device offers the legacy VIRTIO_BLK_F_SCSI feature")
        return Transport("virtio-blk", evidence=evidence, virtio_blk_scsi_feature=scsi_feature)
    if "nvme" in chain or disk.nvme_transport is not None:
        return Transport(
            "nvme",
            detail=disk.nvme_transport,
            evidence=["driver nvme"],
        )
    if "vbd" in chain or "xen-blkfront" in chain or disk.name.startswith("xvd"):
        return Transport("xen", detail="xen-blkfront", evidence=["driver xen-blkfront"])
    proc_name = disk.scsi_host_proc_name
    if disk.hctl is None:
        return Transport("other", evidence=[f"drivers {', '.join(chain) or 'unknown'}"])
    kind = SCSI_HOST_KINDS.get(proc_name or "", "other-scsi")
    if kind == "ata" or (kind == "other-scsi" and "ata" in disk.subsystems):
        return Transport(
            "ata", detail=proc_name, evidence=[f"SCSI host {disk.scsi_host} is {proc_name}"]
        )
    evidence = [f"SCSI host {disk.scsi_host} is {proc_name or 'unknown'}"]
    if kind != "virtio-scsi":
        return Transport(kind, detail=proc_name, evidence=evidence)
    if vendor is None:
        evidence.append("INQUIRY identity unknown")
        return Transport(kind, mode="unknown", evidence=evidence)
    where = f" ({identity_source})" if identity_source else ""
    if vendor.strip() in EMULATED_VENDORS:
        emulator = QEMU_PRODUCTS.get((product or "").strip(), "QEMU SCSI device")
        evidence.append(f"INQUIRY vendor {vendor.strip()!r}{where}: QEMU's own emulated disk")
        return Transport(kind, mode="emulated", detail=emulator, evidence=evidence)
    evidence.append(
        f"INQUIRY vendor {vendor.strip()!r} product {(product or '').strip()!r}{where}: "
        "the LUN's own identity reaches the guest"
    )
    return Transport(kind, mode="passthrough", evidence=evidence)
