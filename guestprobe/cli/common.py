"""What every command shares: the preconditions, the shared options, the one way a report
reaches the terminal or a file (``emit``) and the one writer of standard output (``write_out``)."""


import os
import shutil
import sys
from collections.abc import Callable
from typing import Any

import click

from guestprobe.errors import (
    NotABlockDeviceError,
    NotRootError,
    OutputError,
    Sg3UtilsMissingError,
)
from guestprobe.pipeline import ScanRequest
from guestprobe.report.escape import output_bytes, terminal_lines, terminal_text

VERDICT_ORDER = ("usable", "unknown", "degraded", "not_usable")


def require_root() -> None:
    if os.geteuid() != 0:
        raise NotRootError(
            "must run as root: SCSI pass-through (SG_IO) needs it; try sudo"
        )


def require_sg3_utils() -> None:
    from guestprobe.collect.sg3 import SG3_TOOLS

    missing = [tool for tool in SG3_TOOLS if shutil.which(tool) is None]
    if missing:
        raise Sg3UtilsMissingError(
            f"sg3_utils is not installed (missing {', '.join(missing)}): "
            "install it with 'dnf install sg3_utils' (RHEL) or 'apt-get install sg3-utils'"
        )


def resolve_targets(paths: "tuple[str, ...]") -> "list[str] | None":
    if not paths:
        return None
    from guestprobe.collect.discover import resolve_named_device
    from guestprobe.collect.sysfs import SysRoot

    names = []
    for path in paths:
        try:
            name = resolve_named_device(SysRoot(), path)
        except FileNotFoundError:
            raise NotABlockDeviceError(f"{path}: no such file") from None
        except (ValueError, OSError) as exc:
            raise NotABlockDeviceError(f"{path}: {exc}") from None
        if name not in names:
            names.append(name)
    return names


def use_color() -> bool:
    """Colour on a terminal only, and never where NO_COLOR is set (no-color.org)."""
    stream = sys.stdout
    return stream is not None and stream.isatty() and not os.environ.get("NO_COLOR")


def _raw_writer(stream: "Any") -> "Callable[[memoryview], Any]":
    """The call that writes bytes to ``stream``: its file descriptor (so that a short write is
    seen), else its binary buffer (a test's captured stream)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return stream.buffer.write
    return lambda data: os.write(fd, data)


def write_out(text: str) -> None:
    """Write ``text`` to standard output, all of it, or raise :class:`OutputError` (exit 7).

    Every command's standard output goes through here: a closed stdout (``>&-``), a full disk
    (``> /dev/full``) or a write that stops short is one line and exit 7, never exit 0 with part
    of the output. Text is encoded by :func:`~guestprobe.report.escape.output_bytes` (a lone
    surrogate written as its escape). A closed pipe (``| head``) stays ``BrokenPipeError``.
    """
    stream = sys.stdout
    if stream is None:
        raise OutputError("cannot write the output: standard output is closed")
    data = memoryview(output_bytes(text, getattr(stream, "encoding", None)))
    total = len(data)
    try:
        stream.flush()
        write = _raw_writer(stream)
        while data:
            written = write(data)
            if not written:
                raise OutputError(
                    f"cannot write the output: {total - len(data)} of {total} bytes written"
                )
            data = data[written:]
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write the output: {exc.strerror or exc}") from None


def terminal_width() -> int:
    """The terminal's width ($COLUMNS first); 100 columns when the output is not a terminal."""
    from guestprobe.report.terminal import DEFAULT_WIDTH

    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def emit(
    record: "Any",
    as_json: bool,
    output: "str | None",
    render: "Callable[[Any], str] | None" = None,
    brief: bool = False,
    html_output: "str | None" = None,
    redacted: bool = False,
    narrow: "dict[str, Any] | None" = None,
) -> "dict[str, Any]":
    """Write the JSON of ``record`` (a typed report, or fencing-test's) to ``output`` and the
    HTML page to ``html_output`` (atomically) if given; print the JSON, or the tables and
    (unless ``brief``) the findings. The JSON form is returned."""
    from guestprobe.report.output import to_json, write_atomically

    document = record.to_dict()
    text = to_json(document)
    if output:
        write_atomically(output, text, mode=0o600)
    if html_output:
        from guestprobe.report.html import render_html

        write_atomically(html_output, render_html(record, redacted=redacted))
    if as_json:
        if not output:
            write_out(text)
        return document
    if narrow and any(narrow.values()):
        from guestprobe.report.findings import narrow_report

        try:
            record = narrow_report(record, **narrow)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    if render is not None:
        write_out(terminal_lines(render(record)))
    else:
        from guestprobe.report.terminal import render_report

        write_out(
            render_report(record, brief=brief, color=use_color(), width=terminal_width(),
                          redacted=redacted)
        )
    return document


def fail_on_status(document: "dict[str, Any]", fail_on: "str | None") -> bool:
    if not fail_on:
        return False
    from guestprobe.document.verdict import verdicts_of

    verdicts = [v for d in document["disks"] for v in verdicts_of(d.get("verdicts"))]
    verdicts += verdicts_of(document.get("guest_verdicts"))
    return statuses_fail([v.status for v in verdicts], fail_on)


def statuses_fail(statuses: "list[str]", fail_on: "str | None") -> bool:
    """Whether any status is ``fail_on`` or worse (``--fail-on``; also compare's)."""
    if not fail_on:
        return False
    threshold = VERDICT_ORDER.index(fail_on)
    return any(VERDICT_ORDER.index(s) >= threshold for s in statuses if s in VERDICT_ORDER)


def progress_printer(shown: bool) -> "Callable[[int, int], None] | None":
    """``probed N/M disks`` on stderr as the disks finish, where ``shown``."""
    if not shown:
        return None

    def progress(done: int, total: int) -> None:
        click.echo(f"\rprobed {done}/{total} disks", err=True, nl=done == total)

    return progress


def warn_unprobed(document: "dict[str, Any]") -> None:
    """One line on stderr per disk that timed out or vanished during the scan."""
    for disk in document["disks"]:
        if disk["status"] != "probed":
            what = disk["status"].replace("_", " ")
            click.echo(
                terminal_text(f"guestprobe: {disk['dev_path']}: {what} during the scan"), err=True
            )


def input_key(text: "str | None") -> "bytes | None":
    return text.encode() if text else None


# Options shared by the commands that report (scan, report, fencing-test).
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the JSON report instead of the table."
)
output_option = click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Also write the JSON report to FILE (atomically, mode 0600; a new file or a regular "
    "file replaced, never a device, FIFO or directory).",
)


brief_option = click.option(
    "--brief", is_flag=True, help="Print only the first screen (header, matrix, the answer per "
    "LU, the disk table), not the findings and fixes. Not with --json.",
)


def refuse_brief_json(as_json: bool, brief: bool) -> None:
    if as_json and brief:
        raise click.UsageError("--brief shortens the printed report; --json prints the whole "
                               "JSON report: give one of them")


def narrow_options(command: "Callable[..., Any]") -> "Callable[..., Any]":
    """--disk and --feature: the printed report on some disks or features (the JSON stays
    whole)."""
    command = click.option(
        "--feature", "features", multiple=True, metavar="NAME",
        help="Print the report on this feature only (pr_fencing, or its title); repeatable.",
    )(command)
    return click.option(
        "--disk", "disks", multiple=True, metavar="NAME",
        help="Print the report on this disk only (sdb or /dev/sdb); repeatable.",
    )(command)
html_option = click.option(
    "--html",
    "html_output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Also write the report as one self-contained HTML page to FILE.",
)


fail_on_option = click.option(
    "--fail-on",
    type=click.Choice(["unknown", "degraded", "not_usable"]),
    help="Exit 1 when any verdict is this bad or worse.",
)


def timeout_option(help_text: str) -> "Callable[[Any], Any]":
    return click.option(
        "--timeout",
        "timeout_s",
        type=click.FloatRange(1, 600),
        default=ScanRequest.timeout_s,
        show_default=True,
        help=help_text,
    )


verify_key_option = click.option(
    "--redact-key",
    "redact_key",
    envvar="GUESTPROBE_REDACT_KEY",
    metavar="TEXT",
    help="Verify bundles with the key they were collected with (collect --redact-key): an "
    "edited bundle, or one without a MAC, is refused. Env: GUESTPROBE_REDACT_KEY.",
)
