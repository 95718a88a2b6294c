"""REPORT SUPPORTED OPERATION CODES (all commands) against the real captures."""


import struct

import pytest
from test_decode_captures import ATA, IET, NVME, capture

from guestprobe.decode import DecodeError
from guestprobe.decode.opcodes import decode_supported_opcodes


def _descriptor(
    opcode: int,
    sa: "int | None",
    cdb: int,
    timeouts: "tuple[int, int] | None",
) -> bytes:
    flags = (0x01 if sa is not None else 0) | (0x02 if timeouts else 0)
    out = struct.pack(">BBHBBH", opcode, 0, sa or 0, 0, flags, cdb)
    if timeouts:
        out += struct.pack(">HBBII", 0x0A, 0, 0, *timeouts)
    return out


def test_tgt_list() -> None:
    # header 00 00 01 90 = 400 bytes = 50 descriptors of 8 bytes, no CTDP
    ops = decode_supported_opcodes(capture(IET, "opcodes"))
    assert len(ops.commands) == 50
    assert ops.command_list()[:2] == [(0x00, None, 6), (0x03, None, 6)]
    # 5e 00 00 00 00 01 00 0a ... 5e 00 00 02 00 01 00 0a: PR IN, service actions 0..2
    assert [(o, sa) for o, sa, _ in ops.command_list() if o == 0x5E] == [
        (0x5E, 0), (0x5E, 1), (0x5E, 2),
    ]  # fmt: skip
    # 5f with service actions 0-4, 6, 7 (no 5: REGISTER AND MOVE)
    assert [sa for o, sa, _ in ops.command_list() if o == 0x5F] == [0, 1, 2, 3, 4, 6, 7]
    assert ops.supports(0x5F)
    assert ops.supports(0x5F, 6)
    assert not ops.supports(0x5F, 5)
    assert ops.supports(0x9E, 0x10)  # READ CAPACITY(16), 16-byte CDB
    assert ops.supports(0x93) and ops.supports(0x41)  # WRITE SAME(16), (10)
    assert ops.supports(0x42)  # UNMAP listed (42 00 00 00 00 00 00 0a), though thin is off
    assert not ops.supports(0x89)  # no COMPARE AND WRITE
    assert ops.command_list()[-1] == (0xAF, None, 12)
    assert all(c.nominal_timeout_s is None for c in ops.commands)


def test_nvme_translation_list() -> None:
    # 00 00 00 b8 = 184 bytes = 23 descriptors; ends a3 00 00 0c / a3 00 00 0d (12-byte CDBs)
    ops = decode_supported_opcodes(capture(NVME, "opcodes"))
    assert len(ops.commands) == 23
    assert ops.command_list()[-2:] == [(0xA3, 0x0C, 12), (0xA3, 0x0D, 12)]
    assert not ops.supports(0x5E)


def test_libata_empty_list() -> None:
    ops = decode_supported_opcodes(capture(ATA, "opcodes"))  # 00 00 00 00
    assert ops.commands == ()
    assert not ops.supports(0x00)


def test_with_command_timeouts_descriptors() -> None:
    body = _descriptor(0x5E, 1, 10, (30, 60)) + _descriptor(0x12, None, 6, None)
    ops = decode_supported_opcodes(struct.pack(">I", len(body)) + body)
    first, second = ops.commands
    assert (first.opcode, first.service_action, first.cdb_length) == (0x5E, 1, 10)
    assert (first.nominal_timeout_s, first.recommended_timeout_s) == (30, 60)
    assert (second.opcode, second.service_action, second.nominal_timeout_s) == (0x12, None, None)
    assert ops.to_dict()["commands"][0]["recommended_timeout_s"] == 60


def test_truncated_and_malformed() -> None:
    data = capture(IET, "opcodes")
    cut = decode_supported_opcodes(data[: 4 + 8 * 10 + 3])
    assert cut.truncated
    assert len(cut.commands) == 10
    assert len(decode_supported_opcodes(data + bytes(100)).commands) == 50
    body = _descriptor(0x5E, 1, 10, (30, 60))
    with pytest.raises(DecodeError, match="overruns"):  # CTDP set but length leaves no room
        decode_supported_opcodes(struct.pack(">I", 8) + body)
    with pytest.raises(DecodeError):
        decode_supported_opcodes(b"\x00\x00")
