"""The cross-node fencing test's verdict, from every node's records (:mod:`.node`). Pure.

``guestprobe fencing-cluster RECORDS...`` runs this on the controller after the playbook's steps.

| code | exit | when |
|---|---|---|
| ``fencing_proven`` | 0 | every step passed, every node saw the same keys and reservation, the preempted node's READ(10) got RESERVATION CONFLICT and the holder's GOOD (or: not proven, said so), cleanup verified from every node |
| ``nodes_cannot_fence`` | 9 | the preempted node's READ(10) was GOOD under Exclusive Access, or a node's REGISTER met another node's key on its own I_T nexus: one host initiator, a shared qemu-pr-helper |
| ``views_differ`` | 9 | READ KEYS / READ RESERVATION differ between nodes: not the same LU, or a node not reaching it |
| ``preempt_abort_unsupported`` | 9 | PREEMPT AND ABORT refused (PREEMPT used), all else passed |
| ``step_failed`` | 9 | a step failed or did not run on a node (the first is named) |
| ``cleanup_incomplete`` | 9 | a key or reservation of the run is left: the exact commands, per node, are listed |
| ``refused`` | 10 | a node's preflight refused the LU (nothing was sent to it) |
"""  # noqa: E501


from collections.abc import Iterable, Sequence
from typing import Any

from guestprobe.collect.sg3 import SG_LIB_CAT_RES_CONFLICT
from guestprobe.compat import shell_join
from guestprobe.document.fencing import (
    CLUSTER_KIND,
    NODE_KIND,
    ClusterCleanup,
    ClusterDocument,
    FenceProof,
    FencingOutcome,
    HostRefusal,
    Leftover,
    NodeEntry,
    NodeRecord,
    RefusalRecord,
    Row,
    StepRecord,
    View,
    is_node_record,
)
from guestprobe.errors import ExitStatus
from guestprobe.fencing import proof, prout
from guestprobe.fencing.keys import node_keys
from guestprobe.fencing.node import BYSTANDER, HOLDER, PREEMPTED, STEPS

KIND = CLUSTER_KIND
SCHEMA_VERSION = 1
_EXPECTED = {  # step -> the roles that run it
    **{step: (HOLDER, PREEMPTED, BYSTANDER) for step in STEPS},
    "reserve": (HOLDER,), "preempt": (HOLDER,), "exclusive": (HOLDER,),
    "prove-write": (PREEMPTED,), "prove-read": (PREEMPTED,),
}  # fmt: skip
_NO_STEPS: "tuple[StepRecord, ...]" = ()


def records_of(data: "Iterable[Any]") -> "list[NodeRecord]":
    """The fencing-node records among JSON ``data`` (others are skipped), checked: a bad one is
    refused with one line naming its field (:class:`guestprobe.errors.BadInputError`)."""
    return [
        NodeRecord.from_dict(item, f"record {number}")
        for number, item in enumerate(data, start=1)
        if is_node_record(item)
    ]


def latest_run(records: "Sequence[NodeRecord]", run_id: "str | None" = None) -> "list[NodeRecord]":
    """The records of ``run_id`` (default: the last record's run), one per node and step (the
    last)."""
    usable = [r for r in records if r.kind == NODE_KIND]
    if not usable:
        return []
    wanted = run_id or usable[-1].run_id
    latest: "dict[tuple[int, str], NodeRecord]" = {}
    for record in usable:
        if record.run_id == wanted:
            latest[(record.node, record.step)] = record
    return list(latest.values())


def _steps(record: "NodeRecord | None") -> "Sequence[StepRecord]":
    return _NO_STEPS if record is None else record.steps


def _refusals(record: "NodeRecord | None") -> "Sequence[RefusalRecord]":
    return () if record is None else record.refusals


def _find(record: "NodeRecord | None", step_id: str) -> "StepRecord | None":
    return next((step for step in _steps(record) if step.id == step_id), None)


def _view(record: "NodeRecord | None") -> "tuple[Any, Any]":
    keys = _find(record, "read_keys")
    reservation = _find(record, "read_reservation")
    held = None if reservation is None else reservation.held()
    keys_hex = None if keys is None else keys.keys_hex()
    return (
        None if keys_hex is None else sorted(keys_hex),
        None if held is None else (held.key_hex, held.type_code),
    )


def _answer(record: "NodeRecord | None", step_id: str) -> "str | None":
    for step in _steps(record):
        if step.id == step_id and step.exit_statuses:
            return proof.answer(step.exit_status)
    return None


class CrossNode:
    """The records of one run, by node and step."""

    def __init__(self, records: "Sequence[NodeRecord]") -> None:
        self.records = list(records)
        first = self.records[0] if self.records else None
        self.run_id = None if first is None else first.run_id
        self.lu = None if first is None else first.lu
        self.holder = None if first is None else first.holder
        self.victim = None if first is None else first.victim
        self.node_count = int((first.nodes if first is not None else 0) or 0)
        self.by = {(r.node, r.step): r for r in self.records}
        self.nodes = sorted({r.node for r in self.records} | set(range(1, self.node_count + 1)))

    def record(self, node: "int | None", step: str) -> "NodeRecord | None":
        return self.by.get((node, step))  # type: ignore[arg-type]

    def role(self, node: int) -> str:
        if node == self.holder:
            return HOLDER
        return PREEMPTED if node == self.victim else BYSTANDER

    def host(self, node: "int | None") -> str:
        for (n, _), record in self.by.items():
            if n == node:
                return str(record.host or f"node {node}")
        return f"node {node}"

    def device(self, node: "int | None") -> str:
        for step in ("preflight", "register", "cleanup", "status"):
            record = self.record(node, step)
            if record and record.device:
                return str(record.device)
        return "DEVICE"


def _rows(run: "CrossNode") -> "list[Row]":
    rows = []
    for step in STEPS:
        for node in run.nodes:
            for sent in _steps(run.record(node, step)):
                rows.append(Row(
                    node=node, host=run.host(node), role=run.role(node), step=step,
                    id=sent.id, command=sent.command, exit_status=sent.exit_status,
                    status=sent.status, attempts=sent.attempts, detail=sent.detail or "",
                ))  # fmt: skip
    return rows


def _missing_or_failed(run: "CrossNode") -> "list[str]":
    problems = []
    for step in STEPS[1:]:
        if step == "preflight":
            continue
        for node in run.nodes:
            if run.role(node) not in _EXPECTED[step]:
                continue
            record = run.record(node, step)
            if record is None:
                if step not in ("cleanup", "status"):
                    problems.append(f"{step} did not run on {run.host(node)}")
                continue
            if record.status not in ("pass",):
                failed = [s for s in record.steps if s.status == "fail"]
                what = (
                    f"{failed[0].id}: {failed[0].detail}"
                    if failed
                    else record.error or record.interrupted or record.status
                )
                problems.append(f"{step} on {run.host(node)}: {what}")
    return problems


def _leftovers(run: "CrossNode") -> "tuple[bool, list[Leftover]]":
    """(verified, what is left with the commands that remove it, per node)."""
    if not run.run_id or not run.node_count:
        return False, []
    keys = node_keys(str(run.run_id), run.node_count)
    ours = {f"{k:016x}": keys.node_of(k) for k in keys.all()}
    left: "list[Leftover]" = []
    verified = True
    seen_key: "set[str]" = set()
    for node in run.nodes:
        record = run.record(node, "status")
        keys_now, held = _view(record)
        if record is None or keys_now is None or record.status != "pass":
            verified = False
            left.append(Leftover(run.host(node), "state unknown (status did not read)",
                                 [shell_join(prout.read_keys(run.device(node)))]))  # fmt: skip
            continue
        preflight = run.record(node, "preflight")
        before = None if preflight is None else preflight.preflight_keys()
        if before is not None and sorted(before) != [k for k in keys_now if k not in ours]:
            verified = False
        for key in keys_now:
            owner = ours.get(key)
            if owner is None or key in seen_key:
                continue
            seen_key.add(key)
            device = run.device(owner)
            left.append(Leftover(run.host(owner), f"registration 0x{key}",
                                 [shell_join(prout.unregister(device, int(key, 16)))]))
        if held is not None and held[0] in ours and f"res{held[0]}" not in seen_key:
            seen_key.add(f"res{held[0]}")
            owner = ours[held[0]]
            argv = prout.release(run.device(owner), int(held[0], 16), int(held[1]))
            left.insert(0, Leftover(run.host(owner), f"reservation type {held[1]}",
                                    [shell_join(argv)]))  # fmt: skip
    return verified and not left, left


def judge(records: "Sequence[NodeRecord]", run_id: "str | None" = None) -> "ClusterDocument":
    """The cross-node document: every command from every node, the proof, cleanup, verdict."""
    run = CrossNode(latest_run(records, run_id))
    refusals = [
        HostRefusal(run.host(node), refusal.code, refusal.role, refusal.text)
        for node in run.nodes
        for refusal in _refusals(run.record(node, "preflight"))
    ]
    views = {run.host(node): _view(run.record(node, "read")) for node in run.nodes}
    victim_we = run.record(run.victim, "prove-write")
    victim_ea = run.record(run.victim, "prove-read")
    holder_ea = run.record(run.holder, "exclusive")
    fence = FenceProof.from_dict(proof.summarize(
        fenced_read=_answer(victim_ea, "proof_read"),
        holder_read=_answer(holder_ea, "proof_read"),
        fenced_read_we=_answer(victim_we, "proof_read_we"),
        fenced_sync=_answer(victim_we, "proof_sync_cache"),
        holder_sync=_answer(holder_ea, "proof_sync_cache"),
    ))  # fmt: skip
    verified, left = _leftovers(run)
    problems = _missing_or_failed(run)
    unsupported = any(s.status == "unsupported" for s in _steps(run.record(run.holder, "preempt")))
    return ClusterDocument(
        kind=KIND,
        schema_version=SCHEMA_VERSION,
        run_id=run.run_id,
        lu=run.lu,
        nodes=[_node_entry(run, node) for node in run.nodes],
        refusals=refusals,
        rows=_rows(run),
        views={host: View(v[0], None if v[1] is None else list(v[1])) for host, v in views.items()},
        fence_proof=fence,
        cleanup=ClusterCleanup(verified, left),
        verdict=_verdict(run, refusals, views, fence, verified, left, problems, unsupported),
    )


def _node_entry(run: "CrossNode", node: int) -> "NodeEntry":
    preflight = run.record(node, "preflight")
    key = None if preflight is None else preflight.key
    return NodeEntry(node, run.host(node), run.role(node), run.device(node), key)


def _verdict(run, refusals, views, fence, verified, left, problems, unsupported):
    def verdict(code: str, text: str, status: int) -> "FencingOutcome":
        return FencingOutcome(code, text, int(status))

    if not run.records:
        return verdict("step_failed", "no record of any node (is guestprobe installed on the "
                       "nodes? fencing.yml runs guestprobe_command)", ExitStatus.TEST_FAILED)
    if refusals:
        text = "; ".join(f"{r.host}: [{r.code}] {r.text}" for r in refusals)
        return verdict("refused", text, ExitStatus.REFUSED)
    if not verified:
        what = "; ".join(
            f"on {item.host}: {item.what} (remove with: {' ; '.join(item.commands)})"
            for item in left
        )
        return verdict(
            "cleanup_incomplete",
            (what or "the registrations after cleanup differ from those before")
            + f"; or run the playbook's cleanup again: -e fencing_run_id={run.run_id} "
            "--tags cleanup",
            ExitStatus.TEST_FAILED,
        )
    if fence.result == proof.NOT_ENFORCED:
        return verdict(
            "nodes_cannot_fence",
            f"{run.host(run.victim)} and {run.host(run.holder)} cannot fence each other: "
            + str(fence.text),
            ExitStatus.TEST_FAILED,
        )
    shared = [
        node for node in run.nodes
        if any(s.id == "register" and s.exit_status == SG_LIB_CAT_RES_CONFLICT
               for s in _steps(run.record(node, "register")))
    ]  # fmt: skip
    if shared:
        return verdict(
            "nodes_cannot_fence",
            f"REGISTER from {', '.join(run.host(n) for n in shared)} got RESERVATION CONFLICT "
            "on an LU without its key: its I_T nexus already carries another node's key (one "
            "host initiator, a shared qemu-pr-helper), so these nodes cannot fence each other",
            ExitStatus.TEST_FAILED,
        )
    if problems:
        return verdict("step_failed", problems[0], ExitStatus.TEST_FAILED)
    distinct = {repr(view) for view in views.values()}
    if len(distinct) != 1:
        shown = "; ".join(f"{host}: keys {v[0]}, reservation {v[1]}" for host, v in views.items())
        return verdict("views_differ", f"the nodes see different PR states: {shown}",
                       ExitStatus.TEST_FAILED)  # fmt: skip
    if unsupported:
        return verdict(
            "preempt_abort_unsupported",
            "PR works between the nodes, but the target refuses PREEMPT AND ABORT (PREEMPT "
            f"was used), which Veritas I/O fencing relies on; fence proof: {fence.result} "
            f"({fence.text}); write side: {fence.write_side}",
            ExitStatus.TEST_FAILED,
        )
    return verdict(
        "fencing_proven",
        f"REGISTER from {len(run.nodes)} nodes, RESERVE, identical READ KEYS and READ "
        f"RESERVATION from every node, PREEMPT AND ABORT of {run.host(run.victim)} by "
        f"{run.host(run.holder)}; fence proof: {fence.result} ({fence.text}); write side: "
        f"{fence.write_side}; cleanup verified from every node",
        ExitStatus.OK,
    )


def render_table(document: "ClusterDocument") -> str:
    """The document for a person: one row per command sent, then the proof and the verdict."""
    from guestprobe.report.table import grid

    parts = [f"fencing-cluster run {document.run_id} - LU {document.lu}"]
    parts.append(grid(
        ["NODE", "ROLE", "DEVICE", "KEY"],
        [[n.host, n.role, n.device, n.key or "-"] for n in document.nodes],
    ))  # fmt: skip
    for refusal in document.refusals:
        parts.append(f"REFUSED {refusal.host} [{refusal.code}] {refusal.text}")
    rows = [
        [row.host, row.step, str(row.id),
         "-" if row.exit_status is None else str(row.exit_status),
         str(row.status).upper() if row.status != "pass" else "pass", str(row.command)]
        for row in document.rows
    ]  # fmt: skip
    if rows:
        parts.append(grid(["NODE", "STEP", "COMMAND ID", "EXIT", "RESULT", "COMMAND"], rows))
    notes = [f"{r.host} {r.id}: {r.detail}" for r in document.rows if r.detail]
    if notes:
        parts.append("\n".join(notes))
    fence = document.fence_proof
    parts.append(f"fence proof: {fence.result} - {fence.text}; write side: "
                 f"{fence.write_side}")  # fmt: skip
    if document.cleanup.leftovers:
        parts.append("\n".join(
            ["LEFT ON THE LU, remove with:"]
            + [f"  on {item.host}: {c}" for item in document.cleanup.leftovers
               for c in item.commands]
        ))  # fmt: skip
    verdict = document.verdict
    parts.append(f"verdict: {verdict.code} - {verdict.text}")
    return "\n\n".join(parts) + "\n"
