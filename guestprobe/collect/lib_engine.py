"""The lib engine: a planned sg3_utils argv sent through libsgutils2, as the tool would send it.

:meth:`LibEngine.run` has the signature of :func:`guestprobe.collect.process.run`: it takes the
very argv the probe plan built (and the report keeps, so that a support engineer can rerun it by
hand), reads from it what the tool would send — the same CDBs, allocation lengths, data direction,
timeouts and open mode, as in the tools' sources of sg3_utils 1.37, 1.44 and 1.46 to 1.48
(src/sg_inq.c, sg_vpd.c + sg_vpd_common.c, sg_readcap.c, sg_persist.c, sg_opcodes.c,
sg_write_same.c, lib/sg_cmds_basic.c, sg_cmds_basic2.c and sg_cmds_extra.c) — and answers
with the :class:`CommandResult` the tool would have given: its exit status (the library's own
sense category, so release differences in categories come from the library), the bytes it prints
with ``--raw`` (or, for sg_persist, the ``--hex --hex`` dump it prints), and an
stderr-equivalent line with the decoded sense.

The engine changes how a planned probe is sent, never what: the LBA, block count and length of a
WRITE SAME come from the argv, and an argv it does not know exactly is handed to the executable
(``fallback``). So are the paths where a tool does more than one command's worth of work in ways
that differ between releases: an operating-system error of SG_IO (sg_inq then tries ATA IDENTIFY;
exit statuses of OS errors changed in 1.43), a transport error, a status other than GOOD, CHECK
CONDITION and RESERVATION CONFLICT, a device that does not open, and NVMe namespaces (the tools
take sg3_utils' NVMe paths). The answer then is the tool's own, at a process's cost.

Where the library's release (``PassThrough.release``) is older than 1.43 (1.37, RHEL 7.9) its
tools send and print otherwise (``_BEFORE_1_43``): sg_vpd fetches the page without the supported
pages first and prints as many bytes as the page's header says; each library function passes on
only some sense categories and turns the rest, and RESERVATION CONFLICT, into -1, which the tools
exit with as 99 (sg_opcodes: 255; sg_inq then tries ATA IDENTIFY: handed to the tool); sg_opcodes
sends its INQUIRY on a read-only open of its own; sg_persist prints the PR IN header as text and
the dump after it untrimmed (:func:`render_hex_before_1_43`). 1.44 sends as 1.46 does.
"""


import struct
import time
import typing

from guestprobe.collect import process
from guestprobe.collect.process import CommandResult
from guestprobe.collect.sg3 import (
    SG_LIB_CAT_MALFORMED,
    SG_LIB_CAT_OTHER,
    SG_LIB_CAT_RES_CONFLICT,
    SG_LIB_OS_BASE_ERR,
    vpd_shortfall,
)
from guestprobe.collect.sgpt import (
    SAM_STAT_RESERVATION_CONFLICT,
    SCSI_PT_RESULT_GOOD,
    SCSI_PT_RESULT_SENSE,
    SCSI_PT_RESULT_STATUS,
    LibraryUnusable,
    PassThrough,
)
from guestprobe.decode.hexdump import format_hexdump, format_hexdump_before_1_43

Runner = typing.Callable[[typing.Sequence[str], float], CommandResult]

DEF_PT_TIMEOUT = 60  # every tool's timeout for these commands (DEF_PT_TIMEOUT, DEF_TIMEOUT_SECS)
STD_INQ_LEN = 36  # SAFE_STD_INQ_RESP_LEN
VPD_ALLOC_LEN = 252  # sg_vpd DEF_ALLOC_LEN
VPD_MAX_ALLOC_LEN = 0xC000 + 0x80
RCAP16_REPLY_LEN = 32
PR_IN_ALLOC_LEN = 8192  # sg_persist MX_ALLOC_LEN
RSOC_ALLOC_LEN = 8192  # sg_opcodes MX_ALLOC_LEN
SG_LIB_CAT_NO_SENSE = 20
SG_LIB_CAT_RECOVERED = 21
EDOM = 33
PR_IN_SERVICE_ACTIONS = {
    "--read-keys": 0,
    "--read-reservation": 1,
    "--report-capabilities": 2,
    "--read-full-status": 3,
}

# the releases whose tools' sources the sequences below were read from (libsgutils2's release)
VERIFIED_RELEASES = ((1, 37), (1, 44), (1, 46), (1, 47), (1, 48))
# the tools' releases a library's release is the same code as (sg_inq 1.98 is 1.43 or 1.44)
SAME_TOOLS = {(1, 44): ((1, 43), (1, 44))}
FAILED = -1  # a library function's "other failure" before 1.43
# Before 1.43 (1.37) each library function passes on these sense categories only (besides NO
# SENSE and RECOVERED, which are success); any other, and RESERVATION CONFLICT, is FAILED
_BEFORE_1_43 = {
    "inquiry": frozenset({5, 9, 11}),  # sg_ll_inquiry, sg_simple_inquiry
    "readcap16": frozenset({2, 5, 6, 9, 11}),  # sg_ll_readcap_16
    "pr_in": frozenset({5, 6, 9, 11}),  # sg_ll_persistent_reserve_in
    "rsoc": frozenset({2, 5, 6, 9, 11}),  # sg_opcodes do_rsoc
    "write_same": frozenset({2, 3, 5, 6, 9, 11}),  # sg_write_same do_write_same
}


class _Delegate(Exception):
    """This argv, or what the device answered, is for the executable to handle."""


class _Answer:
    __slots__ = ("exit_status", "short", "stderr", "stdout")

    def __init__(
        self, exit_status: int, stdout: bytes = b"", stderr: str = "", short: "str | None" = None
    ) -> None:
        self.exit_status, self.stdout, self.stderr = exit_status, stdout, stderr
        self.short = short  # the device sent fewer bytes than its own length says: why


def _short(what: str, due: int, came: bytes) -> "_Answer":
    """A response shorter than the device itself said: the bytes that came, as evidence."""
    return _Answer(SG_LIB_CAT_MALFORMED, came, short=f"{what}: {due} bytes due, {len(came)} came")


def render_hex(data: bytes) -> bytes:
    """``data`` as sg3_utils' hex2stdout(data, len, 1) prints it (sg_persist --hex --hex)."""
    return format_hexdump(data, no_ascii=1).encode()


def render_hex_before_1_43(data: bytes) -> bytes:
    """``data`` as dStrHex(data, len, 1) of sg3_utils 1.37 prints it (sg_persist --hex)."""
    return format_hexdump_before_1_43(data).encode()


def render_pr_in_before_1_43(buffer: bytes) -> bytes:
    """What sg_persist 1.37 --hex prints for READ KEYS / READ RESERVATION (prin_work)."""
    generation, additional = struct.unpack(">Ii", buffer[:8])
    text = f"  PR generation=0x{generation:x}, "
    if additional <= 0:
        text += f"Additional length={additional}\n"
    if additional > PR_IN_ALLOC_LEN - 8:
        text += f"Additional length too large={additional}, truncate\n"
        body = buffer[8:PR_IN_ALLOC_LEN]
    else:
        text += f"Additional length={additional}\n"
        body = buffer[8 : 8 + max(0, additional)]
    return text.encode() + render_hex_before_1_43(body)


def _options(argv: "typing.Sequence[str]") -> "tuple[str, str, list[str]]":
    if len(argv) < 2 or not argv[-1].startswith("/dev/"):
        raise _Delegate
    return argv[0].rsplit("/", 1)[-1], argv[-1], list(argv[1:-1])


def _value(options: "list[str]", *prefixes: str) -> "str | None":
    for option in options:
        for prefix in prefixes:
            if option.startswith(prefix):
                return option[len(prefix) :]
    return None


class LibEngine:
    """Sends the probe argvs through libsgutils2; see the module docstring."""

    def __init__(self, pt: "PassThrough", fallback: "Runner" = process.run) -> None:
        self.pt = pt
        self.fallback = fallback
        self.delegated = 0  # argvs handed to the executable
        release = getattr(pt, "release", None)
        self.before_1_43 = release is not None and release < (1, 43)
        self.rsoc_length_checked = release is None or release >= (1, 48)  # sg_opcodes 1.48
        self._last: "typing.Any" = None  # the last PtAnswer: its whole data-in buffer

    # -- the Runner ------------------------------------------------------------------------------
    def run(self, argv: "typing.Sequence[str]", timeout_s: float) -> "CommandResult":
        argv = tuple(argv)
        start = time.monotonic()
        try:
            answer = self._answer(argv)
        except _Delegate:
            self.delegated += 1
            return self.fallback(argv, timeout_s)
        return CommandResult(
            argv=argv,
            exit_status=answer.exit_status,
            stdout=answer.stdout,
            stderr=answer.stderr.encode("utf-8", "replace"),
            duration_s=time.monotonic() - start,
            short_response=answer.short,
            extra={"engine": "lib"},
        )

    def _answer(self, argv: "typing.Sequence[str]") -> "_Answer":
        tool, device, options = _options(argv)
        if device.rsplit("/", 1)[-1].startswith("nvme"):
            raise _Delegate  # sg3_utils' NVMe paths in the tools
        handler = {
            "sg_inq": self._inquiry,
            "sg_vpd": self._vpd,
            "sg_readcap": self._readcap,
            "sg_persist": self._persist,
            "sg_opcodes": self._opcodes,
            "sg_write_same": self._write_same,
        }.get(tool)
        if handler is None:
            raise _Delegate
        return handler(device, options)

    # -- one command, judged as sg_cmds_process_resp and the tools judge it ---------------------
    def _open(self, device: str, read_only: bool) -> int:
        fd = self.pt.open(device, read_only)
        if fd < 0:
            raise _Delegate  # the tools' open errors differ between releases
        return fd

    def _command(
        self,
        fd: int,
        cdb: bytes,
        data_in: int = 0,
        data_out: "bytes | None" = None,
        timeout_s: int = DEF_PT_TIMEOUT,
        leadin: str = "",
        kind: str = "",
    ) -> "tuple[int, bytes, str]":
        """(exit status the tool gives for this command alone, data in, stderr text); before
        1.43, FAILED for what the library function ``kind`` does not pass on."""
        answer = self._last = self.pt.send(fd, cdb, timeout_s, data_in, data_out)
        passed = _BEFORE_1_43.get(kind) if self.before_1_43 else None
        if answer.do_result != 0:
            raise _Delegate  # an OS error of SG_IO, bad parameters, the library's own timeout
        if answer.category == SCSI_PT_RESULT_GOOD:
            return 0, answer.data, ""
        if answer.category == SCSI_PT_RESULT_SENSE:
            category = self.pt.sense_category(answer.sense)
            if category in (SG_LIB_CAT_NO_SENSE, SG_LIB_CAT_RECOVERED):
                return 0, answer.data, ""
            if passed is not None and category not in passed:
                category = FAILED
            return category, answer.data, f"{leadin}: {self.pt.sense_text(answer.sense)}"
        if (
            answer.category == SCSI_PT_RESULT_STATUS
            and answer.status == SAM_STAT_RESERVATION_CONFLICT
        ):
            status = SG_LIB_CAT_RES_CONFLICT if passed is None else FAILED
            return status, b"", f"{leadin}: reservation conflict\n"
        raise _Delegate  # transport errors, BUSY, TASK SET FULL...: as the tool says

    def _closing(
        self, device: str, read_only: bool, work: "typing.Callable[[int], _Answer]"
    ) -> "_Answer":
        fd = self._open(device, read_only)
        try:
            return work(fd)
        finally:
            self.pt.close(fd)

    # -- the tools -------------------------------------------------------------------------------
    def _inquiry(self, device: str, options: "list[str]") -> "_Answer":
        """sg_inq --raw --only: std_inq_process() of src/sg_inq.c."""
        if self.before_1_43:
            return self._inquiry_before_1_43(device, options)
        if sorted(options) != ["--only", "--raw"]:
            raise _Delegate  # without --only sg_inq also fetches the serial number page

        def work(fd: int) -> "_Answer":
            status, data, err = self._command(
                fd, _inquiry_cdb(False, 0, STD_INQ_LEN), STD_INQ_LEN, leadin="inquiry"
            )
            if status:
                return _Answer(status, b"", err)
            if len(data) < 5:
                return _Answer(SG_LIB_CAT_MALFORMED, b"", "inquiry: got too few bytes\n")
            wanted, asked = data[4] + 5, STD_INQ_LEN
            if STD_INQ_LEN < wanted < 256:
                asked = wanted
                status, data, err = self._command(
                    fd, _inquiry_cdb(False, 0, wanted), wanted, leadin="inquiry"
                )
                if status:
                    return _Answer(
                        SG_LIB_CAT_OTHER, b"", f"second INQUIRY ({wanted} byte) failed\n"
                    )
            if len(data) < min(wanted, asked):
                return _short("standard INQUIRY", min(wanted, asked), data)
            return _Answer(0, data[:wanted])

        return self._closing(device, True, work)

    def _old_inquiry(self, fd: int, evpd: bool, page: int, length: int) -> "tuple[int, bytes, str]":
        """sg_ll_inquiry() before 1.43: fewer than 4 bytes with GOOD status are malformed."""
        status, data, err = self._command(
            fd, _inquiry_cdb(evpd, page, length), length, leadin="inquiry", kind="inquiry"
        )
        if status == 0 and self._last.category == SCSI_PT_RESULT_GOOD and len(data) < 4:
            return SG_LIB_CAT_MALFORMED, data, f"inquiry: got too few bytes ({len(data)})\n"
        return status, data, err

    def _inquiry_before_1_43(self, device: str, options: "list[str]") -> "_Answer":
        """sg_inq --raw --verbose of 1.37: process_std_inq(); with --raw no serial number page."""
        if sorted(options) != ["--raw", "--verbose"]:
            raise _Delegate

        def work(fd: int) -> "_Answer":
            status, data, err = self._old_inquiry(fd, False, 0, STD_INQ_LEN)
            if status == FAILED:
                raise _Delegate  # sg_inq tries ATA IDENTIFY
            if status:
                return _Answer(status, b"", err)
            asked, buffer = STD_INQ_LEN, self._last.buffer
            wanted = buffer[4] + 5
            if STD_INQ_LEN < wanted < 256:
                status, data, err = self._old_inquiry(fd, False, 0, wanted)
                if status:
                    return _Answer(
                        SG_LIB_CAT_OTHER, b"", f"second INQUIRY ({wanted} byte) failed\n"
                    )
                asked, buffer = wanted, self._last.buffer
                wanted = buffer[4] + 5  # "consecutive INQUIRYs yield different lengths"
            shown = buffer[: min(asked, wanted, len(data))]
            return _Answer(0, shown + _identification_before_1_43(shown))

        return self._closing(device, True, work)

    def _vpd_before_1_43(self, fd: int, page: int) -> "_Answer":
        """svpd_decode_t10() of sg_vpd 1.37: the page alone, as long as its header says."""
        status, _, err = self._old_inquiry(fd, True, page, VPD_ALLOC_LEN)
        if status:
            return _Answer(SG_LIB_CAT_OTHER if status == FAILED else status, b"", err)
        buffer = self._last.buffer
        if buffer[1] != page:
            return _Answer(
                SG_LIB_CAT_MALFORMED,
                b"",
                "invalid VPD response; probably a STANDARD INQUIRY response\n",
            )
        length = struct.unpack(">H", buffer[2:4])[0] + 4
        if length > VPD_ALLOC_LEN:
            if length >= VPD_MAX_ALLOC_LEN:
                return _Answer(0, buffer[:VPD_ALLOC_LEN], ">>> warning: response length longer\n")
            status, _, err = self._old_inquiry(fd, True, page, length)
            if status:
                return _Answer(SG_LIB_CAT_OTHER if status == FAILED else status, b"", err)
            buffer = self._last.buffer
        return _Answer(0, buffer[:length])

    def _vpd_fetch(self, fd: int, page: int) -> "_Answer":
        """vpd_fetch_page() of src/sg_vpd_common.c, without --maxlen; a re-fetch whose header
        or length does not hold up is a short response, not a page (the tool trusts it)."""
        status, data, err = self._command(
            fd, _inquiry_cdb(True, page, VPD_ALLOC_LEN), VPD_ALLOC_LEN, leadin="inquiry"
        )
        if status:
            return _Answer(status, b"", err)
        if len(data) < 4:
            return _Answer(SG_LIB_CAT_MALFORMED, b"", f"VPD response too short (len={len(data)})\n")
        if data[1] != page or (page == 0x80 and data[2] == 2 and data[3] == 2):
            return _Answer(
                SG_LIB_CAT_MALFORMED,
                b"",
                "invalid VPD response; probably a STANDARD INQUIRY response\n",
            )
        length = struct.unpack(">H", data[2:4])[0] + 4
        if length <= len(data):
            return _Answer(0, data[:length])
        if length > VPD_MAX_ALLOC_LEN:
            return _Answer(
                SG_LIB_CAT_MALFORMED,
                b"",
                f"response length too long: {length} > {VPD_MAX_ALLOC_LEN}\n",
            )
        status, data, err = self._command(
            fd, _inquiry_cdb(True, page, length), length, leadin="inquiry"
        )
        if status:
            return _Answer(status, b"", err)
        problem = vpd_shortfall(page, data)
        if problem is not None:
            short = f"{problem} (asked again for {length})"
            return _Answer(SG_LIB_CAT_MALFORMED, data, short=short)
        return _Answer(0, data[: struct.unpack(">H", data[2:4])[0] + 4])

    def _vpd(self, device: str, options: "list[str]") -> "_Answer":
        """sg_vpd --page=0xNN --raw: the supported pages first (unless 0x00), then the page."""
        page_text = _value(options, "--page=")
        if page_text is None or sorted(options) != sorted(["--page=" + page_text, "--raw"]):
            raise _Delegate
        page = int(page_text, 0)

        def work(fd: int) -> "_Answer":
            if self.before_1_43:
                return self._vpd_before_1_43(fd, page)
            if page != 0x00:
                supported = self._vpd_fetch(fd, 0x00)
                if supported.short is not None:
                    return _Answer(supported.exit_status, b"", short=supported.short)
                if supported.exit_status:
                    return supported
                listed = supported.stdout  # at least its 4-byte header: _vpd_fetch checked
                if page not in listed[4 : 4 + min(listed[3], len(listed) - 4)]:
                    return _Answer(SG_LIB_OS_BASE_ERR + EDOM, b"", "")
            return self._vpd_fetch(fd, page)

        return self._closing(device, True, work)

    def _readcap(self, device: str, options: "list[str]") -> "_Answer":
        """sg_readcap --long --raw [--readonly]: READ CAPACITY(16), 32 bytes printed."""
        if not {"--long", "--raw"} <= set(options) <= {"--long", "--raw", "--readonly"}:
            raise _Delegate
        cdb = bytes([0x9E, 0x10]) + bytes(8) + struct.pack(">I", RCAP16_REPLY_LEN) + bytes(2)

        def work(fd: int) -> "_Answer":
            status, data, err = self._command(
                fd, cdb, RCAP16_REPLY_LEN, leadin="READ CAPACITY (16)", kind="readcap16"
            )
            if status:
                return _Answer(SG_LIB_CAT_OTHER if status == FAILED else status, b"", err)
            if len(data) < 12:  # RETURNED LOGICAL BLOCK ADDRESS and BLOCK LENGTH, at least
                return _short("READ CAPACITY(16)", 12, data)
            return _Answer(0, data.ljust(RCAP16_REPLY_LEN, b"\0"))  # dStrRaw(resp_buff, 32)

        return self._closing(device, "--readonly" in options, work)

    def _persist(self, device: str, options: "list[str]") -> "_Answer":
        """sg_persist [--readonly] --no-inquiry --in --hex --hex --<sa>: prin_work()."""
        actions = [o for o in options if o in PR_IN_SERVICE_ACTIONS]
        common = ["--no-inquiry", "--in", "--hex", "--hex"]
        rest = [o for o in options if o not in actions and o != "--readonly"]
        if len(actions) != 1 or sorted(rest) != sorted(common):
            raise _Delegate
        action = PR_IN_SERVICE_ACTIONS[actions[0]]
        cdb = bytes([0x5E, action, 0, 0, 0, 0, 0]) + struct.pack(">H", PR_IN_ALLOC_LEN) + b"\0"

        def work(fd: int) -> "_Answer":
            status, data, err = self._command(
                fd, cdb, PR_IN_ALLOC_LEN, leadin="persistent reserve in", kind="pr_in"
            )
            if status:
                return _Answer(SG_LIB_CAT_OTHER if status == FAILED else status, b"", err)
            if len(data) < 8:  # the header; REPORT CAPABILITIES: the whole of it
                return _short("PERSISTENT RESERVE IN", 8, data)
            buffer = data.ljust(PR_IN_ALLOC_LEN, b"\0")
            old = self.before_1_43
            if action == 2:
                if buffer[1] != 8:
                    return _Answer(
                        SG_LIB_CAT_MALFORMED,
                        b"" if old else render_hex(buffer[: buffer[1]]),
                        "Unexpected response for PRIN Report Capabilities\n",
                    )
                return _Answer(0, (render_hex_before_1_43 if old else render_hex)(buffer[:8]))
            due = min(struct.unpack(">I", buffer[4:8])[0] + 8, PR_IN_ALLOC_LEN)
            if len(data) < due:  # sg_persist would print zeros for the missing keys
                return _short("PERSISTENT RESERVE IN (ADDITIONAL LENGTH)", due, data)
            if old:
                return _Answer(0, render_pr_in_before_1_43(buffer))
            return _Answer(0, render_hex(buffer[:due]))

        return self._closing(device, "--readonly" in options, work)

    def _opcodes(self, device: str, options: "list[str]") -> "_Answer":
        """sg_opcodes --no-inquiry --raw: a standard INQUIRY first (--no-inquiry is ignored
        without --pdt= since 1.44), then REPORT SUPPORTED OPERATION CODES, all commands."""
        if sorted(options) != ["--no-inquiry", "--raw"]:
            raise _Delegate
        cdb = bytes([0xA3, 0x0C, 0, 0, 0, 0]) + struct.pack(">I", RSOC_ALLOC_LEN) + bytes(2)
        if self.before_1_43:
            return self._opcodes_before_1_43(device, cdb)

        def work(fd: int) -> "_Answer":
            status, _, _ = self._command(
                fd, _inquiry_cdb(False, 0, STD_INQ_LEN), STD_INQ_LEN, leadin="inquiry"
            )
            if status:
                return _Answer(
                    SG_LIB_CAT_OTHER,
                    b"",
                    f"sg_opcodes: {device} doesn't respond to a SCSI INQUIRY\n",
                )
            status, data, err = self._command(
                fd, cdb, RSOC_ALLOC_LEN, leadin="Report supported operation codes"
            )
            if status:
                return _Answer(status, b"", err)
            if len(data) < 4 and not self.rsoc_length_checked:
                return _Answer(0, data)  # before 1.48: the bytes that came, whatever their header
            if len(data) < 4:
                return _Answer(
                    SG_LIB_CAT_OTHER, b"", f"Actual length of response [{len(data)}] is too small\n"
                )
            due = min(struct.unpack(">I", data[:4])[0] + 4, RSOC_ALLOC_LEN)
            if len(data) < due:
                return _short("REPORT SUPPORTED OPERATION CODES (COMMAND DATA LENGTH)", due, data)
            return _Answer(0, data[:due])

        return self._closing(device, True, work)  # opened read-only (1.44 to 1.48)

    def _opcodes_before_1_43(self, device: str, cdb: bytes) -> "_Answer":
        """sg_opcodes 1.37: a standard INQUIRY on a read-only open of its own, then REPORT
        SUPPORTED OPERATION CODES on a read-write one, printed as long as its header says."""
        status = self._closing(
            device, True, lambda fd: _Answer(self._old_inquiry(fd, False, 0, STD_INQ_LEN)[0])
        ).exit_status
        if status:
            return _Answer(
                SG_LIB_CAT_OTHER, b"", f"sg_opcodes: {device} doesn't respond to a SCSI INQUIRY\n"
            )

        def work(fd: int) -> "_Answer":
            status, _, err = self._command(
                fd, cdb, RSOC_ALLOC_LEN, leadin="Report Supported Operation Codes", kind="rsoc"
            )
            if status:
                return _Answer(255 if status == FAILED else status, b"", err)  # main returns -1
            buffer = self._last.buffer
            length = min(struct.unpack(">i", buffer[:4])[0] + 4, RSOC_ALLOC_LEN)
            return _Answer(0, buffer[: max(0, length)])

        return self._closing(device, False, work)

    def _write_same(self, device: str, options: "list[str]") -> "_Answer":
        """sg_write_same --16|--10 [--unmap] --lba= --num= --xferlen= --timeout=|-t: one command.

        Everything comes from the argv the plan built (its far LBA, one block); nothing else is
        accepted, so the engine can send no other WRITE SAME than the plan's.
        """
        known = {"--16", "--10", "--unmap"} | ({"--verbose"} if self.before_1_43 else set())
        lba, num = _value(options, "--lba="), _value(options, "--num=")
        xferlen, timeout = _value(options, "--xferlen="), _value(options, "--timeout=", "-t")
        valued = [o for o in options if o not in known]
        if (
            None in (lba, num, xferlen, timeout)
            or len(valued) != 4
            or ("--16" in options) == ("--10" in options)
        ):
            raise _Delegate
        lba_n, num_n, length, timeout_n = int(lba), int(num), int(xferlen), int(timeout)  # type: ignore[arg-type]
        unmap = 0x08 if "--unmap" in options else 0
        if "--16" in options:
            cdb = bytes([0x93, unmap]) + struct.pack(">QI", lba_n, num_n) + bytes(2)
        else:
            if unmap or lba_n + num_n > 0xFFFFFFFF or num_n > 0xFFFF:
                raise _Delegate  # sg_write_same would switch to WRITE SAME(16)
            cdb = bytes([0x41, 0]) + struct.pack(">IBH", lba_n, 0, num_n) + b"\0"

        def work(fd: int) -> "_Answer":
            status, _, err = self._command(
                fd,
                cdb,
                data_out=bytes(length),
                timeout_s=timeout_n,
                leadin="Write same",
                kind="write_same",
            )
            return _Answer(SG_LIB_CAT_OTHER if status == FAILED else status, b"", err)

        return self._closing(device, False, work)


def _identification_before_1_43(data: bytes) -> bytes:
    """The lines sg_inq 1.37 prints after the --raw bytes (process_std_inq: not kept from --raw)."""
    if len(data) <= 8:
        return b" Inquiry response length=%d, no vendor, product or revision data\n" % len(data)

    def field(start: int, end: int) -> bytes:
        return data[start:end].split(b"\0", 1)[0]  # printf %s of the field, cut at act_len

    lines = b" Vendor identification: " + field(8, 16).replace(b"\t", b" ") + b"\n"
    product, revision = (
        b"<none>" if len(data) <= start else field(start, start + width)
        for start, width in ((16, 16), (32, 4))
    )
    lines += b" Product identification: " + product + b"\n"
    return lines + b" Product revision level: " + revision + b"\n"


def _inquiry_cdb(evpd: bool, page: int, length: int) -> bytes:
    return bytes([0x12, 1 if evpd else 0, page]) + struct.pack(">H", length) + b"\0"


class EngineChoice:
    """Which engine sends the probes, and why (the report's ``scan.engine``)."""

    def __init__(self, name: str, reason: str, pt: "PassThrough | None" = None) -> None:
        self.name, self.reason, self.pt = name, reason, pt

    def to_dict(self) -> "dict[str, typing.Any]":
        result: "dict[str, typing.Any]" = {"name": self.name, "reason": self.reason}
        if self.pt is not None:
            result["library"] = self.pt.path
            result["library_version"] = self.pt.version
        return result


def choose_engine(
    requested: str,
    tools_release: "tuple[int, int] | None",
    load: "typing.Callable[[], PassThrough]" = PassThrough,
) -> "EngineChoice":
    """``lib`` (asked for, the default) where libsgutils2 loads, is a release whose tools'
    sequences the engine sends, and is the same release as the tools the argvs are for;
    otherwise ``cli``, saying why."""
    if requested == "cli":
        return EngineChoice("cli", "asked for (--engine cli)")
    try:
        pt = load()
    except LibraryUnusable as exc:
        return EngineChoice("cli", str(exc))
    if pt.release is None:
        return EngineChoice(
            "cli", f"libsgutils2 version {pt.version!r} ({pt.path}) is not one guestprobe knows"
        )
    if pt.release not in VERIFIED_RELEASES:
        known = ", ".join(f"{major}.{minor}" for major, minor in VERIFIED_RELEASES)
        return EngineChoice(
            "cli",
            f"libsgutils2 is sg3_utils {pt.release[0]}.{pt.release[1]}: the lib engine sends the"
            f" command sequences of the {known} tools only",
        )
    if tools_release not in SAME_TOOLS.get(pt.release, (pt.release,)):
        tools = "unknown" if tools_release is None else f"{tools_release[0]}.{tools_release[1]}"
        return EngineChoice(
            "cli",
            f"libsgutils2 is sg3_utils {pt.release[0]}.{pt.release[1]} but the tools on PATH"
            f" are {tools}: the probes are sent as those tools send them",
        )
    release = f"{pt.release[0]}.{pt.release[1]}"
    return EngineChoice("lib", f"libsgutils2 of sg3_utils {release} loads", pt)
