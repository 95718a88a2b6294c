"""``guestprobe fencing-test``: the command line of the fencing test (the domain is in
:mod:`guestprobe.fencing`; this module parses, prints and maps the verdict to an exit status)."""


import sys
import time
from typing import Any

import click

from guestprobe.cli import common
from guestprobe.cli.common import emit, json_option, output_option, timeout_option
from guestprobe.errors import NotABlockDeviceError, RefusedError
from guestprobe.report.escape import terminal_lines

CONFIRM_FLAG = "--yes-i-understand-this-sends-pr-out"


def _emit_fencing(document: "dict[str, Any]", as_json: bool, output: "str | None") -> None:
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


def _names(device: str, peer: "str | None") -> "dict[str, str]":
    from guestprobe.fencing.preflight import PEER, TARGET

    names = {TARGET: common.resolve_targets((device,))[0]}  # type: ignore[index]
    if peer:
        names[PEER] = common.resolve_targets((peer,))[0]  # type: ignore[index]
    return names


def _pr_paths(discoverer: "Any", names: "dict[str, str]", keys: "Any") -> "dict[str, Any]":
    from guestprobe.fencing.preflight import TARGET
    from guestprobe.fencing.sequence import PrPath

    paths = {}
    for role, name in names.items():
        disk = discoverer.describe(name)
        if disk is None:
            raise NotABlockDeviceError(f"{name}: gone from sysfs")
        key = keys.target if role == TARGET else keys.peer
        block_size = disk.queue.get("logical_block_size") or 512
        paths[role] = PrPath(role, disk.scsi_device, disk.dev_path, key, block_size)
    return paths


def _plan(paths: "dict[str, Any]", as_json: bool) -> "dict[str, Any]":
    """Print the plan (on stderr with --json) and return it as the report's ``plan``."""
    from guestprobe.fencing.preflight import PEER, TARGET
    from guestprobe.fencing.report import render_plan
    from guestprobe.fencing.sequence import cleanup_commands, planned_steps

    steps = planned_steps(paths[TARGET], paths.get(PEER))
    cleanup = cleanup_commands(paths[TARGET], paths.get(PEER))
    plan = terminal_lines(render_plan(paths[TARGET], paths.get(PEER), steps, cleanup))
    if as_json:
        click.echo(plan, nl=False, err=True)
    else:
        common.write_out(plan)
    return {
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
    from guestprobe.collect.discover import Discoverer
    from guestprobe.fencing.keys import new_run_keys

    common.require_root()
    common.require_sg3_utils()
    names = _names(device, peer)
    sys_root, udev = _machine()
    discoverer = Discoverer(sys_root, udev)
    keys = new_run_keys()
    paths = _pr_paths(discoverer, names, keys)
    plan = _plan(paths, as_json)
    run = _Run(device, names, paths, keys, plan, as_json, output)
    options = {"force": force, "timeout_s": timeout_s, "peer": peer is not None}
    if not confirmed:  # the dry run: the read-only preflight says whether it would refuse
        reasons = run.refusals(discoverer, options, sys_root, udev)
        verdict = ("the read-only preflight would refuse it: "
                   + "; ".join(f"[{r.code}] {r.text}" for r in reasons) if reasons
                   else f"the read-only preflight finds no reason to refuse it; run again with "
                   f"{CONFIRM_FLAG} to send the commands above")
        raise RefusedError(f"nothing was sent (fencing-test sends PERSISTENT RESERVE OUT to the "
                           f"disk only with {CONFIRM_FLAG}): {verdict}")
    run.preflight(discoverer, options, sys_root, udev)
    run.test()


class _Run:
    """One confirmed run: the read-only preflight (and its refusals), then the test."""

    def __init__(self, device, names, paths, keys, plan, as_json, output) -> None:
        self.device, self.names, self.paths, self.keys = device, names, paths, keys
        self.plan, self.as_json, self.output = plan, as_json, output
        self.started = time.monotonic()
        self.facts: "dict[str, Any]" = {}
        self.other_paths: "list[Any]" = []
        self.options: "dict[str, Any]" = {}

    def document(self, verdict: "Any", **extra: "Any") -> "dict[str, Any]":
        from guestprobe.fencing.preflight import PEER, TARGET
        from guestprobe.fencing.report import build_document

        return build_document(
            self.facts[TARGET], self.facts.get(PEER), self.keys, self.plan, verdict, self.options,
            duration_s=time.monotonic() - self.started, other_paths=self.other_paths, **extra,
        )

    def preflight(self, discoverer: "Any", options: "dict[str, Any]", sys_root, udev) -> None:
        """Scan the paths read-only; RefusedError (after the report) when the test may not run."""
        from guestprobe.fencing.outcome import refused

        reasons = self.refusals(discoverer, options, sys_root, udev)
        if reasons:
            _emit_fencing(self.document(refused(reasons), refusals=reasons), self.as_json,
                          self.output)
            raise RefusedError("refused: " + "; ".join(f"[{r.code}] {r.text}" for r in reasons))

    def refusals(self, discoverer: "Any", options: "dict[str, Any]", sys_root, udev
                 ) -> "list[Any]":
        """The read-only preflight: why the test may not run (none: it may)."""
        from guestprobe.fencing.preflight import (
            PEER,
            TARGET,
            gather,
            path_facts,
            refusals,
            scanned_lu_paths,
            unknown_path_refusal,
        )
        self.options = options
        timeout_s = options["timeout_s"]
        names = self.names
        found = gather(list(dict.fromkeys(names.values())), timeout_s, sys=sys_root, udev=udev)
        if names[TARGET] not in found:
            raise NotABlockDeviceError(f"{self.device}: vanished before the test")
        self.facts = {
            role: path_facts(role, found[name]) for role, name in names.items() if name in found
        }
        target = self.facts[TARGET]
        self.other_paths, unknown = scanned_lu_paths(
            discoverer, target.lu_designator, list(names.values()), timeout_s, sys_root, udev
        )
        reasons = refusals(target, self.facts.get(PEER), self.keys, options["force"],
                           self.other_paths)
        if unknown:
            reasons.append(unknown_path_refusal(unknown, target.lu_designator or "?"))
        return reasons

    def test(self) -> None:
        """Send the planned steps, clean up, judge, report; exit with the verdict's status."""
        from guestprobe.fencing.outcome import judge
        from guestprobe.fencing.preflight import PEER, TARGET
        from guestprobe.fencing.sequence import FencingTest
        from guestprobe.fencing.signals import SignalGuard

        counter = [0]
        facts, paths = self.facts, self.paths
        with SignalGuard() as guard:
            result = FencingTest(
                paths[TARGET],
                paths.get(PEER),
                facts[TARGET].keys or [],
                facts[TARGET].reservation,
                timeout_s=self.options["timeout_s"],
                on_step=lambda step: _progress(step, counter),
                guard=guard,
                peer_keys_before=facts[PEER].keys if PEER in facts else None,
            ).run()
        verdict = judge(result, with_peer=PEER in paths)
        _emit_fencing(self.document(verdict, result=result), self.as_json, self.output)
        for left in result.leftovers:
            click.echo(
                f"guestprobe: LEFT on {left['device']}: {left['what']} {left['key'] or ''}; "
                f"remove with: {' ; '.join(left['commands'])}",
                err=True,
            )
        if verdict.exit_status:
            click.echo(f"guestprobe: fencing-test: {verdict.code}: {verdict.text}", err=True)
            sys.exit(verdict.exit_status)


# -- the cross-node test: one node's step, and the controller's verdict ----------------------------
@click.command("fencing-node")
@click.argument("step", type=click.Choice(
    ["preflight", "register", "reserve", "read", "preempt", "prove-write", "exclusive",
     "prove-read", "cleanup", "status"]))  # fmt: skip
@click.option("--lu", required=True, metavar="DESIGNATOR",
              help="The LU, by its designator as scan reports it (every node finds its own path).")
@click.option("--run-id", required=True, metavar="HEX",
              help="10 hex digits, the same on every node of the run (the keys carry it).")
@click.option("--node", "node", type=int, required=True, help="This node's number, 1..--nodes.")
@click.option("--nodes", type=int, required=True, help="How many nodes take part.")
@click.option("--holder", type=int, default=1, show_default=True,
              help="The node that reserves and preempts (A).")
@click.option("--victim", type=int, default=2, show_default=True,
              help="The node A preempts (B); its READ must then be refused.")
@click.option("--record", "record_file", required=True, metavar="FILE",
              help="Append this step's JSON record to FILE (the controller judges them all).")
@click.option(CONFIRM_FLAG, "confirmed", is_flag=True,
              help="Really send PERSISTENT RESERVE OUT (steps other than preflight and status).")
@click.option("--force", is_flag=True,
              help="preflight: accept registrations this run did not make (left alone).")
@json_option
@timeout_option("Seconds one command may take.")
def fencing_node(step, lu, run_id, node, nodes, holder, victim, record_file, confirmed, force,
                 as_json, timeout_s):  # fmt: skip
    """One node's STEP of the cross-node fencing test (run by ansible/fencing.yml, in order).

    Exit 0: the step passed; 9: it failed; 10: refused (preflight, or no confirmation flag);
    130/143: interrupted (this node's key cleaned up).
    """
    import json

    from guestprobe.collect.discover import Discoverer
    from guestprobe.fencing.keys import node_keys
    from guestprobe.fencing.node import WRITES_PR, NodeRun, NodeStep, check_roles, locate
    from guestprobe.fencing.signals import SignalGuard

    try:
        keys = node_keys(run_id, nodes)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    problem = check_roles(nodes, node, holder, victim)
    if problem:
        raise click.UsageError(problem)
    if (step in WRITES_PR or step.startswith("prove")) and not confirmed:
        raise RefusedError(f"nothing was sent: {step} sends commands to the LU; run again with "
                           f"{CONFIRM_FLAG}")  # fmt: skip
    common.require_root()
    common.require_sg3_utils()
    run = NodeRun(lu, keys, node, holder, victim)
    sys_root, udev = _machine()
    discoverer = Discoverer(sys_root, udev)
    located = locate(run, discoverer, timeout_s, sys_root, udev, full=step == "preflight",
                     force=force)  # fmt: skip
    counter = [0]
    with SignalGuard() as guard:
        record = NodeStep(step, run, located, timeout_s=timeout_s, guard=guard,
                          on_step=lambda s: _progress(s, counter)).execute()  # fmt: skip
    line = json.dumps(record, sort_keys=True)
    _append_record(record_file, line)
    common.write_out((line if as_json else _node_summary(record)) + "\n")
    status = {"pass": 0, "refused": 10, "interrupted": 130}.get(record["status"], 9)
    if record["interrupted"] == "SIGTERM":
        status = 143
    if status:
        sys.exit(status)


def _append_record(record_file: str, line: str) -> None:
    """One step's record, a JSON line, appended to the node's record file."""
    try:
        with open(record_file, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError as exc:
        from guestprobe.errors import OutputError

        raise OutputError(f"{record_file}: {exc.strerror}") from exc


def _node_summary(record: "dict[str, Any]") -> str:
    lines = [f"fencing-node {record['step']} on {record['host']} (node {record['node']}, "
             f"{record['role']}): {record['status']} - {record['device']} for LU {record['lu']}"]
    lines += [f"REFUSED [{r['code']}] {r['text']}" for r in record["refusals"]]
    lines += [f"  {s['id']}: exit {s['exit_status']} {s['status']} {s['detail']}".rstrip()
              for s in record["steps"]]  # fmt: skip
    return terminal_lines("\n".join(lines) + "\n").rstrip("\n")


RECORDS_MAX_BYTES = 16 << 20  # one node's record file (a few KiB per step)


@click.command("fencing-cluster")
@click.argument("records", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--run-id", metavar="HEX", help="The run to judge (default: the last one).")
@json_option
@output_option
def fencing_cluster(records, run_id, as_json, output):
    """Judge a cross-node fencing test from every node's RECORDS (fencing-node --record files).

    Prints every command each node sent, the fence proof and whether cleanup was verified from
    every node. Exit 0: fencing proven; 9: a step failed, the nodes cannot fence each other or
    something is left (the commands that remove it are printed); 10: a node refused the LU.
    """
    from guestprobe.document.inputs import load_json, read_input_file
    from guestprobe.errors import BadInputError
    from guestprobe.fencing.crossnode import judge, render_table

    lines = []
    for name in records:
        data = read_input_file(name)  # a regular file, opened without blocking, bounded
        if len(data) > RECORDS_MAX_BYTES:
            raise BadInputError(f"{name}: larger than the {RECORDS_MAX_BYTES >> 20} MiB "
                                "a node's records may be")  # fmt: skip
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            record = load_json(line, f"{name}:{number}")  # strict JSON, depth capped
            if not isinstance(record, dict):
                raise BadInputError(f"{name}:{number}: not a JSON record")
            lines.append(record)
    document = judge(lines, run_id)
    emit(document, as_json, output, render_table)
    verdict = document["verdict"]
    if verdict["exit_status"]:
        click.echo(f"guestprobe: fencing-cluster: {verdict['code']}: {verdict['text']}", err=True)
        sys.exit(verdict["exit_status"])
