"""VPD page decoders against the real captures; expected values worked out by hand from the
SPC-4/SBC-3 layouts and the bytes quoted next to each test."""


import struct

import pytest
from test_decode_captures import ATA, IET, NVME, QEMU_HD, capture

from guestprobe.decode import DecodeError
from guestprobe.decode.vpd import (
    Association,
    CodeSet,
    DesignatorType,
    decode_block_device_characteristics,
    decode_block_limits,
    decode_device_identification,
    decode_logical_block_provisioning,
    decode_supported_vpd_page,
    decode_supported_vpd_pages,
    decode_unit_serial_number,
    decode_vpd_header,
    lu_designators,
)


def _page(code: int, body: bytes, length: "int | None" = None) -> bytes:
    return bytes([0, code]) + struct.pack(">H", len(body) if length is None else length) + body


def _desc(code_set: int, piv_assoc_type: int, value: bytes, protocol: int = 0) -> bytes:
    return bytes([protocol << 4 | code_set, piv_assoc_type, 0, len(value)]) + value


# ------------------------------------------------------------------------------------ 0x00


def test_supported_pages_ata() -> None:
    # 00 00 00 08 | 00 80 83 89 b0 b1 b2 b9
    assert decode_supported_vpd_pages(capture(ATA, "vpd_0x00")) == [
        0x00, 0x80, 0x83, 0x89, 0xB0, 0xB1, 0xB2, 0xB9,
    ]  # fmt: skip


def test_supported_pages_nvme_translation() -> None:
    # 00 00 00 07 | 00 80 83 86 87 92 de
    assert decode_supported_vpd_pages(capture(NVME, "vpd_0x00")) == [
        0x00, 0x80, 0x83, 0x86, 0x87, 0x92, 0xDE,
    ]  # fmt: skip


def test_supported_pages_trims_and_flags_truncation() -> None:
    page = capture(IET, "vpd_0x00")
    assert decode_supported_vpd_page(page + b"\xff\xff").pages == (0, 0x80, 0x83, 0xB0, 0xB1, 0xB2)
    cut = decode_supported_vpd_page(page[:7])
    assert cut.pages == (0, 0x80, 0x83)
    assert cut.truncated


def test_wrong_page_code_and_short_header_raise() -> None:
    with pytest.raises(DecodeError, match="page code 0x80"):
        decode_supported_vpd_page(capture(IET, "vpd_0x80"))
    with pytest.raises(DecodeError):
        decode_vpd_header(b"\x00\x83\x00")


# ------------------------------------------------------------------------------------ 0x80


def test_unit_serial_iet_is_right_aligned() -> None:
    # 00 80 00 24 | 30 spaces then "beaf11"
    serial = decode_unit_serial_number(capture(IET, "vpd_0x80"))
    assert serial.serial == "beaf11"
    assert serial.raw == b" " * 30 + b"beaf11"
    assert serial.to_dict()["raw"] == "20" * 30 + "626561663131"


def test_unit_serial_ata_is_left_aligned() -> None:
    # 00 80 00 14 | "SATASER1" then 12 spaces
    assert decode_unit_serial_number(capture(ATA, "vpd_0x80")).serial == "SATASER1"


# ------------------------------------------------------------------------------------ 0x83


def test_device_identification_iet() -> None:
    # 00 83 00 48
    #   02 01 00 24 "IET     " "00010001" + 20 NULs : ASCII, LU, T10 vendor id
    #   01 03 00 08 30 00 00 01 00 00 00 01         : binary, LU, NAA (NAA 3, local)
    #   01 03 00 10 60 00 .. 0e 00 00 00 00 01 00 01 : binary, LU, NAA 6 (registered ext.)
    page = decode_device_identification(capture(IET, "vpd_0x83"))
    t10, naa3, naa6 = page.designators
    assert (t10.code_set, t10.association, t10.designator_type) == (
        CodeSet.ASCII,
        Association.LOGICAL_UNIT,
        DesignatorType.T10_VENDOR_ID,
    )
    assert t10.text == "t10.IET     00010001"
    assert t10.value == b"IET     00010001" + b"\0" * 20
    assert naa3.designator_type is DesignatorType.NAA
    assert naa3.text == "naa.3000000100000001"
    assert naa6.value.hex() == "60000000000000000e00000000010001"
    assert naa6.text == "naa.60000000000000000e00000000010001"
    assert not any(d.piv or d.protocol_identifier is not None for d in page.designators)
    assert [d.text for d in lu_designators(page)] == [naa6.text, naa3.text]


def test_device_identification_qemu_vendor_specific_only() -> None:
    # 00 83 00 0c | 02 00 00 08 "SHDSER01": ASCII, LU, vendor specific
    page = decode_device_identification(capture(QEMU_HD, "vpd_0x83"))
    (only,) = page.designators
    assert only.designator_type is DesignatorType.VENDOR_SPECIFIC
    assert only.text == "SHDSER01"
    assert lu_designators(page) == []


def test_device_identification_nvme_t10_for_target_device() -> None:
    # 00 83 00 24 | 02 21 00 20 "NVMe    QEMU NVMe Ctrl_NVMECAP1" 00
    # byte 1 = 0x21: PIV 0, association 10b (target device), type 1 (T10 vendor id)
    (t10,) = decode_device_identification(capture(NVME, "vpd_0x83")).designators
    assert t10.association is Association.TARGET_DEVICE
    assert t10.text == "t10.NVMe    QEMU NVMe Ctrl_NVMECAP1"


def test_device_identification_to_dict_is_json_ready() -> None:
    d = decode_device_identification(capture(IET, "vpd_0x83")).to_dict()
    assert d["designators"][2] == {
        "code_set": "binary",
        "piv": False,
        "association": "logical_unit",
        "designator_type": "naa",
        "protocol_identifier": None,
        "protocol_name": None,
        "value": "60000000000000000e00000000010001",
        "text": "naa.60000000000000000e00000000010001",
        "number": None,
    }


def test_port_designators_and_protocol_identifier() -> None:
    body = b"".join(
        [
            _desc(1, 0x94, b"\0\0\0\x02", protocol=5),  # PIV, target port, relative port 2
            _desc(1, 0x15, b"\0\0\0\x07"),  # target port, target port group 7
            _desc(3, 0xA8, b"iqn.2001-04.com.example:d1,t,0x1\0\0\0\0", protocol=5),
            _desc(1, 0x0A, b"\x10\0" + bytes(range(16))),  # LU UUID
            _desc(1, 0x02, bytes.fromhex("0011223344556677")),  # LU EUI-64
            _desc(1, 0x07, bytes(16)),  # LU MD5
            _desc(3, 0x08, b"eui.0011223344556677\0\0\0\0"),  # LU SCSI name string
        ]
    )
    page = decode_device_identification(_page(0x83, body))
    rtp, tpg, name, uuid, eui, md5, lu_name = page.designators
    assert (rtp.designator_type, rtp.number, rtp.text) == (
        DesignatorType.RELATIVE_TARGET_PORT,
        2,
        None,
    )
    assert (rtp.protocol_identifier, rtp.protocol_name) == (5, "iscsi")
    assert (tpg.designator_type, tpg.number, tpg.protocol_identifier) == (
        DesignatorType.TARGET_PORT_GROUP,
        7,
        None,
    )
    assert name.association is Association.TARGET_DEVICE
    assert name.text == "iqn.2001-04.com.example:d1,t,0x1"
    assert uuid.text == "uuid.00010203-0405-0607-0809-0a0b0c0d0e0f"
    assert eui.text == "eui.0011223344556677"
    assert md5.text == "md5." + "00" * 16
    assert lu_designators(page) == [eui, lu_name, uuid, md5]


def test_identification_truncated_mid_descriptor() -> None:
    page = capture(IET, "vpd_0x83")
    cut = decode_device_identification(page[:60])  # inside the NAA 6 descriptor
    assert cut.truncated
    assert [d.text for d in cut.designators] == ["t10.IET     00010001", "naa.3000000100000001"]


def test_identification_descriptor_overrunning_page_length_raises() -> None:
    body = _desc(1, 0x03, bytes.fromhex("5000000000000001"))
    with pytest.raises(DecodeError, match="overruns"):
        decode_device_identification(_page(0x83, body[:-1], length=len(body) - 1) + b"\x01")


# ------------------------------------------------------------------------------------ 0xB0


def test_block_limits_iet() -> None:
    # 00 b0 00 3c | 00 80 00 00 | 00 00 20 00 | 00 00 20 00 | zeros
    limits = decode_block_limits(capture(IET, "vpd_0xb0"))
    assert not limits.wsnz
    assert limits.max_compare_and_write_length == 0x80
    assert limits.optimal_transfer_length_granularity == 0
    assert limits.max_transfer_length == 0x2000
    assert limits.optimal_transfer_length == 0x2000
    assert limits.max_unmap_lba_count == 0
    assert limits.ugavalid is False
    assert limits.unmap_granularity_alignment is None
    assert limits.max_write_same_length == 0
    assert limits.page_length == 0x3C


def test_block_limits_qemu() -> None:
    # 00 b0 00 3c | 01 00 00 00 | 00 3f ff ff | 00 00 00 00 | 00 00 00 00 | 00 20 00 00
    # | 00 00 00 ff | 00 00 00 08 | 00 00 00 00 | 00 00 00 00 00 3f ff ff | zeros
    limits = decode_block_limits(capture(QEMU_HD, "vpd_0xb0"))
    assert limits.wsnz
    assert limits.max_transfer_length == 0x3FFFFF
    assert limits.max_prefetch_length == 0
    assert limits.max_unmap_lba_count == 0x200000
    assert limits.max_unmap_block_descriptor_count == 0xFF
    assert limits.optimal_unmap_granularity == 8
    assert limits.max_write_same_length == 0x3FFFFF


def test_block_limits_ata() -> None:
    # 00 b0 00 3c | 00 00 00 01 | zeros.. | 00 00 00 01 (opt. unmap gran.) | 00 00 00 00
    # | 00 00 00 00 00 3f ff c0
    limits = decode_block_limits(capture(ATA, "vpd_0xb0"))
    assert limits.optimal_transfer_length_granularity == 1
    assert limits.optimal_unmap_granularity == 1
    assert limits.max_write_same_length == 0x3FFFC0


@pytest.mark.parametrize(("page_length", "prefetch"), [(0x0C, None), (0x10, 0x40)])
def test_block_limits_short_spc3_pages(page_length: int, prefetch: "int | None") -> None:
    body = bytes([1, 0]) + struct.pack(">HII", 0, 0x800, 0x80) + struct.pack(">I", 0x40)
    limits = decode_block_limits(_page(0xB0, body[:page_length], page_length))
    assert limits.max_transfer_length == 0x800
    assert limits.optimal_transfer_length == 0x80
    assert limits.max_prefetch_length == prefetch
    assert limits.max_unmap_lba_count is None
    assert limits.ugavalid is None
    assert limits.max_write_same_length is None
    assert not limits.truncated


def test_block_limits_unmap_granularity_alignment() -> None:
    body = bytearray(0x3C)
    struct.pack_into(">I", body, 28, 0x80000003)  # UGAVALID + alignment 3 at page byte 32
    limits = decode_block_limits(_page(0xB0, bytes(body)))
    assert limits.ugavalid
    assert limits.unmap_granularity_alignment == 3


def test_block_limits_too_short_raises() -> None:
    with pytest.raises(DecodeError):
        decode_block_limits(capture(QEMU_HD, "vpd_0xb0")[:15])
    with pytest.raises(DecodeError):
        decode_block_limits(_page(0xB0, bytes(8)))


# ------------------------------------------------------------------------------------ 0xB1


def test_block_device_characteristics_all_zero_pages() -> None:
    for disk in (IET, QEMU_HD, ATA):
        chars = decode_block_device_characteristics(capture(disk, "vpd_0xb1"))
        assert chars.medium_rotation_rate == 0
        assert chars.non_rotating is None  # not reported
        assert chars.nominal_form_factor_name == "not_reported"


def test_block_device_characteristics_bits() -> None:
    body = bytes([0x00, 0x01, 0x00, 0b0110_0011, 0b0001_0011]) + bytes(0x3C - 5)
    chars = decode_block_device_characteristics(_page(0xB1, body))
    assert chars.medium_rotation_rate == 1
    assert chars.non_rotating is True
    assert (chars.wabereq, chars.wacereq, chars.nominal_form_factor) == (1, 2, 3)
    assert chars.nominal_form_factor_name == "2.5in"
    assert (chars.zoned, chars.fuab, chars.vbuls) == (1, True, True)
    spinning = decode_block_device_characteristics(_page(0xB1, b"\x1c\x20" + bytes(0x3A)))
    assert (spinning.medium_rotation_rate, spinning.non_rotating) == (7200, False)


# ------------------------------------------------------------------------------------ 0xB2


def test_logical_block_provisioning_qemu_thin() -> None:
    # 00 b2 00 04 | 00 e0 02 00: LBPU LBPWS LBPWS10, provisioning type 010b
    lbp = decode_logical_block_provisioning(capture(QEMU_HD, "vpd_0xb2"))
    assert (lbp.lbpu, lbp.lbpws, lbp.lbpws10, lbp.lbprz, lbp.anc_sup, lbp.dp) == (
        True, True, True, 0, False, False,
    )  # fmt: skip
    assert (lbp.provisioning_type, lbp.provisioning_type_name) == (2, "thin")


def test_logical_block_provisioning_ata_and_iet() -> None:
    ata = decode_logical_block_provisioning(capture(ATA, "vpd_0xb2"))  # 00 40 00 00
    assert (ata.lbpu, ata.lbpws, ata.lbpws10, ata.provisioning_type_name) == (
        False, True, False, "full",
    )  # fmt: skip
    iet = decode_logical_block_provisioning(capture(IET, "vpd_0xb2"))  # 00 00 00 00
    assert not (iet.lbpu or iet.lbpws or iet.lbpws10)


def test_logical_block_provisioning_lbprz_three_bits() -> None:
    # byte 5 = 0b000_101_11: LBPRZ 101b, ANC_SUP, DP; byte 6 = 0b01010_001: min 10 %, resource
    lbp = decode_logical_block_provisioning(_page(0xB2, bytes([9, 0x17, 0x51, 12]) + bytes(4)))
    assert (lbp.threshold_exponent, lbp.lbprz, lbp.anc_sup, lbp.dp) == (9, 5, True, True)
    assert (lbp.minimum_percentage, lbp.provisioning_type_name) == (10, "resource")
    assert lbp.threshold_percentage == 12
    assert not lbp.truncated
    cut = decode_logical_block_provisioning(_page(0xB2, bytes(4), length=12))
    assert cut.truncated
