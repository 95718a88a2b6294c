"""``guestprobe fencing-test``: its command line. The flow is :mod:`guestprobe.fencing.run`;
this module parses the options into a :class:`~guestprobe.fencing.run.FencingRequest`, shows the
plan, confirms, prints the report and maps the outcome to an exit status."""


import sys
from typing import Any

import click

from guestprobe.cli import common
from guestprobe.cli.common import emit, json_option, output_option, timeout_option
from guestprobe.errors import RefusedError
from guestprobe.report.escape import terminal_lines

CONFIRM_FLAG = "--yes-i-understand-this-sends-pr-out"


def progress(step: "Any", number: "list[int]") -> None:
    """One sent command's line on standard error, numbered."""
    number[0] += 1
    exit_text = "-" if step.exit_status is None else str(step.exit_status)
    click.echo(
        f"[{number[0]:2d}] {step.id:28} {step.role:6} exit {exit_text:>3} "
        f"({step.exit_meaning})  {step.status}",
        err=True,
    )


def _emit_fencing(document: "Any", as_json: bool, output: "str | None") -> None:
    """The fencing-test report (a document.fencing.FencingDocument): JSON or the table."""
    from guestprobe.fencing.report import render_table

    emit(document.to_dict(), as_json, output, lambda _: render_table(document))


def _refusal_line(reasons: "list[Any]") -> str:
    return "; ".join(f"[{r.code}] {r.text}" for r in reasons)


@click.command("fencing-test")
@click.argument("device")
@click.option(
    "--peer",
    metavar="DEVICE",
    help="A second path (another I_T nexus) to the same LU: "
    "also test that one registrant can preempt-and-abort (fence) another.",
)
@click.option(
    CONFIRM_FLAG,
    "confirmed",
    is_flag=True,
    help="Really send PERSISTENT RESERVE OUT; without it the plan is printed only.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Run even though the LU carries registrations this run did not make "
    "(they are left alone; the test removes only its own).",
)
@json_option
@output_option
@timeout_option("Seconds one command may take.")
def fencing_test(device, peer, confirmed, force, as_json, output, timeout_s):
    """Prove SCSI-3 PR fencing on DEVICE with real PERSISTENT RESERVE OUT, like vxfentsthdw.

    Prints every command first; sends nothing without the confirmation flag. Registers a key of
    its own, reserves (Write Exclusive - Registrants Only), releases and, with --peer, preempts
    the first key from the second path; then always removes its keys and reservations and
    verifies the registrations equal those before. With --peer, proves the fence after the
    preempt: READ(10) of one block (to /dev/null) under Exclusive Access - Registrants Only must
    get RESERVATION CONFLICT from the preempted path and GOOD from the holder. Never writes data.

    Exit 0: every step passed; 9: a step failed, preempt-and-abort is unsupported, or cleanup
    left something (the report gives the commands to remove it); 10: refused; 130/143:
    interrupted by SIGINT/SIGTERM, cleaned up.
    """
    from guestprobe.fencing.run import FencingRequest, FencingRun, Machine

    common.require_root()
    common.require_sg3_utils()
    request = FencingRequest(
        device=device,
        target=common.resolve_targets((device,))[0],  # type: ignore[index]
        peer=common.resolve_targets((peer,))[0] if peer else None,  # type: ignore[index]
        force=force,
        timeout_s=timeout_s,
    )
    run = FencingRun(request, Machine.here())
    plan = terminal_lines(run.plan_text())
    if as_json:
        click.echo(plan, nl=False, err=True)
    else:
        common.write_out(plan)
    _refuse(run, confirmed, as_json, output)
    _test(run, as_json, output)


def _refuse(run: "Any", confirmed: bool, as_json: bool, output: "str | None") -> None:
    """The read-only preflight: RefusedError without the confirmation flag (saying whether it
    would refuse), or with the refusals (after their report)."""
    reasons = run.refusals()
    if not confirmed:
        verdict = ("the read-only preflight would refuse it: " + _refusal_line(reasons)
                   if reasons
                   else f"the read-only preflight finds no reason to refuse it; run again with "
                   f"{CONFIRM_FLAG} to send the commands above")
        raise RefusedError(f"nothing was sent (fencing-test sends PERSISTENT RESERVE OUT to the "
                           f"disk only with {CONFIRM_FLAG}): {verdict}")
    if reasons:
        _emit_fencing(run.refusal_document(reasons), as_json, output)
        raise RefusedError("refused: " + _refusal_line(reasons))


def _test(run: "Any", as_json: bool, output: "str | None") -> None:
    """Send the test, print its report and what is left; exit with the outcome's status."""
    counter = [0]
    done = run.test(lambda step: progress(step, counter))
    _emit_fencing(done.document, as_json, output)
    for left in done.leftovers:
        click.echo(
            f"guestprobe: LEFT on {left.device}: {left.what} {left.key or ''}; "
            f"remove with: {' ; '.join(left.commands)}",
            err=True,
        )
    if done.outcome.exit_status:
        click.echo(f"guestprobe: fencing-test: {done.outcome.code}: {done.outcome.text}",
                   err=True)
        sys.exit(done.outcome.exit_status)
