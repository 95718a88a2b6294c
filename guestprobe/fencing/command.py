"""``guestprobe fencing-test``: the command line of the fencing test (the only part that prints)."""


import sys
import time
from typing import Any

import click

from guestprobe.cli import json_option, output_option, timeout_option
from guestprobe.errors import NotABlockDeviceError, RefusedError
from guestprobe.report.escape import terminal_lines

CONFIRM_FLAG = "--yes-i-understand-this-sends-pr-out"


def _emit_fencing(document: "dict[str, Any]", as_json: bool, output: "str | None") -> None:
    from guestprobe.cli import emit
    from guestprobe.fencing.report import render_table

    emit(document, as_json, output, render_table)


def _machine() -> "tuple[Any, Any]":
    """This machine's sysfs root and udev database (tests put a fake tree here)."""
    from guestprobe.collect.sysfs import SysRoot
    from guestprobe.collect.udev import UdevView

    root = SysRoot()
    return root, UdevView(run_dir=root.path("/run/udev"))


def _progress(step: "Any", number: "list[int]") -> None:
    number[0] += 1
    exit_text = "-" if step.exit_status is None else str(step.exit_status)
    click.echo(
        f"[{number[0]:2d}] {step.id:28} {step.role:6} exit {exit_text:>3} "
        f"({step.exit_meaning})  {step.status}",
        err=True,
    )


def _other_paths(
    discoverer: "Any",
    lu_designator: "str | None",
    tested: "list[str]",
    timeout_s: float,
    sys_root: "Any",
    udev: "Any",
) -> "tuple[list[Any], list[str]]":
    """Every other sd path to the tested LU (the kernel's cached VPD 0x83, else a read-only scan
    of that disk), and the disks whose LU could not be told."""
    from guestprobe.fencing.preflight import OTHER_PATH, gather, other_lu_paths, path_facts

    if lu_designator is None:
        return [], []
    disks = discoverer.discover()
    paths, unknown = other_lu_paths(disks, lu_designator, tested)
    if unknown:
        scanned = gather(unknown, timeout_s, sys=sys_root, udev=udev)
        unknown = [name for name in unknown if name not in scanned]
        for disk in scanned.values():
            facts = path_facts(OTHER_PATH, disk)
            if facts.status != "probed" or (facts.lu_designator is None and not _answered(disk)):
                unknown.append(facts.name)
            elif facts.lu_designator == lu_designator:
                paths.append(facts)
    return paths, sorted(unknown)


def _answered(disk: "dict[str, Any]") -> bool:
    """Whether VPD page 0x83 answered, or the disk does not have it (not listed in page 0x00):
    then "no LU designator" is an answer (not this LU), not a gap."""
    page = next((p for p in disk["probes"] if p["name"] == "vpd_0x83"), {})
    return page.get("outcome") == "ok" or page.get("skip_code") == "vpd_not_listed"


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
    verifies the registrations equal those before. Never reads or writes a data block.

    Exit 0: every step passed; 9: a step failed, preempt-and-abort is unsupported, or cleanup
    left something (the report gives the commands to remove it); 10: refused; 130/143:
    interrupted by SIGINT/SIGTERM, cleaned up.
    """
    from guestprobe.cli import require_root, require_sg3_utils, resolve_targets
    from guestprobe.collect.discover import Discoverer
    from guestprobe.fencing.keys import new_run_keys
    from guestprobe.fencing.preflight import (
        PEER,
        TARGET,
        gather,
        path_facts,
        refusals,
        unknown_path_refusal,
    )
    from guestprobe.fencing.report import build_document, render_plan
    from guestprobe.fencing.sequence import FencingTest, PrPath, cleanup_commands, planned_steps
    from guestprobe.fencing.signals import SignalGuard
    from guestprobe.fencing.verdict import judge, refused

    require_root()
    require_sg3_utils()
    names = {TARGET: resolve_targets((device,))[0]}  # type: ignore[index]
    if peer:
        names[PEER] = resolve_targets((peer,))[0]  # type: ignore[index]
    sys_root, udev = _machine()
    discoverer = Discoverer(sys_root, udev)
    paths = {}
    keys = new_run_keys()
    for role, name in names.items():
        disk = discoverer.describe(name)
        if disk is None:
            raise NotABlockDeviceError(f"{name}: gone from sysfs")
        key = keys.target if role == TARGET else keys.peer
        paths[role] = PrPath(role, disk.scsi_device, disk.dev_path, key)
    steps = planned_steps(paths[TARGET], paths.get(PEER))
    cleanup = cleanup_commands(paths[TARGET], paths.get(PEER))
    plan = {
        "test": [
            {
                "id": step.id,
                "path": step.role,
                "argv": list(step.argv),
                "only_if_refused": step.fallback_for,
            }
            for step in steps
        ],
        "cleanup_as_needed": cleanup,
    }
    click.echo(
        terminal_lines(render_plan(paths[TARGET], paths.get(PEER), steps, cleanup)),
        nl=False,
        err=as_json,
    )
    if not confirmed:
        raise RefusedError(
            f"nothing was sent: fencing-test sends PERSISTENT RESERVE OUT to the disk; run again "
            f"with {CONFIRM_FLAG} to send the commands above"
        )
    started = time.monotonic()
    found = gather(list(dict.fromkeys(names.values())), timeout_s, sys=sys_root, udev=udev)
    if names[TARGET] not in found:
        raise NotABlockDeviceError(f"{device}: vanished before the test")
    facts = {role: path_facts(role, found[name]) for role, name in names.items() if name in found}
    options = {"force": force, "timeout_s": timeout_s, "peer": peer is not None}
    other_paths, unknown = _other_paths(
        discoverer, facts[TARGET].lu_designator, list(names.values()), timeout_s, sys_root, udev
    )
    reasons = refusals(facts[TARGET], facts.get(PEER), keys, force, other_paths)
    if unknown:
        reasons.append(unknown_path_refusal(unknown, facts[TARGET].lu_designator or "?"))
    if reasons:
        document = build_document(
            facts[TARGET],
            facts.get(PEER),
            keys,
            plan,
            refused(reasons),
            options,
            refusals=reasons,
            duration_s=time.monotonic() - started,
            other_paths=other_paths,
        )
        _emit_fencing(document, as_json, output)
        raise RefusedError("refused: " + "; ".join(f"[{r.code}] {r.text}" for r in reasons))
    counter = [0]
    with SignalGuard() as guard:
        result = FencingTest(
            paths[TARGET],
            paths.get(PEER),
            facts[TARGET].keys or [],
            facts[TARGET].reservation,
            timeout_s=timeout_s,
            on_step=lambda step: _progress(step, counter),
            guard=guard,
            peer_keys_before=facts[PEER].keys if PEER in facts else None,
        ).run()
    verdict = judge(result, with_peer=PEER in paths)
    document = build_document(
        facts[TARGET],
        facts.get(PEER),
        keys,
        plan,
        verdict,
        options,
        result=result,
        duration_s=time.monotonic() - started,
        other_paths=other_paths,
    )
    _emit_fencing(document, as_json, output)
    for left in result.leftovers:
        click.echo(
            f"guestprobe: LEFT on {left['device']}: {left['what']} {left['key'] or ''}; "
            f"remove with: {' ; '.join(left['commands'])}",
            err=True,
        )
    if verdict.exit_status:
        click.echo(f"guestprobe: fencing-test: {verdict.code}: {verdict.text}", err=True)
        sys.exit(verdict.exit_status)
