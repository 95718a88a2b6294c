"""Standard INQUIRY and READ CAPACITY(16) against the real captures (values derived by hand)."""


import struct

import pytest
from test_decode_captures import ATA, IET, NVME, QEMU_HD, capture

from guestprobe.decode import DecodeError
from guestprobe.decode.inquiry import decode_standard_inquiry
from guestprobe.decode.readcap import decode_read_capacity_16


def test_inquiry_iet() -> None:
    # 00 00 05 12 3d 00 00 02 "IET     " "VIRTUAL-DISK    " "0001" ... (66 bytes)
    inq = decode_standard_inquiry(capture(IET, "inquiry"))
    assert (inq.peripheral_qualifier, inq.peripheral_device_type) == (0, 0)
    assert inq.device_type_name == "direct_access_block"
    assert (inq.rmb, inq.version, inq.response_data_format) == (False, 5, 2)
    assert (inq.normaca, inq.hisup, inq.additional_length) == (False, True, 0x3D)
    assert not any((inq.sccs, inq.acc, inq.three_pc, inq.protect, inq.encserv, inq.multip))
    assert inq.tpgs == 0
    assert inq.cmdque
    assert (inq.vendor, inq.product, inq.revision) == ("IET", "VIRTUAL-DISK", "0001")
    assert inq.vendor_raw == b"IET     "
    assert inq.to_dict()["vendor_raw"] == "4945542020202020"
    assert not inq.truncated


def test_inquiry_qemu_and_ata() -> None:
    # QEMU: 00 00 05 12 1f 00 00 12 -> 36 bytes, CMDQUE (0x02) and the obsolete SYNC bit (0x10)
    qemu = decode_standard_inquiry(capture(QEMU_HD, "inquiry"))
    assert (qemu.vendor, qemu.product, qemu.revision) == ("QEMU", "QEMU HARDDISK", "2.5+")
    assert qemu.cmdque and qemu.hisup
    # ATA (libata SATL): 00 00 05 02 5b 00 00 02 -> no HISUP
    ata = decode_standard_inquiry(capture(ATA, "inquiry"))
    assert (ata.vendor, ata.product, ata.hisup, ata.additional_length) == (
        "ATA", "QEMU HARDDISK", False, 0x5B,
    )  # fmt: skip


def test_inquiry_flags_bits() -> None:
    data = bytes([0x3F, 0x80, 0x06, 0x32, 31, 0xF9, 0x50, 0x02]) + b"VENDOR  PRODUCT         REV1"
    inq = decode_standard_inquiry(data)
    assert (inq.peripheral_qualifier, inq.peripheral_device_type) == (1, 0x1F)
    assert inq.device_type_name == "unknown_or_no_device"
    assert (inq.rmb, inq.normaca, inq.hisup, inq.response_data_format) == (True, True, True, 2)
    assert (inq.sccs, inq.acc, inq.tpgs, inq.three_pc, inq.protect) == (True, True, 3, True, True)
    assert (inq.encserv, inq.multip, inq.cmdque) == (True, True, True)
    assert (inq.vendor, inq.product, inq.revision) == ("VENDOR", "PRODUCT", "REV1")


def test_inquiry_truncated_and_short() -> None:
    cut = decode_standard_inquiry(capture(IET, "inquiry")[:20])
    assert cut.truncated
    assert cut.vendor == "IET"
    assert cut.product is None and cut.revision is None
    with pytest.raises(DecodeError):
        decode_standard_inquiry(capture(IET, "inquiry")[:7])
    with pytest.raises(DecodeError):
        decode_standard_inquiry(capture(NVME, "inquiry"))  # NVMe Identify data, not INQUIRY


def test_read_capacity_iet() -> None:
    # 00 00 00 00 00 01 ff ff | 00 00 02 00 | 00 | 03 | 00 00 | 16 x 00
    cap = decode_read_capacity_16(capture(IET, "readcap16"))
    assert (cap.returned_lba, cap.capacity_blocks) == (0x1FFFF, 0x20000)
    assert (cap.logical_block_size, cap.capacity_bytes) == (512, 64 * 1024 * 1024)
    assert (cap.lbppbe, cap.physical_block_size) == (3, 4096)
    assert (cap.p_type, cap.prot_en, cap.p_i_exponent) == (0, False, 0)
    assert (cap.lbpme, cap.lbprz, cap.lowest_aligned_lba) == (False, False, 0)


def test_read_capacity_qemu_thin() -> None:
    # 00 00 00 00 00 00 ff ff | 00 00 02 00 | 00 | 00 | 80 00: LBPME
    cap = decode_read_capacity_16(capture(QEMU_HD, "readcap16"))
    assert (cap.capacity_blocks, cap.capacity_bytes) == (65536, 32 * 1024 * 1024)
    assert cap.lbpme and not cap.lbprz
    assert cap.physical_block_size == 512


def test_read_capacity_protection_and_alignment() -> None:
    data = struct.pack(">QIBBH", 999, 4096, 0b0000_0101, 0x21, 0xC000 | 7) + bytes(16)
    cap = decode_read_capacity_16(data)
    assert (cap.p_type, cap.prot_en, cap.p_i_exponent, cap.lbppbe) == (2, True, 2, 1)
    assert (cap.lbpme, cap.lbprz, cap.lowest_aligned_lba) == (True, True, 7)
    assert (cap.capacity_bytes, cap.physical_block_size) == (1000 * 4096, 8192)


def test_read_capacity_short_or_zero_block_raises() -> None:
    with pytest.raises(DecodeError):
        decode_read_capacity_16(capture(IET, "readcap16")[:15])
    with pytest.raises(DecodeError, match="block length 0"):
        decode_read_capacity_16(bytes(32))
    assert decode_read_capacity_16(capture(IET, "readcap16")[:16]).capacity_blocks == 0x20000
