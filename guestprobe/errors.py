"""One exception hierarchy and the documented exit statuses of every guestprobe command.

Probe failures are *facts* and never raise (see ``collect.sg3``); these exceptions are for
conditions that stop a command before it can produce a report.
"""


from enum import IntEnum


class ExitStatus(IntEnum):
    """Exit statuses; the README's table is generated from the same names."""

    OK = 0
    FAIL_ON = 1  # --fail-on threshold met by a verdict
    USAGE = 2  # bad command line (click's own status)
    NOT_ROOT = 3
    SG3_UTILS_MISSING = 4
    NOT_A_BLOCK_DEVICE = 5
    PARTIAL = 6  # report written, but some disk timed out or vanished mid-scan
    OUTPUT_ERROR = 7  # the output (a file, stdout) could not be written, or not all of it
    BAD_INPUT = 8  # a report or bundle given to report/compare is unreadable or foreign
    TEST_FAILED = 9  # fencing-test: a step failed or cleanup left something behind
    REFUSED = 10  # fencing-test: refused to touch the disk
    HOST_UNAVAILABLE = 11  # host: no libvirt binding, no connection, or no such domain
    INTERNAL = 70  # a bug in guestprobe


EXIT_STATUS_MEANINGS: "dict[ExitStatus, str]" = {
    ExitStatus.OK: "success",
    ExitStatus.FAIL_ON: "a verdict met the --fail-on threshold",
    ExitStatus.USAGE: "bad command line",
    ExitStatus.NOT_ROOT: "not running as root",
    ExitStatus.SG3_UTILS_MISSING: "sg3_utils is not installed",
    ExitStatus.NOT_A_BLOCK_DEVICE: "a named path is not a block device",
    ExitStatus.PARTIAL: "report written, but a disk timed out or vanished during the scan",
    ExitStatus.OUTPUT_ERROR: "the output could not be written (a file, or standard output)",
    ExitStatus.BAD_INPUT: "an input report or bundle is unreadable, foreign or of another schema",
    ExitStatus.TEST_FAILED: "fencing-test: a step failed or cleanup left keys behind",
    ExitStatus.REFUSED: "fencing-test: refused to run on the disk",
    ExitStatus.HOST_UNAVAILABLE: "host: no libvirt binding, no connection or no such domain",
    ExitStatus.INTERNAL: "internal error in guestprobe (please report it)",
}


def one_line(text: str, limit: int = 400) -> str:
    """``text`` as one printable line: control characters escaped (a file name, a bundle's
    member name and a device's answer are data, see :mod:`guestprobe.report.escape`), cut at
    ``limit`` characters.

    >>> one_line("a\\nb\\x1b[2J")
    'a\\\\x0ab\\\\x1b[2J'
    """
    from guestprobe.report.escape import terminal_text

    escaped = terminal_text(text)
    return escaped if len(escaped) <= limit else escaped[: limit - 3] + "..."


class GuestprobeError(Exception):
    """An error a user can cause or meet; carries its exit status and one-line message."""

    exit_status: "ExitStatus" = ExitStatus.INTERNAL

    def __init__(self, message: str, exit_status: "ExitStatus | None" = None) -> None:
        super().__init__(message)
        if exit_status is not None:
            self.exit_status = exit_status


class NotRootError(GuestprobeError):
    exit_status = ExitStatus.NOT_ROOT


class Sg3UtilsMissingError(GuestprobeError):
    exit_status = ExitStatus.SG3_UTILS_MISSING


class NotABlockDeviceError(GuestprobeError):
    exit_status = ExitStatus.NOT_A_BLOCK_DEVICE


class OutputError(GuestprobeError):
    exit_status = ExitStatus.OUTPUT_ERROR


class BadInputError(GuestprobeError):
    exit_status = ExitStatus.BAD_INPUT


class RefusedError(GuestprobeError):
    exit_status = ExitStatus.REFUSED
