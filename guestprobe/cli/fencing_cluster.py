"""``guestprobe fencing-node`` and ``fencing-cluster``: the command line of the cross-node
fencing test (one node's step, and the controller's verdict; the domain is in
:mod:`guestprobe.fencing.node` and :mod:`guestprobe.fencing.crossnode`)."""


import json
import sys
from typing import Any

import click

from guestprobe.cli import common
from guestprobe.cli.common import emit, json_option, output_option, timeout_option
from guestprobe.cli.fencing import CONFIRM_FLAG, progress
from guestprobe.errors import RefusedError
from guestprobe.report.escape import terminal_lines


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
    from guestprobe.collect.discover import Discoverer
    from guestprobe.fencing.keys import node_keys
    from guestprobe.fencing.node import WRITES_PR, NodeRun, NodeStep, check_roles, locate
    from guestprobe.fencing.run import Machine
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
    machine = Machine.here()
    sys_root, udev = machine.sys, machine.udev
    discoverer = Discoverer(sys_root, udev)
    located = locate(run, discoverer, timeout_s, sys_root, udev, full=step == "preflight",
                     force=force)  # fmt: skip
    counter = [0]
    with SignalGuard() as guard:
        record = NodeStep(step, run, located, timeout_s=timeout_s, guard=guard,
                          on_step=lambda s: progress(s, counter)).execute()  # fmt: skip
    _finish(record.to_dict(), record_file, as_json)


def _finish(record: "dict[str, Any]", record_file: str, as_json: bool) -> None:
    """The step's record appended to the node's file and printed; its exit status."""
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
    from guestprobe.document.fencing import NodeRecord, is_node_record
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
            if is_node_record(record):  # another node's record: data, checked
                lines.append(NodeRecord.from_dict(record, f"{name}:{number}"))
    judged = judge(lines, run_id)
    emit(judged.to_dict(), as_json, output, lambda _: render_table(judged))
    verdict = judged.verdict
    if verdict.exit_status:
        click.echo(f"guestprobe: fencing-cluster: {verdict.code}: {verdict.text}", err=True)
        sys.exit(verdict.exit_status)
