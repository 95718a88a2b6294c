"""The fencing-test report: a JSON document (the scan's schema family) and a readable table.

Document keys: ``schema_version``, ``kind: "fencing-test"``, ``tool``, ``generated_at``,
``target`` and ``peer`` (what the preflight scan found), ``other_paths`` (every other path to
the same LU, found by its designator, and whether it is in use), ``keys`` (this run's keys and their
format), ``options``, ``plan`` (every command of the test, and the cleanup commands it may
send, as printed before the run), ``refusals``,
``steps`` (argv, exit status and meaning, pass/fail/unsupported, duration, decoded answer),
``keys_before``/``keys_after``, ``reservation_before``/``reservation_after``, ``cleanup``
(``verified``, ``leftovers`` with the commands that remove them), ``fence_proof``
(:func:`guestprobe.fencing.proof.summarize`, with --peer) and ``verdict``.
"""


from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from guestprobe import __version__
from guestprobe.compat import shell_join
from guestprobe.decode.persist import key_hex
from guestprobe.document.build import SCHEMA_VERSION
from guestprobe.document.fencing import FencingCleanup, FencingDocument, RunKeysRecord
from guestprobe.document.model import Tool
from guestprobe.fencing.keys import RunKeys, sg_key
from guestprobe.fencing.outcome import FencingOutcome
from guestprobe.fencing.preflight import PathFacts, Refusal, owner_of_key
from guestprobe.fencing.sequence import FencingResult, PlannedStep, PrPath
from guestprobe.report.table import grid

KIND = "fencing-test"
KEY_FORMAT = 'ASCII "gp", 5 random bytes (the run id), 1 byte path (01 target, 02 peer)'


def build_document(
    target: "PathFacts",
    peer: "PathFacts | None",
    keys: "RunKeys",
    plan: "dict[str, Any]",
    verdict: "FencingOutcome",
    options: "dict[str, Any]",
    refusals: "list[Refusal] | None" = None,
    result: "FencingResult | None" = None,
    duration_s: float = 0.0,
    other_paths: "Sequence[PathFacts]" = (),
) -> "FencingDocument":
    cleanup = None
    if result is not None:
        cleanup = FencingCleanup(
            verified=result.cleanup_verified,
            leftovers=list(result.leftovers),
            pending_commands=result.pending_commands,
            interrupted=result.interrupted,
            error=result.error,
        )
    return FencingDocument(
        schema_version=SCHEMA_VERSION,
        kind=KIND,
        tool=Tool("guestprobe", __version__),
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        duration_s=round(duration_s, 3),
        target=target.record(),
        peer=None if peer is None else peer.record(),
        other_paths=[path.record() for path in other_paths],
        keys=RunKeysRecord(
            format=KEY_FORMAT,
            run_id=keys.run_id,
            target=key_hex(keys.target),
            peer=key_hex(keys.peer) if peer is not None else None,
        ),
        options=options,
        plan=plan,
        refusals=list(refusals or []),
        steps=[] if result is None else [step.record() for step in result.steps],
        keys_before=None if target.keys is None else [key_hex(k) for k in target.keys],
        keys_after=_hex(None if result is None else result.keys_after),
        reservation_before=target.reservation,
        reservation_after=None if result is None else result.reservation_after,
        cleanup=cleanup,
        fence_proof=None if result is None else result.fence_proof,
        verdict=verdict,
    )


def _hex(keys: "list[int] | None") -> "list[str] | None":
    return None if keys is None else [key_hex(k) for k in keys]


def render_plan(
    target: "PrPath", peer: "PrPath | None", plan: "list[PlannedStep]", cleanup: "list[list[str]]"
) -> str:
    """What will be sent to which disk, before anything is."""
    disks = f"{target.dev_path} ({target.device})"
    if peer is not None:
        disks += f" and, as the second path to the same LU, {peer.dev_path} ({peer.device})"
    lines = [
        f"guestprobe fencing-test: PERSISTENT RESERVE OUT to {disks}",
        "keys of this run: "
        + ", ".join(f"{sg_key(p.key)} (through {p.dev_path})" for p in (target, peer) if p)
        + f"; format: {KEY_FORMAT}",
        "",
        "1. a read-only scan of the disk(s) first: INQUIRY, VPD pages, READ CAPACITY, "
        "PERSISTENT RESERVE IN, REPORT SUPPORTED OPERATION CODES (no WRITE SAME); it refuses an "
        "LU in use through any of its paths (mounted, swap, held), without PR, with "
        "registrations of others, or a peer of another LU",
        "2. the test, stopping at the first failure:",
        *(
            line
            for step in plan
            for line in (
                [f"   (only if {step.fallback_for} is refused:)"] if step.fallback_for else []
            )
            + [f"   {shell_join(step.argv)}"]
        ),
        "3. cleanup, whatever happens (only the commands needed; then READ KEYS and READ "
        "RESERVATION to verify the registrations equal those before):",
        *(f"   {shell_join(argv)}" for argv in cleanup),
        "No data block is written; the fence proof reads one block (to /dev/null) through each "
        "path.",
    ]
    return "\n".join(lines) + "\n"


def render_table(document: "FencingDocument") -> str:
    parts = []
    target, peer = document.target, document.peer
    title = f"fencing-test {target.dev_path} ({target.device})"
    if peer is not None:
        title += f", peer {peer.dev_path} ({peer.device})"
    if target.lu_designator:
        title += f" - LU {target.lu_designator}"
    parts.append(title)
    for refusal in document.refusals:
        parts.append(f"REFUSED [{refusal.code}] {refusal.text}")
    if document.steps:
        rows = [
            [
                str(index),
                step.id,
                step.path,
                "-" if step.exit_status is None else str(step.exit_status),
                step.exit_meaning or "-",
                step.status.upper() if step.status != "pass" else "pass",
                f"{step.duration_s:.2f}",
                step.command,
            ]
            for index, step in enumerate(document.steps, start=1)
        ]
        parts.append(
            grid(["#", "STEP", "PATH", "EXIT", "MEANING", "RESULT", "S", "COMMAND"], rows)
        )
        notes = [f"{step.id}: {step.detail}" for step in document.steps if step.detail]
        if notes:
            parts.append("\n".join(notes))
    if document.keys_before is not None:
        parts.append(
            f"keys before: {_keys(document.keys_before)}\n"
            f"keys after:  {_keys(document.keys_after)}"
        )
    cleanup = document.cleanup
    if cleanup is not None and cleanup.leftovers:
        lines = ["LEFT ON THE DISK, remove with:"]
        for left in cleanup.leftovers:
            lines += [f"  {left.what} {left.key or ''}:"] + [
                f"    {command}" for command in left.commands
            ]
        parts.append("\n".join(lines))
    if cleanup is not None and cleanup.pending_commands:
        parts.append(
            f"WARNING: {cleanup.pending_commands} command(s) timed out and may still reach "
            "the disk; read the keys again in a minute: "
            f"sg_persist --readonly --no-inquiry --in --read-keys {target.device}"
        )
    fence = document.fence_proof
    if fence:
        parts.append(
            f"fence proof: {fence.result} - {fence.text}; write side (SYNCHRONIZE "
            f"CACHE under Write Exclusive): {fence.write_side}"
        )
    verdict = document.verdict
    parts.append(f"verdict: {verdict.code} - {verdict.text}")
    return "\n\n".join(parts) + "\n"


def _keys(keys: "list[str] | None") -> str:
    if keys is None:
        return "unknown (READ KEYS failed)"
    return ", ".join(owner_of_key(int(k, 16)) for k in keys) or "none"
