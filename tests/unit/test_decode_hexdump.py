"""sg3_utils hex dumps back into bytes.

``SG_VPD_*`` below are real output of sg3_utils 1.46 (``sg_vpd --inhex=<capture> --raw --hex``
and ``-HHH``) run on the shared captures' bytes; trailing blanks are kept as printed.
:func:`~guestprobe.decode.hexdump.format_hexdump` re-creates the ``dStrHexFp()`` layout
(lib/sg_lib.c) for built data (checked against the real dump below).
"""


import pytest
from test_decode_captures import ATA, IET, QEMU_HD, capture

from guestprobe.decode import DecodeError
from guestprobe.decode.hexdump import format_hexdump, parse_hexdump

SG_VPD_ATA_83_HEX = (
    "Device Identification VPD page:\n"
    " 00     00 83 00 60 02 00 00 14  53 41 54 41 53 45 52 31    ...`....SATASER1\n"
    " 10     20 20 20 20 20 20 20 20  20 20 20 20 02 01 00 44                ...D\n"
    " 20     41 54 41 20 20 20 20 20  51 45 4d 55 20 48 41 52    ATA     QEMU HAR\n"
    " 30     44 44 49 53 4b 20 20 20  20 20 20 20 20 20 20 20    DDISK           \n"
    " 40     20 20 20 20 20 20 20 20  20 20 20 20 20 20 20 20                    \n"
    " 50     53 41 54 41 53 45 52 31  20 20 20 20 20 20 20 20    SATASER1        \n"
    " 60     20 20 20 20                                             \n"
)
SG_VPD_ATA_83_HHH = (
    "00 83 00 60 02 00 00 14  53 41 54 41 53 45 52 31\n"
    "20 20 20 20 20 20 20 20  20 20 20 20 02 01 00 44\n"
    "41 54 41 20 20 20 20 20  51 45 4d 55 20 48 41 52\n"
    "44 44 49 53 4b 20 20 20  20 20 20 20 20 20 20 20\n"
    "20 20 20 20 20 20 20 20  20 20 20 20 20 20 20 20\n"
    "53 41 54 41 53 45 52 31  20 20 20 20 20 20 20 20\n"
    "20 20 20 20\n"
)
SG_VPD_IET_83_HEX = (
    "Device Identification VPD page:\n"
    " 00     00 83 00 48 02 01 00 24  49 45 54 20 20 20 20 20    ...H...$IET     \n"
    " 10     30 30 30 31 30 30 30 31  00 00 00 00 00 00 00 00    00010001........\n"
    " 20     00 00 00 00 00 00 00 00  00 00 00 00 01 03 00 08    ................\n"
    " 30     30 00 00 01 00 00 00 01  01 03 00 10 60 00 00 00    0...........`...\n"
    " 40     00 00 00 00 0e 00 00 00  00 01 00 01                ............\n"
)


sg3_hexdump = format_hexdump  # (the name the decoders' tests import)


def test_format_hexdump_lays_out_as_sg3_utils_does() -> None:
    """The real ``sg_vpd --hex`` dump of the tgt LU, byte for byte (under its title line)."""
    body = SG_VPD_IET_83_HEX.split("\n", 1)[1]
    assert format_hexdump(parse_hexdump(SG_VPD_IET_83_HEX), 0) == body


@pytest.mark.parametrize(
    ("dump", "disk"),
    [(SG_VPD_ATA_83_HEX, ATA), (SG_VPD_ATA_83_HHH, ATA), (SG_VPD_IET_83_HEX, IET)],
)
def test_real_sg_vpd_dumps(dump: str, disk: str) -> None:
    assert parse_hexdump(dump) == capture(disk, "vpd_0x83")


def test_sg_persist_report_capabilities_capture() -> None:
    assert capture(IET, "pr_report_capabilities") == b" 00     00 08 00 80 ea 01 00 00\n"
    assert parse_hexdump(capture(IET, "pr_report_capabilities")) == bytes.fromhex(
        "00080080ea010000"
    )


@pytest.mark.parametrize("no_ascii", [1, 0, -1])
def test_builder_matches_real_layout_and_round_trips(no_ascii: int) -> None:
    data = capture(IET, "vpd_0x83")
    dump = sg3_hexdump(data, no_ascii)
    if no_ascii == 0:
        assert dump == SG_VPD_IET_83_HEX.split("\n", 1)[1]
    assert parse_hexdump(dump) == data


def test_long_dump_has_three_digit_offsets() -> None:
    data = capture(IET, "opcodes")  # 404 bytes: offsets up to 0x190
    dump = sg3_hexdump(data, 1)
    assert " 100    " in dump
    assert parse_hexdump(dump) == data


def test_empty_and_noise_only() -> None:
    assert parse_hexdump("") == b""
    assert parse_hexdump("  PR generation=0x0, Additional length=0\n") == b""
    assert parse_hexdump(b" 00     00 08 00 80 ea 01 00 00\n") == bytes.fromhex("00080080ea010000")


def test_noise_around_the_dump_is_skipped() -> None:
    data = capture(QEMU_HD, "vpd_0xb0")
    dump = "Block limits VPD page (SBC):\n" + sg3_hexdump(data, 0) + "\nsome trailing text\n"
    assert parse_hexdump(dump) == data


@pytest.mark.parametrize(
    ("dump", "message"),
    [
        (sg3_hexdump(bytes(16), 1) + " 20     03 04\n", "offset 0x20, expected 0x10"),
        (" 10     00 01 02\n", "offset"),
        (" 00     00 01\n 10     02 03\n", "short line"),
        ("00 01 02\n 00     00 01\n", "mixes"),
        (" 00     41 42 43                                         ABD\n", "ASCII"),
        (SG_VPD_IET_83_HEX + SG_VPD_IET_83_HEX, "short line"),
        (sg3_hexdump(bytes(32), 1) * 2, "offset 0x0, expected 0x20"),
    ],
)
def test_inconsistent_dumps_raise(dump: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        parse_hexdump(dump)
