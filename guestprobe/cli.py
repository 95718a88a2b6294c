"""The command line. The only layer that prints; every failure a user can meet is one line."""


import os
import shutil
import sys
from collections.abc import Callable
from typing import Any

import click

from guestprobe import __version__
from guestprobe.errors import (
    EXIT_STATUS_MEANINGS,
    BadInputError,
    ExitStatus,
    GuestprobeError,
    NotABlockDeviceError,
    NotRootError,
    Sg3UtilsMissingError,
    one_line,
)
from guestprobe.report.escape import terminal_lines, terminal_text

VERDICT_ORDER = ("usable", "unknown", "degraded", "not_usable")


def require_root() -> None:
    if os.geteuid() != 0:
        raise NotRootError(
            "guestprobe must run as root: SCSI pass-through (SG_IO) needs it; try sudo"
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
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def terminal_width() -> int:
    """The terminal's width ($COLUMNS first); 100 columns when the output is not a terminal."""
    from guestprobe.report.terminal import DEFAULT_WIDTH

    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def emit(
    document: "dict[str, Any]",
    as_json: bool,
    output: "str | None",
    render: "Callable[[dict[str, Any]], str] | None" = None,
    brief: bool = False,
    html_output: "str | None" = None,
    redacted: bool = False,
) -> None:
    """Write the JSON to ``output`` and the HTML page to ``html_output`` (atomically) if given;
    print the JSON, or the tables and (unless ``brief``) the findings."""
    from guestprobe.report.output import to_json, write_atomically

    text = to_json(document)
    if output:
        write_atomically(output, text.encode(), mode=0o600)
    if html_output:
        from guestprobe.report.html import render_html

        write_atomically(html_output, render_html(document, redacted=redacted).encode())
    if as_json:
        if not output:
            click.echo(text, nl=False)
    elif render is not None:
        click.echo(terminal_lines(render(document)), nl=False)
    else:
        from guestprobe.report.terminal import render_report

        color = use_color()
        click.echo(
            render_report(document, brief=brief, color=color, width=terminal_width()),
            nl=False,
            color=color,
        )


def _fail_on_status(document: "dict[str, Any]", fail_on: "str | None") -> bool:
    if not fail_on:
        return False
    threshold = VERDICT_ORDER.index(fail_on)
    verdicts = [v for d in document["disks"] for v in d.get("verdicts", [])]
    verdicts += document.get("guest_verdicts", [])
    return any(
        VERDICT_ORDER.index(v["status"]) >= threshold
        for v in verdicts
        if v["status"] in VERDICT_ORDER
    )


def checker():  # the check engine, when the rules are installed
    from guestprobe.check.engine import apply_checks

    return apply_checks


class LazyGroup(click.Group):
    """A group whose heavier commands are imported only when named (start-up time matters:
    a Python start costs over a second in a software-emulated guest)."""

    def list_commands(self, ctx: "click.Context") -> "list[str]":
        return sorted({*super().list_commands(ctx), *_LAZY_COMMANDS})

    def get_command(self, ctx: "click.Context", name: str) -> "click.Command | None":
        if name not in self.commands and name in _LAZY_COMMANDS:
            self.add_command(_LAZY_COMMANDS[name](self), name)
        return super().get_command(ctx, name)


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
    "--brief", is_flag=True, help="Print only the tables and the matrix, not the findings."
)
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
        default=15.0,
        show_default=True,
        help=help_text,
    )


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="guestprobe")
def cli() -> None:
    """Which Veritas InfoScale storage features can this KVM guest's disks use, and why."""


@cli.command()
@click.argument("devices", nargs=-1)
@json_option
@output_option
@click.option(
    "--all", "include_all", is_flag=True, help="Include loop, ram, zram, fd and sr devices."
)
@click.option(
    "--no-write-probes", is_flag=True, help="Do not send the out-of-range WRITE SAME probes."
)
@timeout_option("Seconds one probe may take before its disk is reported as timed out.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Disks probed at the same time.",
)
@click.option(
    "--live-vpd",
    is_flag=True,
    help="Fetch VPD pages from the disk even where the kernel caches them.",
)
@click.option(
    "--engine",
    type=click.Choice(["lib", "cli"]),
    default="lib",
    show_default=True,
    help="Send the probes through sg3_utils' library (libsgutils2, one worker process per disk;"
    " the executables where it is unusable, with the reason in the report) or its executables.",
)
@fail_on_option
@brief_option
@html_option
def scan(
    devices, as_json, output, include_all, no_write_probes, timeout_s, workers, live_vpd, engine,
    fail_on, brief, html_output,
):
    """Find every disk (or only DEVICES), probe it through sg3_utils, judge it.

    A default scan never writes a data block: the WRITE SAME probes address one block past the
    end of the disk, which a device answers with LBA OUT OF RANGE.
    """
    from guestprobe.collect.probe import ProbeOptions
    from guestprobe.collect.scan import collect
    from guestprobe.report.document import build_document

    require_root()
    require_sg3_utils()
    names = resolve_targets(devices)
    options = ProbeOptions(
        timeout_s=timeout_s,
        write_probes=not no_write_probes,
        use_sysfs_pages=not live_vpd,
        engine=engine,
    )
    progress = None
    if sys.stderr.isatty() and not as_json:

        def progress(done: int, total: int) -> None:
            click.echo(f"\rprobed {done}/{total} disks", err=True, nl=done == total)

    collection = collect(
        options, names=names, include_all=include_all, max_workers=workers, progress=progress
    )
    document = build_document(collection, checker())
    emit(document, as_json, output, brief=brief, html_output=html_output)
    for disk in document["disks"]:
        if disk["status"] != "probed":
            what = disk["status"].replace("_", " ")
            click.echo(terminal_text(f"guestprobe: {disk['dev_path']}: {what} during the scan"),
                       err=True)
    if _fail_on_status(document, fail_on):
        sys.exit(ExitStatus.FAIL_ON)
    if not document["scan"]["complete"]:
        sys.exit(ExitStatus.PARTIAL)


def load_input(path: str, key: "bytes | None" = None) -> "tuple[Any, dict[str, Any] | None]":
    """(the report as saved, the bundle's manifest or None) of a JSON report or a bundle.

    The one reader of ``report`` and ``compare``: regular files only, bounded in size and JSON
    depth (``report.inputs``); bundles verified against their manifest, and against its MAC when
    ``key`` is given. BadInputError (one line, exit 8) for anything else.
    """
    from guestprobe.bundle.archive import is_bundle, read_bundle
    from guestprobe.report.inputs import load_json, read_input_file

    data = read_input_file(path)
    if is_bundle(data):  # a support bundle (guestprobe collect): verified against its manifest
        bundle = read_bundle(data, path, key)
        return bundle.report, bundle.manifest
    if key is not None:
        raise BadInputError(
            f"{path}: a JSON report carries no MAC, so the key cannot verify it; refused"
        )
    return load_json(data, path), None


def rejudge(path: str, key: "bytes | None" = None) -> "tuple[Any, dict[str, Any], dict | None]":
    """(the report as saved, decoded and judged again here, the bundle's manifest or None)."""
    from guestprobe.report.document import build_document, collection_from_document

    original, manifest = load_input(path, key)
    try:
        collection = collection_from_document(original)
    except BadInputError as exc:
        raise BadInputError(f"{path}: {exc}") from None
    return original, build_document(collection, checker()), manifest


def input_key(text: "str | None") -> "bytes | None":
    return text.encode() if text else None


verify_key_option = click.option(
    "--redact-key",
    "redact_key",
    envvar="GUESTPROBE_REDACT_KEY",
    metavar="TEXT",
    help="Verify bundles with the key they were collected with (collect --redact-key): an "
    "edited bundle, or one without a MAC, is refused. Env: GUESTPROBE_REDACT_KEY.",
)


@cli.command()
@click.argument("report")
@json_option
@output_option
@fail_on_option
@verify_key_option
@brief_option
@html_option
def report(report, as_json, output, fail_on, redact_key, brief, html_output):
    """Decode and judge a saved report again, with this machine's guestprobe and rules."""
    _, document, manifest = rejudge(report, input_key(redact_key))
    emit(document, as_json, output, brief=brief, html_output=html_output,
         redacted=bool(manifest and manifest.get("redaction")))
    if _fail_on_status(document, fail_on):
        sys.exit(ExitStatus.FAIL_ON)


@cli.command("exit-statuses")
def exit_statuses() -> None:
    """List guestprobe's exit statuses and what they mean."""
    for status, meaning in EXIT_STATUS_MEANINGS.items():
        click.echo(f"{int(status):3d}  {meaning}")


# -- commands defined in their own packages, loaded on first use ----------------------------------
def _explain(group: "click.Group") -> "click.Command":
    from guestprobe.check.explain import explain

    return explain


def _fencing_test(group: "click.Group") -> "click.Command":
    from guestprobe.fencing.command import fencing_test

    return fencing_test


def _collect(group: "click.Group") -> "click.Command":
    from guestprobe.bundle.commands import collect_command

    return collect_command(group.commands["scan"])


def _compare(group: "click.Group") -> "click.Command":
    from guestprobe.bundle.commands import compare_command

    return compare_command


_LAZY_COMMANDS = {
    "explain": _explain,
    "fencing-test": _fencing_test,
    "collect": _collect,
    "compare": _compare,
}


def main(argv: "list[str] | None" = None) -> None:
    """Entry point: one-line messages and documented exit statuses, never a traceback."""
    try:
        cli.main(args=argv, prog_name="guestprobe", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitStatus.USAGE)
    except click.exceptions.Abort:
        click.echo("guestprobe: interrupted", err=True)
        sys.exit(130)
    except GuestprobeError as exc:
        click.echo(f"guestprobe: {one_line(str(exc))}", err=True)
        sys.exit(exc.exit_status)
    except KeyboardInterrupt:
        click.echo("guestprobe: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        if os.environ.get("GUESTPROBE_DEBUG"):
            raise
        click.echo(
            terminal_text(
                f"guestprobe: internal error: {exc!r} (set GUESTPROBE_DEBUG=1 for details)"
            ),
            err=True,
        )
        sys.exit(ExitStatus.INTERNAL)
    sys.exit(0)
