"""The lib engine (collect/lib_engine.py over collect/sgpt.py) against a fake libsgutils2.

The fake plays the library's pass-through object and a SCSI disk behind it: it keeps every CDB,
data direction, length and timeout it is given, so each test asserts what the engine would send
down SG_IO for an argv the probe plan builds. Where a real build of the library is at hand (the
sg3_utils matrix, tests/vm/.cache/sg3), every declared function is checked to exist in it.
"""


import ctypes
import os
import struct

import pytest

from guestprobe.collect import sgpt
from guestprobe.collect.discover import BlockDisk
from guestprobe.collect.lib_engine import LibEngine, render_hex
from guestprobe.collect.probe import ProbeOptions
from guestprobe.collect.process import CommandResult
from guestprobe.collect.sending import send
from guestprobe.collect.sg3 import (
    INQUIRY,
    PR_READ_KEYS,
    PR_REPORT_CAPABILITIES,
    READ_CAPACITY_16,
    REPORT_OPCODES,
    WRITE_SAME16_LBA,
    interpret_command,
    vpd_probe,
    write_same_probe,
)
from guestprobe.collect.workers import probe_in_workers
from guestprobe.decode.persist import pr_in_data_from_hexdump

DEVICE = "/dev/sdb"
STD_INQ = bytes([0, 0, 6, 2, 0x5B - 0]) + bytes(range(5, 96))  # additional length 0x5b: 96 bytes
UA_SENSE = bytes([0x70, 0, 6, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0, 0, 0, 0, 0])
LBA_OOR_SENSE = bytes([0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0, 0, 0, 0, 0])


class _Function:
    """A stand-in for a ctypes function: argtypes/restype settable, calls a Python callable."""

    def __init__(self, call):
        self.call = call
        self.argtypes = None
        self.restype = None

    def __call__(self, *args):
        return self.call(*args)


class FakeLibrary:
    """libsgutils2 with a disk behind it. ``answers``: cdb[0] -> callable(cdb) -> answer tuple
    (category, data, sense, status, do_result)."""

    def __init__(self, answers, version=b"2.79 20210304"):
        self.answers = answers
        self.sent = []  # (cdb, data_in length, data_out bytes, timeout)
        self.opened = []
        self.objects = {}
        names = {
            "sg_lib_version": lambda: version,
            "scsi_pt_open_device": self._open,
            "scsi_pt_close_device": lambda fd: 0,
            "construct_scsi_pt_obj": self._construct,
            "destruct_scsi_pt_obj": self.objects.pop,
            "set_scsi_pt_cdb": lambda obj, buf, n: self._set(obj, "cdb", bytes(buf[:n])),
            "set_scsi_pt_sense": lambda obj, buf, n: self._set(obj, "sense", (buf, n)),
            "set_scsi_pt_data_in": lambda obj, buf, n: self._set(obj, "din", (buf, n)),
            "set_scsi_pt_data_out": lambda obj, buf, n: self._set(obj, "dout", bytes(buf[:n])),
            "do_scsi_pt": self._do,
            "get_scsi_pt_result_category": lambda obj: self.objects[obj]["category"],
            "get_scsi_pt_resid": lambda obj: self.objects[obj]["resid"],
            "get_scsi_pt_status_response": lambda obj: self.objects[obj]["status"],
            "get_scsi_pt_sense_len": lambda obj: len(self.objects[obj]["sense_out"]),
            "get_scsi_pt_os_err": lambda obj: 0,
            "get_scsi_pt_transport_err": lambda obj: 0,
            "sg_err_category_sense": self._category,
            "sg_get_sense_str": self._sense_str,
        }
        for name, call in names.items():
            setattr(self, name, _Function(call))

    def _open(self, name, read_only, verbose):
        self.opened.append((name.decode(), bool(read_only)))
        return 3

    def _construct(self):
        obj = len(self.objects) + 1000
        self.objects[obj] = {}
        return obj

    def _set(self, obj, key, value):
        self.objects[obj][key] = value

    def _do(self, obj, fd, timeout, verbose):
        state = self.objects[obj]
        din_buf, din_len = state.get("din", (None, 0))
        self.sent.append((state["cdb"], din_len, state.get("dout"), timeout))
        category, data, sense, status, result = self.answers[state["cdb"][0]](state["cdb"])
        data = data[:din_len]
        if data:
            ctypes.memmove(din_buf, data, len(data))
        sense_buf, _ = state["sense"]
        if sense:
            ctypes.memmove(sense_buf, sense, len(sense))
        state.update(category=category, status=status, sense_out=sense, resid=din_len - len(data))
        return result

    @staticmethod
    def _category(buf, n):
        sense = bytes(buf[:n])
        if sense[2] & 0xF == 6:
            return 6
        if (sense[12], sense[13]) == (0x21, 0):
            return 22
        return 5

    @staticmethod
    def _sense_str(leadin, buf, n, raw, blen, out):
        ctypes.memmove(out, b"Fixed format, current; Sense key: Illegal Request\n\0", 52)


def good(data):
    return lambda cdb: (sgpt.SCSI_PT_RESULT_GOOD, data, b"", 0, 0)


def sense(data):
    return lambda cdb: (sgpt.SCSI_PT_RESULT_SENSE, b"", data, 2, 0)


def engine_for(answers, fallback=None):
    library = FakeLibrary(answers)
    calls = []

    def cli(argv, timeout_s):
        calls.append(list(argv))
        return CommandResult(tuple(argv), 0, stdout=b"from the tool")

    pt = sgpt.PassThrough("libsgutils2-fake.so.2", loader=lambda path: library)
    return LibEngine(pt, fallback or cli), library, calls


def test_every_function_is_declared_and_the_release_is_read():
    library = FakeLibrary({})
    pt = sgpt.PassThrough("libsgutils2-1.46.so.2", loader=lambda path: library)
    assert pt.release == (1, 46)
    for name, (restype, argtypes) in sgpt._SIGNATURES.items():
        assert getattr(library, name).argtypes == argtypes, name
        assert getattr(library, name).restype is restype, name


def test_a_library_without_a_function_is_unusable():
    library = FakeLibrary({})
    del library.do_scsi_pt
    with pytest.raises(sgpt.LibraryUnusable, match="do_scsi_pt"):
        sgpt.PassThrough("libsgutils2.so.2", loader=lambda path: library)


def test_standard_inquiry_is_sent_as_sg_inq_sends_it():
    engine, library, calls = engine_for({0x12: good(STD_INQ)})
    result = engine.run(INQUIRY.argv(DEVICE), 15)
    cdbs = [sent[0] for sent in library.sent]
    # 36 bytes first, then the length the device announced (ADDITIONAL LENGTH + 5), 60 s each
    assert cdbs == [bytes([0x12, 0, 0, 0, 36, 0]), bytes([0x12, 0, 0, 0, 96, 0])]
    assert [sent[3] for sent in library.sent] == [60, 60]
    assert (result.exit_status, result.stdout, calls) == (0, STD_INQ, [])
    assert library.opened == [(DEVICE, True)]


def test_vpd_page_checks_the_supported_list_first():
    supported = bytes([0, 0, 0, 3, 0, 0x80, 0x83])
    serial = bytes([0, 0x80, 0, 4]) + b"SER1"
    engine, library, _ = engine_for(
        {0x12: lambda cdb: good(supported if cdb[2] == 0 else serial)(cdb)}
    )
    result = engine.run(vpd_probe(0x80).argv(DEVICE), 15)
    assert [sent[0] for sent in library.sent] == [
        bytes([0x12, 1, 0, 0, 252, 0]),
        bytes([0x12, 1, 0x80, 0, 252, 0]),
    ]
    assert result.stdout == serial
    missing = engine.run(vpd_probe(0xB2).argv(DEVICE), 15)
    assert missing.exit_status == 50 + 33  # sg_convert_errno(EDOM), as sg_vpd 1.46+
    assert missing.stdout == b""


def test_read_capacity_16_and_its_raw_32_bytes():
    answer = struct.pack(">QI", 0x1FFFF, 512) + bytes(4)  # 16 bytes: the rest is zero-filled
    engine, library, _ = engine_for({0x9E: good(answer)})
    result = engine.run(READ_CAPACITY_16.argv(DEVICE), 15)
    assert library.sent[0][:2] == (bytes([0x9E, 0x10]) + bytes(8) + bytes([0, 0, 0, 32, 0, 0]), 32)
    assert result.stdout == answer + bytes(16)


def test_pr_in_is_rendered_as_sg_persist_hex_hex_prints_it():
    keys = struct.pack(">II", 7, 16) + bytes.fromhex("0123456789abcdef") + bytes(7) + b"\x01"
    engine, library, _ = engine_for({0x5E: good(keys)})
    result = engine.run(PR_READ_KEYS.argv(DEVICE), 15)
    assert library.sent[0][0] == bytes([0x5E, 0, 0, 0, 0, 0, 0, 0x20, 0, 0])
    assert result.stdout == (
        b" 00     00 00 00 07 00 00 00 10  01 23 45 67 89 ab cd ef\n"
        b" 10     00 00 00 00 00 00 00 01\n"
    )
    assert pr_in_data_from_hexdump(result.stdout) == keys
    assert library.opened == [(DEVICE, True)]  # --readonly


def test_render_hex_round_trips_long_answers():
    data = bytes(range(256)) * 2
    text = render_hex(data)
    assert text.splitlines()[16].startswith(b" 100    ")  # three-digit offsets shift nothing
    assert pr_in_data_from_hexdump(text) == data


def test_report_capabilities_with_a_wrong_length_is_malformed():
    engine, _, _ = engine_for({0x5E: good(bytes([0, 6, 0, 0, 0, 0, 0, 0]))})
    result = engine.run(PR_REPORT_CAPABILITIES.argv(DEVICE), 15)
    assert result.exit_status == 97


def test_opcodes_sends_an_inquiry_first_as_sg_opcodes_1_44_and_later():
    rsoc = struct.pack(">I", 8) + bytes([0x12, 0, 0, 0, 0, 0, 0, 6]) + bytes(20)
    engine, library, _ = engine_for({0x12: good(STD_INQ[:36]), 0xA3: good(rsoc)})
    result = engine.run(REPORT_OPCODES.argv(DEVICE), 15)
    assert [sent[0][0] for sent in library.sent] == [0x12, 0xA3]
    assert library.sent[1][0] == bytes([0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0])
    assert result.stdout == rsoc[:12]


def test_write_same_sends_the_planned_far_lba_and_one_block_only():
    engine, library, _ = engine_for({0x93: sense(LBA_OOR_SENSE), 0x41: sense(LBA_OOR_SENSE)})
    spec = write_same_probe("write_same16_unmap_oor", 16, 4096, 15, unmap=True)
    result = engine.run(spec.argv(DEVICE), 15)
    cdb, din, dout, timeout = library.sent[0]
    assert cdb[0] == 0x93 and cdb[1] == 0x08
    assert struct.unpack(">QI", cdb[2:14]) == (WRITE_SAME16_LBA, 1)
    assert (din, dout, timeout) == (0, bytes(4096), 15)
    assert result.exit_status == 22
    ws10 = write_same_probe("write_same10_oor", 10, 512, 15, unmap=False)
    engine.run(ws10.argv(DEVICE), 15)
    cdb = library.sent[1][0]
    assert cdb[0] == 0x41 and struct.unpack(">IBH", cdb[2:9]) == ((1 << 32) - 16, 0, 1)
    assert library.opened[0] == (DEVICE, False)


@pytest.mark.parametrize(
    "argv",
    [
        ["sg_write_same", "--16", "--lba=5", "--num=0", "--xferlen=512", "--anchor", DEVICE],
        ["sg_inq", "--raw", DEVICE],  # 1.37's argv: sg_inq would also fetch the serial page
        ["sg_persist", "--out", "--register", DEVICE],
        ["sg_inq", "--raw", "--only", "/dev/nvme0n1"],
    ],
)
def test_argvs_it_does_not_know_exactly_go_to_the_tool(argv):
    engine, library, calls = engine_for({0x12: good(STD_INQ)})
    result = engine.run(argv, 15)
    assert calls == [argv] and result.stdout == b"from the tool" and library.sent == []


def test_an_os_error_of_sg_io_is_the_tools_to_report():
    engine, _, calls = engine_for(
        {0x12: lambda cdb: (sgpt.SCSI_PT_RESULT_OS_ERR, b"", b"", 0, -25)}
    )
    engine.run(INQUIRY.argv(DEVICE), 15)
    assert calls == [INQUIRY.argv(DEVICE)]


def test_unit_attention_is_sent_again_once_by_the_one_send():
    answers = [sense(UA_SENSE), good(struct.pack(">QI", 99, 512) + bytes(20))]

    def disk(cdb):
        return answers.pop(0)(cdb)

    engine, library, _ = engine_for({0x9E: disk})
    sent = send(engine.run, READ_CAPACITY_16.argv(DEVICE), 15, response_due=True)
    assert (sent.attempts, sent.exit_statuses, sent.outcome) == (2, [6, 0], "ok")
    assert "after a UNIT ATTENTION" in sent.exit_meaning
    assert len(library.sent) == 2


def test_read_full_status_goes_through_the_library_as_sg_persist_sends_it():
    """READ FULL STATUS is service action 3 with the other PR IN probes' allocation length,
    printed as sg_persist --hex --hex prints the whole parameter data."""
    from guestprobe.collect.sg3 import PR_READ_FULL_STATUS

    tid = bytes([0x05, 0, 0, 8]) + b"iqn.x:a\0"
    descriptor = bytes.fromhex("5646314132423033") + bytes(12) + struct.pack(">I", len(tid)) + tid
    data = struct.pack(">II", 2, len(descriptor)) + descriptor
    engine, library, _ = engine_for({0x5E: good(data)})
    result = engine.run(PR_READ_FULL_STATUS.argv(DEVICE), 15)
    assert library.sent[0][0] == bytes([0x5E, 3, 0, 0, 0, 0, 0, 0x20, 0, 0])
    assert pr_in_data_from_hexdump(result.stdout) == data


def announcing(first, again):
    """A device whose answer to a command changes once it is asked again (two fetches)."""
    answers = [first, again]

    def device(cdb):
        return good(answers.pop(0) if len(answers) > 1 else answers[0])(cdb)

    return device


def outcome_of(result):
    return interpret_command(result, 15, response_due=True)[0].value


def test_a_vpd_page_shorter_on_the_second_fetch_is_a_short_response_not_a_page():
    """Page 0x00 announced as 300 bytes, 2 bytes on the re-fetch: neither an ok 2-byte page nor,
    for a page checked against it, an exception."""
    announced = bytes([0, 0, 0x01, 0x28]) + bytes(248)  # PAGE LENGTH 296: 300 bytes
    engine, library, _ = engine_for({0x12: announcing(announced, b"\0\0")})
    result = engine.run(vpd_probe(0x00).argv(DEVICE), 15)
    assert [sent[0][3:5] for sent in library.sent] == [b"\0\xfc", b"\x01\x2c"]  # 252, then 300
    assert outcome_of(result) == "short_response"
    assert "2 bytes came" in result.short_response
    assert "asked again for 300" in result.short_response
    engine, _, _ = engine_for({0x12: announcing(announced, b"\0\0")})
    serial = engine.run(vpd_probe(0x80).argv(DEVICE), 15)
    assert outcome_of(serial) == "short_response" and serial.stdout == b""


@pytest.mark.parametrize(
    "again",
    [
        bytes([0, 0, 0x01, 0x28]) + bytes(100),  # the length again, not the bytes
        bytes([0, 0x83, 0x01, 0x28]) + bytes(296),  # another page
        bytes([0, 0, 0x02, 0x00]) + bytes(296),  # a longer length than the first answer's
    ],
    ids=["short", "another_page", "longer"],
)
def test_every_length_of_a_vpd_re_fetch_is_checked(again):
    engine, _, _ = engine_for({0x12: announcing(bytes([0, 0, 0x01, 0x28]) + bytes(248), again)})
    assert outcome_of(engine.run(vpd_probe(0x00).argv(DEVICE), 15)) == "short_response"


@pytest.mark.parametrize(
    "spec, opcode, answer",
    [
        (INQUIRY, 0x12, STD_INQ[:50]),  # announces 96
        (READ_CAPACITY_16, 0x9E, bytes(8)),
        (PR_READ_KEYS, 0x5E, struct.pack(">II", 7, 16) + bytes(8)),  # announces two keys, one
        (PR_REPORT_CAPABILITIES, 0x5E, bytes([0, 8, 0])),
        (REPORT_OPCODES, 0xA3, struct.pack(">I", 16) + bytes(8)),
    ],
    ids=["inquiry", "readcap16", "pr_read_keys", "pr_report_capabilities", "opcodes"],
)
def test_every_command_checks_the_length_its_device_gave(spec, opcode, answer):
    answers = {opcode: good(answer)}
    if opcode == 0xA3:
        answers[0x12] = good(STD_INQ[:36])
    engine, _, calls = engine_for(answers)
    result = engine.run(spec.argv(DEVICE), 15)
    assert outcome_of(result) == "short_response", result
    assert result.stdout == answer[: len(result.stdout)] and calls == []


def test_a_library_that_others_could_write_is_not_loaded_and_is_named(tmp_path, monkeypatch):
    """GUESTPROBE_LIBSGUTILS2 (or a library found) must be root's alone before a scan running
    as root loads it: its constructors would run as root."""
    monkeypatch.setattr(sgpt.os, "geteuid", lambda: 0)
    directory = tmp_path / "lib"
    directory.mkdir()
    library = directory / "libsgutils2.so.2"
    library.write_bytes(b"\x7fELF, or its constructor")
    library.chmod(0o666)
    monkeypatch.setenv("GUESTPROBE_LIBSGUTILS2", str(library))
    with pytest.raises(sgpt.LibraryUnusable) as refused:
        sgpt.PassThrough()
    assert f"not loaded: {library}" in str(refused.value)
    assert "writable by group or others" in str(refused.value) or "not owned by root" in str(
        refused.value
    )
    library.chmod(0o644)
    directory.chmod(0o777)  # a directory someone else could swap the file in
    reason = sgpt.untrusted_reason(str(library))
    assert reason is not None and (f"{directory} is" in reason or "not owned by root" in reason)
    assert sgpt.untrusted_reason(os.path.realpath("/bin/sh")) is None  # root's, 0755 up to /


@pytest.mark.skipif(os.geteuid() != 0, reason="needs files owned by root (CI runs as root)")
def test_a_library_below_a_sticky_directory_like_tmp_is_loaded_when_the_rest_is_roots(tmp_path):
    """A checkout under /tmp (1777): nobody else may rename or remove root's entries there."""
    sticky = tmp_path / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)
    library = sticky / "checkout" / "libsgutils2.so.2"
    library.parent.mkdir()
    library.write_bytes(b"\x7fELF")
    library.chmod(0o644)
    assert sgpt.untrusted_reason(str(library)) is None
    sticky.chmod(0o777)  # not sticky: anyone may swap the checkout folder
    assert f"{sticky} is writable by group or others" in sgpt.untrusted_reason(str(library))


def test_a_library_without_a_function_names_the_candidate(monkeypatch):
    monkeypatch.setenv("GUESTPROBE_LIBSGUTILS2", "/opt/sg3/libsgutils2.so.2")
    library = FakeLibrary({})
    del library.do_scsi_pt
    named = r"^/opt/sg3/libsgutils2\.so\.2 has no do_scsi_pt"
    with pytest.raises(sgpt.LibraryUnusable, match=named):
        sgpt.PassThrough(loader=lambda path: library)


def test_a_short_page_in_a_worker_costs_that_probe_only():
    """The scan's way: the lib engine in a forked worker, a whole disk's plan."""
    announced = bytes([0, 0, 0x01, 0x28]) + bytes(248)
    invalid_op = bytes([0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0])

    def inquiry(cdb):
        if cdb[1] == 0:
            return good(STD_INQ)(cdb)
        return good(announced if cdb[3:5] == b"\0\xfc" else b"\0\0")(cdb)

    engine, _, calls = engine_for(
        {
            0x12: inquiry,
            0x9E: good(struct.pack(">QI", 64 * 2048 - 1, 512) + bytes(20)),
            0x5E: sense(invalid_op),
            0xA3: sense(invalid_op),
            0x93: sense(LBA_OOR_SENSE),
            0x41: sense(LBA_OOR_SENSE),
        }
    )
    disk = BlockDisk(
        name="sdb",
        dev_path=DEVICE,
        sysfs_path="/sys/devices/x/block/sdb",
        size_bytes=64 * 1024 * 1024,
        queue={"logical_block_size": 512},
    )
    options = ProbeOptions(engine="cli", timeout_s=5, use_sysfs_pages=False)
    got = probe_in_workers([disk], options, engine.run, lambda d: lambda: (d.size_bytes, 512), 1)
    probes = {p.name: p for p in got[0][0]}
    assert probes["vpd_0x00"].outcome == "short_response"
    assert "2 bytes came" in probes["vpd_0x00"].exit_meaning
    assert probes["vpd_0x80"].outcome == "short_response"  # checked against 0x00: short again
    assert probes["readcap16"].outcome == "ok"
    assert probes["write_same16_oor"].outcome == "lba_out_of_range"
    assert not [p.name for p in probes.values() if p.skip_code == "disk_unreachable"]
    assert not [p.name for p in probes.values() if p.outcome == "other_error"]
    assert calls == []
