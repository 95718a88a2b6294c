"""PERSISTENT RESERVE IN decoders and Veritas keys.

REPORT CAPABILITIES comes from the real tgt capture. READ KEYS / READ RESERVATION captures were
made with a single ``--hex`` (header printed as text), so those tests build the parameter data
per SPC-4 6.15.2/6.15.3 with struct, and render it the way ``sg_persist --hex --hex`` does.
"""


import struct

import pytest
from test_decode_captures import IET, capture
from test_decode_hexdump import sg3_hexdump

from guestprobe.decode import DecodeError
from guestprobe.decode.hexdump import parse_hexdump
from guestprobe.decode.persist import (
    PR_TYPE_NAMES,
    decode_read_keys,
    decode_read_reservation,
    decode_report_capabilities,
    decode_veritas_key,
    key_hex,
    pr_in_data_from_hexdump,
)

VF_KEY = int.from_bytes(b"VFDEED00", "big")
PGR_KEY = int.from_bytes(b"APGR0001", "big")
VCS_KEY = int.from_bytes(b"BVCS\0\0\0\0", "big")


def read_keys_data(generation: int, keys: "list[int]") -> bytes:
    return struct.pack(">II", generation, 8 * len(keys)) + b"".join(
        struct.pack(">Q", k) for k in keys
    )


def read_reservation_data(generation: int, key: int, scope: int, pr_type: int) -> bytes:
    descriptor = struct.pack(">QIBBH", key, 0, 0, scope << 4 | pr_type, 0)
    return struct.pack(">II", generation, len(descriptor)) + descriptor


# ------------------------------------------------------------------------ REPORT CAPABILITIES


def test_report_capabilities_tgt() -> None:
    # " 00     00 08 00 80 ea 01 00 00": length 8; byte 2 = 0; byte 3 = 0x80 TMV;
    # type mask ea 01 = WR_EX_AR EX_AC_RO WR_EX_RO EX_AC WR_EX | EX_AC_AR
    caps = decode_report_capabilities(parse_hexdump(capture(IET, "pr_report_capabilities")))
    assert caps.length == 8
    assert not any((caps.rlr_c, caps.crh, caps.sip_c, caps.atp_c, caps.ptpl_c, caps.ptpl_a))
    assert caps.tmv and caps.allow_commands == 0
    assert caps.type_mask == 0xEA01
    for name in PR_TYPE_NAMES.values():
        assert caps.supports_type(name) is True
    assert caps.to_dict()["supported_types"] is not None


def test_report_capabilities_bits_and_no_tmv() -> None:
    caps = decode_report_capabilities(bytes([0, 8, 0x9D, 0x51, 0x20, 0x00, 0, 0]))
    assert (caps.rlr_c, caps.crh, caps.sip_c, caps.atp_c, caps.ptpl_c) == (
        True, True, True, True, True,
    )  # fmt: skip
    assert (caps.tmv, caps.allow_commands, caps.ptpl_a) == (False, 5, True)
    assert caps.supported_types is None
    assert caps.supports_type("write_exclusive_registrants_only") is None
    with pytest.raises(ValueError, match="unknown"):
        caps.supports_type("no_such_type")
    only_wero = decode_report_capabilities(bytes([0, 8, 0, 0x80, 0x20, 0, 0, 0]))
    assert only_wero.supports_type("write_exclusive_registrants_only") is True
    assert only_wero.supports_type("exclusive_access") is False


def test_report_capabilities_bad_length() -> None:
    with pytest.raises(DecodeError):
        decode_report_capabilities(bytes([0, 4, 0, 0x80]))
    with pytest.raises(DecodeError):
        decode_report_capabilities(bytes([0, 8, 0, 0x80, 0xEA]))
    assert decode_report_capabilities(bytes([0, 8, 0, 0x80, 0xEA, 0x01])).truncated


# ------------------------------------------------------------------------ READ KEYS


def test_read_keys_through_a_double_hex_dump() -> None:
    data = read_keys_data(3, [VF_KEY, PGR_KEY])
    dump = sg3_hexdump(data, no_ascii=1)
    assert dump.splitlines()[0] == " 00     00 00 00 03 00 00 00 10  56 46 44 45 45 44 30 30"
    keys = decode_read_keys(pr_in_data_from_hexdump(dump))
    assert keys.generation == 3
    assert keys.keys == (0x5646444545443030, 0x4150475230303031)
    assert keys.keys_hex == ("5646444545443030", "4150475230303031")
    assert not keys.truncated


def test_read_keys_none_registered() -> None:
    keys = decode_read_keys(parse_hexdump(" 00     00 00 00 00 00 00 00 00\n"))
    assert (keys.generation, keys.keys, keys.truncated) == (0, (), False)


def test_read_keys_trims_and_truncates() -> None:
    data = read_keys_data(7, [1, 2, 3])
    assert decode_read_keys(data + bytes(64)).keys == (1, 2, 3)
    cut = decode_read_keys(data[:-3])
    assert cut.keys == (1, 2)
    assert cut.truncated
    with pytest.raises(DecodeError, match="multiple of 8"):
        decode_read_keys(struct.pack(">II", 0, 12) + bytes(12))
    with pytest.raises(DecodeError):
        decode_read_keys(data[:7])


def test_header_printed_as_text_is_put_back() -> None:
    # sg_persist --hex (one; and sg3_utils 1.37 with any number of --hex): the header as text,
    # "  PR generation=0x0, Additional length=0" (printed twice when 0), the rest as a dump
    data = pr_in_data_from_hexdump(capture(IET, "pr_read_keys"))
    assert data == bytes(8)
    assert decode_read_keys(data).keys == ()
    text = (
        "  PR generation=0x1f, Additional length=16\n"
        " 00     56 46 44 45 45 44 30 30  41 50 47 52 30 30 30 31\n"
    )
    keys = decode_read_keys(pr_in_data_from_hexdump(text))
    assert keys.generation == 0x1F
    assert keys.keys_hex == ("5646444545443030", "4150475230303031")
    cut = (
        "  PR generation=0x2, Additional length too large=9000, truncate\n"
        " 00     56 46 44 45 45 44 30 30\n"
    )
    assert decode_read_keys(pr_in_data_from_hexdump(cut)).truncated
    with pytest.raises(DecodeError):
        decode_read_keys(parse_hexdump(capture(IET, "pr_read_keys")))  # without the header


# ------------------------------------------------------------------------ READ RESERVATION


def test_read_reservation_one_held() -> None:
    data = read_reservation_data(3, PGR_KEY, 0, 5)
    dump = sg3_hexdump(data, no_ascii=1)
    res = decode_read_reservation(pr_in_data_from_hexdump(dump))
    assert res.generation == 3
    assert res.reservation is not None
    assert res.reservation.key == PGR_KEY
    assert res.reservation.key_hex == "4150475230303031"
    assert (res.reservation.scope, res.reservation.scope_name) == (0, "logical_unit")
    assert res.reservation.type_code == 5
    assert res.reservation.type_name == "write_exclusive_registrants_only"


def test_read_reservation_none_held() -> None:
    res = decode_read_reservation(struct.pack(">II", 9, 0))
    assert (res.generation, res.reservation) == (9, None)


def test_read_reservation_malformed_or_cut() -> None:
    data = read_reservation_data(1, 1, 0, 3)
    with pytest.raises(DecodeError, match="truncated"):
        decode_read_reservation(data[:-1])
    with pytest.raises(DecodeError, match="malformed"):
        decode_read_reservation(struct.pack(">II", 1, 8) + bytes(8))
    odd = decode_read_reservation(read_reservation_data(1, 1, 2, 0xE))
    assert odd.reservation is not None
    assert odd.reservation.type_name == "obsolete_or_reserved_0xe"
    assert odd.reservation.scope_name == "obsolete_or_reserved_0x2"


# ------------------------------------------------------------------------ Veritas keys


def test_coordinator_key_from_the_veritas_guide() -> None:
    # vxfenadm -s: 86,70,68,69,69,68,48,48 = VFDEED00 = "Cluster ID: 57069 Node ID: 0"
    vk = decode_veritas_key(VF_KEY)
    assert vk is not None
    assert (vk.kind, vk.scheme, vk.ascii) == ("coordinator", "vxfen_coordinator", "VFDEED00")
    assert (vk.cluster_id, vk.node_id, vk.dg_count) == (57069, 0, None)
    node10 = decode_veritas_key(int.from_bytes(b"VF00070A", "big"))
    assert node10 is not None
    assert (node10.cluster_id, node10.node_id) == (7, 10)


def test_data_disk_keys() -> None:
    pgr = decode_veritas_key(PGR_KEY)
    assert pgr is not None
    assert (pgr.kind, pgr.scheme, pgr.node_id, pgr.dg_count) == (
        "data_disk", "cvm_parallel_dg", 0, "0001",
    )  # fmt: skip
    vcs = decode_veritas_key(VCS_KEY)
    assert vcs is not None
    assert (vcs.kind, vcs.scheme, vcs.node_id, vcs.ascii) == (
        "data_disk", "vcs_failover_dg", 1, "BVCS....",
    )  # fmt: skip
    assert vcs.to_dict()["key_hex"] == key_hex(VCS_KEY) == "4256435300000000"


@pytest.mark.parametrize(
    "raw",
    [b"VFdeed00", b"VFDEED0G", b"XFDEED00", b"@PGR0001", b"APGR\0\0\0\0", b"A-------", bytes(8)],
)
def test_other_keys_are_not_veritas(raw: bytes) -> None:
    assert decode_veritas_key(int.from_bytes(raw, "big")) is None


def test_out_of_range_key_is_not_veritas() -> None:
    assert decode_veritas_key(-1) is None
    assert decode_veritas_key(1 << 64) is None
