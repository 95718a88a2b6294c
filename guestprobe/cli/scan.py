"""``guestprobe scan``: find the disks, probe them, judge them, print the report."""


import contextlib
import signal
import sys
import threading
import typing
from collections.abc import Iterator
from types import FrameType

import click

from guestprobe import pipeline
from guestprobe.cli import common
from guestprobe.cli.common import (
    brief_option,
    emit,
    fail_on_option,
    fail_on_status,
    html_option,
    json_option,
    narrow_options,
    output_option,
    progress_printer,
    refuse_brief_json,
    timeout_option,
    warn_unprobed,
)
from guestprobe.errors import ExitStatus


@click.command()
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
    default=pipeline.ScanRequest.workers,
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
    default=pipeline.ScanRequest.engine,
    show_default=True,
    help="Send the probes through sg3_utils' library (libsgutils2, in worker processes; the "
    "executables where it is unusable, with the reason in the report) or its executables.",
)
@fail_on_option
@brief_option
@html_option
@narrow_options
def scan(
    devices, as_json, output, include_all, no_write_probes, timeout_s, workers, live_vpd, engine,
    fail_on, brief, html_output, disks=(), features=(),
):
    """Find every disk (or only DEVICES), probe it through sg3_utils, judge it.

    A default scan never writes a data block: the WRITE SAME probes address one block at a fixed
    LBA far past the end of any real disk (2^46 - 16; 2^32 - 16 for WRITE SAME(10)), only after
    READ CAPACITY(16) agrees with the kernel's size, which a device answers with LBA OUT OF RANGE.
    """
    refuse_brief_json(as_json, brief)
    request = scan_request(
        devices, include_all, no_write_probes, timeout_s, workers, live_vpd, engine
    )
    with signals_end_the_scan():
        report = pipeline.scan(request, progress_printer(sys.stderr.isatty() and not as_json))
        document = emit(report, as_json, output, brief=brief, html_output=html_output,
                        narrow={"disks": disks, "features": features})
    warn_unprobed(document)
    if fail_on_status(document, fail_on):
        sys.exit(ExitStatus.FAIL_ON)
    if not document["scan"]["complete"]:
        sys.exit(ExitStatus.PARTIAL)


def scan_request(
    devices: "tuple[str, ...]",
    include_all: bool,
    no_write_probes: bool,
    timeout_s: float,
    workers: int,
    live_vpd: bool,
    engine: str,
) -> "pipeline.ScanRequest":
    """The scan's options as a request, after the preconditions (root, sg3_utils, the named
    devices are block devices)."""
    common.require_root()
    common.require_sg3_utils()
    return pipeline.ScanRequest(
        names=common.resolve_targets(devices),
        include_all=include_all,
        timeout_s=timeout_s,
        write_probes=not no_write_probes,
        use_sysfs_pages=not live_vpd,
        workers=workers,
        engine=engine,
    )


# SIGINT (Ctrl-C), SIGTERM (kill, systemd, a timeout) and SIGHUP (the terminal closed) alike
ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Ended(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def signals_end_the_scan(unwritten: str = "report") -> "Iterator[None]":
    """A signal of :data:`ENDING_SIGNALS` ends the scan: every process it started is ended at
    once (its whole process group), one line says so, no report (``unwritten``) is written,
    and the exit status is 128 + the signal's number (130, 143, 129). Later signals are
    ignored meanwhile."""
    if threading.current_thread() is not threading.main_thread():
        yield  # Python takes signals in the main thread only
        return

    def end(signum: int, frame: "FrameType | None") -> None:
        from guestprobe.collect import process

        for ending in ENDING_SIGNALS:
            signal.signal(ending, signal.SIG_IGN)
        process.stop_children()
        raise _Ended(signum)

    previous = {signum: signal.signal(signum, end) for signum in ENDING_SIGNALS}
    try:
        yield
    except _Ended as ended:  # the signals stay ignored: guestprobe is on its way out
        name = signal.Signals(ended.signum).name
        click.echo(
            f"guestprobe: interrupted by {name}: the scan stopped, every process it started was"
            f" ended, no {unwritten} written",
            err=True,
        )
        sys.exit(128 + ended.signum)
    except BaseException:
        _restore(previous)
        raise
    _restore(previous)


def _restore(handlers: "dict[int, typing.Any]") -> None:
    for signum, handler in handlers.items():
        signal.signal(signum, handler)
