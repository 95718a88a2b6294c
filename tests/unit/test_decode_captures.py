"""The decoders on every real capture: live responses, the kernel's cached pages, bad ones.

Also the capture helpers the other ``test_decode_*`` modules import.
"""


from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guestprobe.decode import DecodeError
from guestprobe.decode.inquiry import decode_standard_inquiry
from guestprobe.decode.opcodes import decode_supported_opcodes
from guestprobe.decode.readcap import decode_read_capacity_16
from guestprobe.decode.vpd import (
    decode_block_device_characteristics,
    decode_block_limits,
    decode_device_identification,
    decode_logical_block_provisioning,
    decode_supported_vpd_page,
    decode_unit_serial_number,
)

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shared-captures"
IET = "kvm-mixed/cap/IET_beaf11"
QEMU_HD = "kvm-mixed/cap/QEMU_SHDSER01"
VIRTIO_BLK = "kvm-mixed/cap/0x1af4_VBLKSER01"
ATA = "kvm-sata-nvme/cap/ATA_SATASER1"
NVME = "kvm-sata-nvme/cap/virtio_NVMECAP1"
DISKS = (IET, QEMU_HD, VIRTIO_BLK, ATA, NVME)

# probe name -> (decoder, kernel's cached copy under sysfs/)
DECODERS: "dict[str, tuple[Callable[[bytes], Any], str | None]]" = {
    "inquiry": (decode_standard_inquiry, "device_inquiry"),
    "vpd_0x00": (decode_supported_vpd_page, "device_vpd_pg0"),
    "vpd_0x80": (decode_unit_serial_number, "device_vpd_pg80"),
    "vpd_0x83": (decode_device_identification, "device_vpd_pg83"),
    "vpd_0xb0": (decode_block_limits, "device_vpd_pgb0"),
    "vpd_0xb1": (decode_block_device_characteristics, "device_vpd_pgb1"),
    "vpd_0xb2": (decode_logical_block_provisioning, "device_vpd_pgb2"),
    "readcap16": (decode_read_capacity_16, None),
    "opcodes": (decode_supported_opcodes, None),
}


def capture(disk: str, name: str) -> bytes:
    """The stdout bytes of probe ``name`` on ``disk`` (e.g. ``capture(IET, "vpd_0x83")``)."""
    return (CAPTURES / disk / f"{name}.out").read_bytes()


def capture_rc(disk: str, name: str) -> int:
    return int((CAPTURES / disk / f"{name}.rc").read_text().strip())


def sysfs(disk: str, name: str) -> bytes:
    return (CAPTURES / disk / "sysfs" / name).read_bytes()


def good_responses() -> "list[tuple[str, str]]":
    """(disk, probe) of every binary capture whose probe succeeded with a SCSI answer."""
    return [
        (disk, name)
        for disk in DISKS
        for name in DECODERS
        if capture_rc(disk, name) == 0 and capture(disk, name) and (disk, name) != (NVME, "inquiry")
    ]


@pytest.mark.parametrize(("disk", "name"), good_responses())
def test_every_successful_capture_decodes(disk: str, name: str) -> None:
    decoded = DECODERS[name][0](capture(disk, name))
    assert getattr(decoded, "truncated", False) is False
    assert isinstance(decoded.to_dict(), dict)


def _sysfs_pairs() -> "list[tuple[str, str]]":
    return [
        (disk, name)
        for disk in DISKS
        for name, (_, cached) in DECODERS.items()
        if cached and (CAPTURES / disk / "sysfs" / cached).exists() and capture(disk, name)
    ]


def test_sysfs_pairs_cover_three_disks() -> None:
    assert {disk for disk, _ in _sysfs_pairs()} == {IET, QEMU_HD, ATA}
    assert len(_sysfs_pairs()) == 21


@pytest.mark.parametrize(("disk", "name"), _sysfs_pairs())
def test_kernel_cached_page_decodes_like_the_live_response(disk: str, name: str) -> None:
    decoder, cached = DECODERS[name]
    assert cached is not None
    assert decoder(sysfs(disk, cached)) == decoder(capture(disk, name))


def test_kernel_wwid_is_the_designator_text() -> None:
    from guestprobe.decode.vpd import lu_designators

    iet = decode_device_identification(capture(IET, "vpd_0x83"))
    assert lu_designators(iet)[0].text == sysfs(IET, "device_wwid").decode().strip()
    ata = decode_device_identification(capture(ATA, "vpd_0x83"))
    # the kernel falls back to the T10 vendor id designator, trailing blanks and all
    assert ata.designators[1].text == sysfs(ATA, "device_wwid").decode().rstrip()


def test_nvme_identify_data_is_not_inquiry() -> None:
    data = capture(NVME, "inquiry")
    assert len(data) == 4096
    assert int.from_bytes(data[:8], "little") == 65536  # NVMe NSZE, not an INQUIRY header
    with pytest.raises(DecodeError):
        decode_standard_inquiry(data)


@pytest.mark.parametrize("name", list(DECODERS))
def test_failed_probes_left_empty_output_that_does_not_decode(name: str) -> None:
    assert capture_rc(VIRTIO_BLK, name) != 0
    with pytest.raises(DecodeError):
        DECODERS[name][0](capture(VIRTIO_BLK, name))
