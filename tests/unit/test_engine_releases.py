"""The lib engine for the sg3_utils of RHEL 7.9 (1.37) and RHEL 8 (1.44), against a fake library.

The fake (test_engine.FakeLibrary) reports the release through sg_lib_version(), as the real
libsgutils2 does, so each test sends the argv the probe plan builds for that release
(sg3_releases.adapt) and asserts the CDBs, allocation lengths, opens and timeouts that release's
tools send, and the bytes and exit status they give (read from src/ and lib/ of each tarball).
"""


import struct

from test_engine import (
    DEVICE,
    LBA_OOR_SENSE,
    STD_INQ,
    UA_SENSE,
    FakeLibrary,
    good,
    sense,
)

from guestprobe.collect import sgpt
from guestprobe.collect.lib_engine import LibEngine, render_hex, render_hex_before_1_43
from guestprobe.collect.process import CommandResult
from guestprobe.collect.sending import send
from guestprobe.collect.sg3 import (
    INQUIRY,
    PR_READ_KEYS,
    PR_REPORT_CAPABILITIES,
    READ_CAPACITY_16,
    REPORT_OPCODES,
    vpd_probe,
    write_same_probe,
)
from guestprobe.collect.sg3_releases import adapt
from guestprobe.decode.persist import pr_in_data_from_hexdump

VERSIONS = {(1, 37): b"1.88 20140523", (1, 44): b"2.58 20180911"}
NOT_READY_SENSE = bytes([0x70, 0, 2, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04, 0x01, 0, 0, 0, 0])


class Library137(FakeLibrary):
    """1.37's sense categories: LBA OUT OF RANGE is ILLEGAL REQUEST (5); its sense text."""

    @staticmethod
    def _category(buf, n):
        key = bytes(buf[:n])[2] & 0xF
        return {2: 2, 6: 6}.get(key, 5)

    @staticmethod
    def _sense_str(leadin, buf, n, raw, blen, out):
        text = b"Fixed format, current;  Sense key: Illegal Request\n"
        text += b" Additional sense: Logical block address out of range\n\0"
        out[: len(text)] = text


def engine_of(release, answers):
    library = (Library137 if release < (1, 43) else FakeLibrary)(answers, VERSIONS[release])
    calls = []

    def cli(argv, timeout_s):
        calls.append(list(argv))
        return CommandResult(tuple(argv), 0, stdout=b"from the tool")

    pt = sgpt.PassThrough("libsgutils2.so.2", loader=lambda path: library)
    assert pt.release == release
    return LibEngine(pt, cli), library, calls


def argv(spec, release):
    return adapt(spec, release).argv(DEVICE)


def test_sg_inq_1_37_raw_verbose_sends_two_inquiries_and_no_serial_number_page():
    engine, library, calls = engine_of((1, 37), {0x12: good(STD_INQ)})
    result = engine.run(argv(INQUIRY, (1, 37)), 15)  # sg_inq --raw --verbose
    assert [sent[0] for sent in library.sent] == [
        bytes([0x12, 0, 0, 0, 36, 0]),
        bytes([0x12, 0, 0, 0, 96, 0]),
    ]
    # with --raw, 1.37 prints the identification as text after the bytes (measured in the rig)
    text = bytes(range(8, 16)).replace(b"\t", b" ")
    assert (result.exit_status, calls) == (0, [])
    assert result.stdout == STD_INQ + (
        b" Vendor identification: " + text + b"\n"
        b" Product identification: " + bytes(range(16, 32)) + b"\n"
        b" Product revision level: " + bytes(range(32, 36)) + b"\n"
    )
    assert library.opened == [(DEVICE, True)]
    engine, _, _ = engine_of((1, 37), {0x12: good(b"\0\0\5\x12\x1f" + b"ab" * 9)})
    assert engine.run(argv(INQUIRY, (1, 37)), 15).stdout.endswith(
        b" Product identification: bababab\n Product revision level: <none>\n"  # 23 bytes came
    )


def test_sg_inq_1_37_hands_a_not_ready_disk_to_the_tool_which_tries_ata_identify():
    engine, _, calls = engine_of((1, 37), {0x12: sense(NOT_READY_SENSE)})
    engine.run(argv(INQUIRY, (1, 37)), 15)
    assert calls == [argv(INQUIRY, (1, 37))]


def test_sg_vpd_1_37_fetches_the_page_alone_and_prints_what_its_header_says():
    long_page = bytes([0, 0x83, 0x01, 0x28]) + bytes(range(256)) + bytes(40)  # 300 bytes
    engine, library, _ = engine_of((1, 37), {0x12: good(long_page)})
    result = engine.run(argv(vpd_probe(0x83), (1, 37)), 15)
    # no supported-pages fetch first (1.44+ send page 0x00 before), then the page's own length
    assert [sent[0] for sent in library.sent] == [
        bytes([0x12, 1, 0x83, 0, 252, 0]),
        bytes([0x12, 1, 0x83, 0x01, 0x2C, 0]),
    ]
    assert result.stdout == long_page
    short = bytes([0, 0xB0, 0, 0x3C]) + bytes(8)  # says 64 bytes, 12 came
    engine, _, _ = engine_of((1, 37), {0x12: good(short)})
    assert engine.run(argv(vpd_probe(0xB0), (1, 37)), 15).stdout == short + bytes(52)


def test_sg_vpd_1_44_checks_the_supported_list_first():
    engine, library, _ = engine_of((1, 44), {0x12: good(bytes([0, 0, 0, 1, 0]))})
    assert engine.run(argv(vpd_probe(0x83), (1, 43)), 15).exit_status == 50 + 33
    assert [sent[0][2] for sent in library.sent] == [0x00]


def test_1_37_exit_statuses_of_what_its_library_does_not_pass_on():
    ua = {0x12: sense(UA_SENSE), 0x9E: sense(UA_SENSE), 0x5E: sense(UA_SENSE)}
    engine, _, _ = engine_of((1, 37), ua)
    # sg_ll_readcap_16 and sg_ll_persistent_reserve_in pass UNIT ATTENTION on; sg_ll_inquiry
    # does not: sg_vpd exits 99, and the one send() does not send it again
    assert engine.run(argv(READ_CAPACITY_16, (1, 37)), 15).exit_status == 6
    assert engine.run(argv(PR_READ_KEYS, (1, 37)), 15).exit_status == 6
    sent = send(engine.run, argv(vpd_probe(0x80), (1, 37)), 15, response_due=True)
    assert (sent.attempts, sent.exit_status) == (1, 99)


def test_reservation_conflict_is_24_from_1_44_and_99_before_1_43():
    def conflict(cdb):
        return (sgpt.SCSI_PT_RESULT_STATUS, b"", b"", sgpt.SAM_STAT_RESERVATION_CONFLICT, 0)

    spec = write_same_probe("write_same16_oor", 16, 512, 15, unmap=False)
    for release, tools, status in (((1, 37), (1, 37), 99), ((1, 44), (1, 43), 24)):
        engine, _, calls = engine_of(release, {0x93: conflict})
        assert engine.run(argv(spec, tools), 15).exit_status == status
        assert calls == []


def test_sg_write_same_1_37_verbose_short_timeout_and_lba_out_of_range_as_exit_5():
    engine, library, calls = engine_of((1, 37), {0x93: sense(LBA_OOR_SENSE)})
    spec = argv(write_same_probe("write_same16_oor", 16, 4096, 15, unmap=False), (1, 37))
    assert "-t15" in spec and "--verbose" in spec
    sent = send(engine.run, spec, 15)
    assert (sent.exit_status, sent.outcome, calls) == (5, "lba_out_of_range", [])
    assert library.sent[0][3] == 15 and library.opened == [(DEVICE, False)]


def test_sg_persist_1_37_prints_the_header_as_text_and_the_rest_untrimmed():
    keys = struct.pack(">II", 3, 8) + bytes.fromhex("5646444545443030")
    engine, library, _ = engine_of((1, 37), {0x5E: good(keys)})
    result = engine.run(argv(PR_READ_KEYS, (1, 37)), 15)
    assert library.sent[0][0] == bytes([0x5E, 0, 0, 0, 0, 0, 0, 0x20, 0, 0])
    assert library.opened == [(DEVICE, False)]  # no --readonly before 1.39
    line = b" 00     56 46 44 45 45 44 30 30"
    assert result.stdout == (
        b"  PR generation=0x3, Additional length=8\n" + line.ljust(68) + b"\n"
    )
    assert pr_in_data_from_hexdump(result.stdout) == keys
    nothing = struct.pack(">II", 1, 0)
    engine, _, _ = engine_of((1, 37), {0x5E: good(nothing)})
    assert engine.run(argv(PR_READ_KEYS, (1, 37)), 15).stdout == (
        b"  PR generation=0x1, Additional length=0\nAdditional length=0\n"
    )


def test_sg_persist_1_37_report_capabilities():
    caps = bytes([0, 8, 0x0D, 0x81, 0xEA, 0x01, 0, 0])
    engine, _, _ = engine_of((1, 37), {0x5E: good(caps)})
    result = engine.run(argv(PR_REPORT_CAPABILITIES, (1, 37)), 15)
    assert result.stdout == b" 00     00 08 0d 81 ea 01 00 00".ljust(68) + b"\n"
    engine, _, _ = engine_of((1, 37), {0x5E: good(bytes([0, 6]) + bytes(6))})
    wrong = engine.run(argv(PR_REPORT_CAPABILITIES, (1, 37)), 15)
    assert (wrong.exit_status, wrong.stdout) == (97, b"")  # 1.44+ dump the bad answer


def test_render_hex_before_1_43_full_lines_are_56_characters():
    text = render_hex_before_1_43(bytes(range(20)))
    first, second = text.split(b"\n")[:2]
    assert len(first) == 56 and len(second) == 64  # 1.44+ trim both
    assert second.rstrip() == render_hex(bytes(range(20))).split(b"\n")[1]
    assert pr_in_data_from_hexdump(text) == bytes(range(20))


def test_sg_opcodes_1_37_inquires_on_a_read_only_open_of_its_own():
    rsoc = struct.pack(">I", 16) + bytes([0x12, 0, 0, 0, 0, 0, 0, 6]) * 2
    engine, library, _ = engine_of((1, 37), {0x12: good(STD_INQ[:36]), 0xA3: good(rsoc[:12])})
    result = engine.run(argv(REPORT_OPCODES, (1, 37)), 15)
    assert [sent[0][0] for sent in library.sent] == [0x12, 0xA3]
    assert library.sent[1][0] == bytes([0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0])
    assert library.opened == [(DEVICE, True), (DEVICE, False)]
    # as many bytes as the header says (20), the ones that did not come as zeros
    assert result.stdout == rsoc[:12] + bytes(8)
    engine, _, _ = engine_of((1, 37), {0x12: good(STD_INQ[:36]), 0xA3: sense(UA_SENSE)})
    assert engine.run(argv(REPORT_OPCODES, (1, 37)), 15).exit_status == 6


def test_sg_opcodes_1_44_one_read_only_open_and_a_short_answer_printed():
    engine, library, _ = engine_of((1, 44), {0x12: good(STD_INQ[:36]), 0xA3: good(b"\0\0")})
    result = engine.run(argv(REPORT_OPCODES, (1, 43)), 15)
    assert library.opened == [(DEVICE, True)]
    assert (result.exit_status, result.stdout) == (0, b"\0\0")  # 1.48: exit 99, "too small"


def test_1_44_sends_the_1_46_argvs_as_1_46_does():
    engine, library, calls = engine_of((1, 44), {0x12: good(STD_INQ), 0x9E: good(bytes(32))})
    assert engine.run(argv(INQUIRY, (1, 43)), 15).stdout == STD_INQ
    engine.run(argv(READ_CAPACITY_16, (1, 43)), 15)
    assert library.opened == [(DEVICE, True), (DEVICE, True)] and calls == []
