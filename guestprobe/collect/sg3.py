"""sg3_utils probes: which tool and argv answers which question, and what its exit status means.

This module only *builds* argv lists and *classifies* exit statuses; starting the process is
:mod:`guestprobe.collect.process`'s job and decoding the bytes is :mod:`guestprobe.decode`'s.

Output formats are chosen to be byte-exact and stable across sg3_utils 1.44 (RHEL 8), 1.47
(RHEL 9) and 1.48+: ``--raw`` (binary) where the tool has it, and for ``sg_persist`` (which has
no ``--raw``) ``--hex --hex``, which since 1.44 dumps the *whole* parameter data, header included,
as a plain hex dump. What older releases (1.37, RHEL 7.9) do differently, and how each argv is
adapted to them: :mod:`guestprobe.collect.sg3_releases`.
"""


import errno
import os
import re
from dataclasses import dataclass
from enum import Enum

from guestprobe.collect.process import OUTPUT_LIMIT, TOTAL_OUTPUT_LIMIT, CommandResult

# sg3_utils exit statuses (sg_lib.h SG_LIB_*). 50 + errno for OS errors.
SG_LIB_SYNTAX_ERROR = 1
SG_LIB_CAT_NOT_READY = 2
SG_LIB_CAT_MEDIUM_HARD = 3
SG_LIB_CAT_ILLEGAL_REQ = 5
SG_LIB_CAT_UNIT_ATTENTION = 6
SG_LIB_CAT_DATA_PROTECT = 7
SG_LIB_CAT_INVALID_OP = 9
SG_LIB_CAT_ABORTED_COMMAND = 11
SG_LIB_FILE_ERROR = 15
SG_LIB_LBA_OUT_OF_RANGE = 22
SG_LIB_CAT_RES_CONFLICT = 24
SG_LIB_CAT_TIMEOUT = 33
SG_LIB_OS_BASE_ERR = 50
SG_LIB_CAT_MALFORMED = 97
SG_LIB_CAT_OTHER = 99


class Outcome(str, Enum):
    """What a probe's answer means, independent of which tool sent it."""

    OK = "ok"
    NOT_SUPPORTED = "not_supported"  # INVALID OPCODE or ILLEGAL REQUEST (invalid field)
    LBA_OUT_OF_RANGE = "lba_out_of_range"
    RESERVATION_CONFLICT = "reservation_conflict"
    NOT_READY = "not_ready"
    UNIT_ATTENTION = "unit_attention"
    ABORTED = "aborted"
    TIMED_OUT = "timed_out"
    PASSTHROUGH_UNAVAILABLE = "passthrough_unavailable"  # SG_IO refused: ENOTTY/EINVAL
    PERMISSION_DENIED = "permission_denied"
    DEVICE_GONE = "device_gone"
    TOOL_MISSING = "tool_missing"
    MEDIUM_ERROR = "medium_error"
    DATA_PROTECT = "data_protect"
    MALFORMED = "malformed_response"
    SHORT_RESPONSE = "short_response"  # fewer bytes than the device's own length field says
    USAGE_ERROR = "usage_error"  # our argv was refused by the tool (or a preliminary step failed)
    NO_RESPONSE = "no_response"  # exit 0, but no response bytes where some were due
    SKIPPED = "skipped"  # not sent, with a reason
    OUTPUT_TOO_LARGE = "output_too_large"  # past process.OUTPUT_LIMIT or TOTAL_OUTPUT_LIMIT: killed
    OTHER_ERROR = "other_error"


# Outcomes after which no further command to the same disk can tell us anything new.
DISK_UNREACHABLE = frozenset(
    {
        Outcome.PASSTHROUGH_UNAVAILABLE,
        Outcome.PERMISSION_DENIED,
        Outcome.DEVICE_GONE,
        Outcome.TIMED_OUT,
        Outcome.TOOL_MISSING,
    }
)

_OS_ERRNO_OUTCOMES = {
    errno.ENOTTY: Outcome.PASSTHROUGH_UNAVAILABLE,
    errno.EINVAL: Outcome.PASSTHROUGH_UNAVAILABLE,
    errno.EOPNOTSUPP: Outcome.PASSTHROUGH_UNAVAILABLE,
    errno.EACCES: Outcome.PERMISSION_DENIED,
    errno.EPERM: Outcome.PERMISSION_DENIED,
    errno.ENXIO: Outcome.DEVICE_GONE,
    errno.ENODEV: Outcome.DEVICE_GONE,
    errno.ENOENT: Outcome.DEVICE_GONE,
    errno.EIO: Outcome.OTHER_ERROR,
    errno.ETIMEDOUT: Outcome.TIMED_OUT,
}

_CATEGORY_OUTCOMES = {
    0: Outcome.OK,
    SG_LIB_SYNTAX_ERROR: Outcome.USAGE_ERROR,
    SG_LIB_CAT_NOT_READY: Outcome.NOT_READY,
    SG_LIB_CAT_MEDIUM_HARD: Outcome.MEDIUM_ERROR,
    4: Outcome.MEDIUM_ERROR,  # hardware error
    SG_LIB_CAT_ILLEGAL_REQ: Outcome.NOT_SUPPORTED,
    SG_LIB_CAT_UNIT_ATTENTION: Outcome.UNIT_ATTENTION,
    SG_LIB_CAT_DATA_PROTECT: Outcome.DATA_PROTECT,
    SG_LIB_CAT_INVALID_OP: Outcome.NOT_SUPPORTED,
    SG_LIB_CAT_ABORTED_COMMAND: Outcome.ABORTED,
    SG_LIB_FILE_ERROR: Outcome.DEVICE_GONE,
    SG_LIB_LBA_OUT_OF_RANGE: Outcome.LBA_OUT_OF_RANGE,
    SG_LIB_CAT_RES_CONFLICT: Outcome.RESERVATION_CONFLICT,
    SG_LIB_CAT_TIMEOUT: Outcome.TIMED_OUT,
    SG_LIB_CAT_MALFORMED: Outcome.MALFORMED,
    SG_LIB_CAT_OTHER: Outcome.OTHER_ERROR,
}

EXIT_STATUS_MEANING = {
    0: "success",
    SG_LIB_SYNTAX_ERROR: "syntax error, or a preliminary command failed",
    SG_LIB_CAT_NOT_READY: "not ready",
    SG_LIB_CAT_MEDIUM_HARD: "medium or hardware error",
    SG_LIB_CAT_ILLEGAL_REQ: "illegal request (invalid field or unsupported service action)",
    SG_LIB_CAT_UNIT_ATTENTION: "unit attention",
    SG_LIB_CAT_DATA_PROTECT: "data protect",
    SG_LIB_CAT_INVALID_OP: "invalid operation code (command not supported)",
    SG_LIB_CAT_ABORTED_COMMAND: "aborted command",
    SG_LIB_FILE_ERROR: "could not open the device",
    SG_LIB_LBA_OUT_OF_RANGE: "LBA out of range",
    SG_LIB_CAT_RES_CONFLICT: "reservation conflict",
    SG_LIB_CAT_TIMEOUT: "command timed out",
    SG_LIB_CAT_MALFORMED: "malformed response",
    SG_LIB_CAT_OTHER: "other error",
}


def classify_exit_status(exit_status: int) -> "Outcome":
    """Map an sg3_utils exit status to an :class:`Outcome`.

    >>> classify_exit_status(75).value   # 50 + ENOTTY: virtio-blk refuses SG_IO
    'passthrough_unavailable'
    """
    if exit_status in _CATEGORY_OUTCOMES:
        return _CATEGORY_OUTCOMES[exit_status]
    if SG_LIB_OS_BASE_ERR < exit_status < SG_LIB_CAT_MALFORMED:
        return _OS_ERRNO_OUTCOMES.get(exit_status - SG_LIB_OS_BASE_ERR, Outcome.OTHER_ERROR)
    return Outcome.OTHER_ERROR


def describe_exit_status(exit_status: int) -> str:
    """A short human meaning of an sg3_utils exit status."""
    if exit_status in EXIT_STATUS_MEANING:
        return EXIT_STATUS_MEANING[exit_status]
    if SG_LIB_OS_BASE_ERR < exit_status < SG_LIB_CAT_MALFORMED:
        code = exit_status - SG_LIB_OS_BASE_ERR
        name = errno.errorcode.get(code, str(code))
        return f"operating system error {name}"
    return "unknown exit status"


# What a tool prints on stderr (every release, every tool guestprobe runs) when it did not
# understand its argv: its usage message ("Usage: sg_readcap [--brief] ...") or getopt_long's
# complaint. Old releases (1.37) then exit 0. stdout is not searched: it carries device data.
_USAGE_MESSAGE = re.compile(
    rb"^Usage: sg_|unrecognized option '|unrecognised option|invalid option -- ", re.MULTILINE
)


def printed_usage(command: "CommandResult") -> bool:
    """Did the tool print its usage message (or getopt's complaint) instead of running?"""
    return bool(_USAGE_MESSAGE.search(command.stderr))


def interpret_command(
    command: "CommandResult", timeout_s: float, response_due: bool = False
) -> "tuple[Outcome, str]":
    """The outcome and a human meaning of one finished (or abandoned) sg3_utils command.

    Exit status 0 is not taken as proof that the command was sent: a usage message is
    ``usage_error``, and no response bytes where ``response_due`` is ``no_response``.
    """
    if command.timed_out:
        return Outcome.TIMED_OUT, f"no answer within {timeout_s:g} s; abandoned"
    if command.start_error is not None:
        return Outcome.TOOL_MISSING, f"could not start: {command.start_error}"
    if command.no_answer is not None:
        return Outcome.OTHER_ERROR, command.no_answer
    if command.short_response is not None:
        return Outcome.SHORT_RESPONSE, command.short_response
    if command.output_too_large:
        return Outcome.OUTPUT_TOO_LARGE, (
            f"the scan's output limit ({TOTAL_OUTPUT_LIMIT // (1024 * 1024)} MiB from all its"
            " commands together) was reached; killed"
            if command.over_total_output
            else f"wrote more than {OUTPUT_LIMIT // (1024 * 1024)} MiB to a stream; killed"
        )
    assert command.exit_status is not None
    if command.exit_status < 0:
        return Outcome.OTHER_ERROR, f"killed by signal {-command.exit_status}"
    if command.exit_status == 0 and printed_usage(command):
        return Outcome.USAGE_ERROR, (
            "exit status 0, but the tool printed its usage message: this sg3_utils does not"
            " know an option of the argv, and sent nothing"
        )
    if command.exit_status == 0 and response_due and not command.stdout:
        return Outcome.NO_RESPONSE, "exit status 0, but no response bytes where some were due"
    if command.exit_status == SG_LIB_CAT_OTHER:
        os_error = _os_error_of_other(command)
        if os_error is not None:
            return os_error
    if command.exit_status == SG_LIB_CAT_ILLEGAL_REQ and _LBA_OUT_OF_RANGE in command.stderr:
        return Outcome.LBA_OUT_OF_RANGE, (
            "LBA out of range (exit 5 of sg3_utils before 1.43; the sense, printed with"
            " --verbose, names it)"
        )
    return classify_exit_status(command.exit_status), describe_exit_status(command.exit_status)


# sg3_utils before 1.43 exit 99 on an OS error of SG_IO and name it only on stderr
# ("inquiry: pass through os error: Inappropriate ioctl for device"); LC_ALL=C keeps strerror's
# English wording (process.py).
_PASS_THROUGH_OS_ERROR = re.compile(rb"pass through os error: ([^\n]+)")
# The T10 name of ASC 21h/ASCQ 00h, as sg3_utils prints a sense with --verbose.
_LBA_OUT_OF_RANGE = b"Additional sense: Logical block address out of range"
_ERRNO_BY_STRERROR = {os.strerror(code).encode(): code for code in _OS_ERRNO_OUTCOMES}


def _os_error_of_other(command: "CommandResult") -> "tuple[Outcome, str] | None":
    match = _PASS_THROUGH_OS_ERROR.search(command.stderr)
    code = _ERRNO_BY_STRERROR.get(match.group(1).strip()) if match else None
    if code is None:
        return None
    return (
        _OS_ERRNO_OUTCOMES[code],
        f"operating system error {errno.errorcode.get(code, code)} (exit 99 of sg3_utils before"
        " 1.43, named on stderr)",
    )


@dataclass(frozen=True)
class ProbeSpec:
    """One question to one disk: its stable name, the tool, and the argv minus the device."""

    name: str
    tool: str
    args: "tuple[str, ...]"
    output: str  # "raw" (binary stdout), "hex" (sg3_utils hex dump) or "none" (no response due)
    writes_medium: bool = False  # True only for the out-of-range WRITE SAME probes

    def argv(self, device: str) -> "list[str]":
        return [self.tool, *self.args, device]


INQUIRY = ProbeSpec("inquiry", "sg_inq", ("--raw", "--only"), "raw")


def vpd_shortfall(page: int, data: bytes) -> "str | None":
    """What is wrong with the framing of VPD page ``page`` as received; None when its header
    (page code, PAGE LENGTH) matches the bytes.

    >>> vpd_shortfall(0x00, bytes([0, 0, 1, 40, 0, 0x80]))
    'VPD page 0x00 announces 300 bytes, 6 came'
    """
    if len(data) < 4:
        return f"VPD page 0x{page:02x}: {len(data)} bytes came, fewer than its 4-byte header"
    if data[1] != page:
        return f"VPD page 0x{page:02x} came back as page 0x{data[1]:02x}"
    announced = int.from_bytes(data[2:4], "big") + 4
    if announced > len(data):
        return f"VPD page 0x{page:02x} announces {announced} bytes, {len(data)} came"
    return None


def vpd_probe(page: int) -> "ProbeSpec":
    return ProbeSpec(f"vpd_0x{page:02x}", "sg_vpd", (f"--page=0x{page:02x}", "--raw"), "raw")


VPD_PAGES = (0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2)
READ_CAPACITY_16 = ProbeSpec("readcap16", "sg_readcap", ("--long", "--raw", "--readonly"), "raw")
# The same READ CAPACITY(16), again, immediately before the WRITE SAME probes
READ_CAPACITY_16_RECHECK = ProbeSpec(
    "readcap16_recheck", "sg_readcap", ("--long", "--raw", "--readonly"), "raw"
)
_PR_IN_COMMON = ("--readonly", "--no-inquiry", "--in", "--hex", "--hex")
PR_READ_KEYS = ProbeSpec("pr_read_keys", "sg_persist", (*_PR_IN_COMMON, "--read-keys"), "hex")
PR_READ_RESERVATION = ProbeSpec(
    "pr_read_reservation", "sg_persist", (*_PR_IN_COMMON, "--read-reservation"), "hex"
)
PR_REPORT_CAPABILITIES = ProbeSpec(
    "pr_report_capabilities", "sg_persist", (*_PR_IN_COMMON, "--report-capabilities"), "hex"
)
# Every registered I_T nexus with its key and TransportID (SPC-4 6.16.5): read only, like the
# other three; sg_persist has --read-full-status since before 1.37 (tgt 1.0.85 refuses it: exit 5)
PR_READ_FULL_STATUS = ProbeSpec(
    "pr_read_full_status", "sg_persist", (*_PR_IN_COMMON, "--read-full-status"), "hex"
)
REPORT_OPCODES = ProbeSpec("opcodes", "sg_opcodes", ("--no-inquiry", "--raw"), "raw")


# The LBAs of the WRITE SAME probes: far past the end of any real disk, by construction, not by a
# device's answer (README "Safety"). 2^46 - 16 for WRITE SAME(16): 32 PiB at 512-byte blocks;
# LBA + 1 never wraps 64 bits; LBA x block size stays below 2^63 for any block size up to 64 KiB
# (+8 protection bytes), so a target that converts to a byte offset first cannot wrap to a small
# offset (2^62 or 2^63 would: 2^62 x 512 = 2^71, which is 0 modulo 2^64, i.e. LBA 0); and its low
# 32 bits are 0xFFFFFFF0, so a target that truncates the LBA to 32 bits sees the WRITE SAME(10)
# probe's address, not 0. 2^32 - 16 for WRITE SAME(10) (32-bit LBA field): LBA + 1 never wraps.
WRITE_SAME16_LBA = (1 << 46) - 16
WRITE_SAME10_LBA = (1 << 32) - 16
# Sent only to a disk of at most half that many blocks: it would have to more than double
# between the capacity read just before the probes and the probe itself.
FAR_LBA_MARGIN = 2
MAX_BLOCK_SIZE = 65536  # the byte-offset bound above holds up to this logical block size
WRITE_SAME_BLOCKS = 1  # NUMBER OF LOGICAL BLOCKS; never 0, which means "to the end" (SBC-3)


def write_same_probe(
    name: str, cdb_size: int, block_size: int, timeout_s: int, unmap: bool
) -> "ProbeSpec":
    """WRITE SAME of one block at a far LBA (:data:`WRITE_SAME16_LBA`, :data:`WRITE_SAME10_LBA`).

    A device that implements the command answers LBA OUT OF RANGE (exit 22); one that does not
    answers INVALID OPCODE (9) or ILLEGAL REQUEST (5). ``--xferlen`` spares sg_write_same its own
    READ CAPACITY.
    """
    lba = far_lba(cdb_size)
    if not 0 < block_size <= MAX_BLOCK_SIZE + 8:
        raise ValueError(f"block size {block_size} out of the bounds the far LBA is safe for")
    args = [
        f"--{cdb_size}",
        f"--lba={lba}",
        f"--num={WRITE_SAME_BLOCKS}",
        f"--xferlen={block_size}",
        f"--timeout={max(1, int(timeout_s))}",
    ]
    if unmap:
        args.insert(1, "--unmap")
    return ProbeSpec(name, "sg_write_same", tuple(args), "none", writes_medium=True)


def far_lba_reaches_past(lba: int, capacity_blocks: int) -> bool:
    """Whether ``lba`` stays out of range even if the disk more than doubles."""
    return capacity_blocks * FAR_LBA_MARGIN <= lba


def write_same_probes(capacity_blocks: int, block_size: int, timeout_s: int) -> "list[ProbeSpec]":
    """The far-LBA WRITE SAME probes for a disk of the given (cross-checked) capacity.

    A probe whose far LBA is not far enough past ``capacity_blocks`` is left out.
    """
    wanted = [("write_same16_oor", 16, False), ("write_same10_oor", 10, False)]
    wanted.append(("write_same16_unmap_oor", 16, True))
    return [
        write_same_probe(name, cdb_size, block_size, timeout_s, unmap)
        for name, cdb_size, unmap in wanted
        if far_lba_reaches_past(far_lba(cdb_size), capacity_blocks)
    ]


def far_lba(cdb_size: int) -> int:
    """The LBA the WRITE SAME(``cdb_size``) probes address."""
    return WRITE_SAME16_LBA if cdb_size == 16 else WRITE_SAME10_LBA


SG3_TOOLS = ("sg_inq", "sg_vpd", "sg_readcap", "sg_persist", "sg_opcodes", "sg_write_same")
