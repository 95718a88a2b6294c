"""The cross-node fencing test, one node's part: ``guestprobe fencing-node STEP`` (Ansible's
``fencing.yml`` runs each step on the nodes it names, in order; guestprobe does the rest).

Every node finds its own path to the LU by its designator (the kernel's VPD page 0x83, else a
read-only scan) and registers its own key (:func:`guestprobe.fencing.keys.node_keys`: "gp", the
run id, 0x10 + node number). Node ``holder`` (A) reserves and preempts node ``victim`` (B); the
others are bystanders (registered, never preempted). The steps, in the playbook's order:

| step | nodes | commands |
|---|---|---|
| ``preflight`` | all | the read-only scan and the refusals of fencing-test, through every path |
| ``register`` | all | REGISTER; READ KEYS: registered |
| ``reserve`` | A | RESERVE Write Exclusive - Registrants Only |
| ``read`` | all | READ KEYS (every node's key), READ RESERVATION (A, type 5): the same from all |
| ``preempt`` | A | PREEMPT AND ABORT B (PREEMPT where refused); READ KEYS, READ RESERVATION |
| ``prove-write`` | B | READ KEYS (after the UNIT ATTENTION), SYNCHRONIZE CACHE(10), READ(10) |
| ``exclusive`` | A | SYNCHRONIZE CACHE(10), RELEASE, RESERVE Exclusive Access (type 6), READ(10) |
| ``prove-read`` | B | READ RESERVATION (A, type 6), READ(10): must get RESERVATION CONFLICT |
| ``cleanup`` | all | release and unregister this node's key where it is there |
| ``status`` | all | READ KEYS, READ RESERVATION: what is left, from every node |

Each step appends one JSON record to the node's record file; :mod:`.crossnode` judges them all
on the controller. A step interrupted (SIGINT, SIGTERM) or failing on a bug after it may have
registered or reserved cleans this node's key up itself before it exits.
"""


import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from guestprobe.collect import process
from guestprobe.collect.probe import ProbeOptions, Runner
from guestprobe.decode.persist import key_hex
from guestprobe.document.fencing import NODE_KIND, NodeRecord
from guestprobe.document.model import DiskReport
from guestprobe.fencing import proof, prout
from guestprobe.fencing.keys import NodeKeys
from guestprobe.fencing.preflight import (
    TARGET,
    PathFacts,
    Refusal,
    gather,
    path_facts,
    refusals,
    scanned_lu_paths,
    unknown_path_refusal,
)
from guestprobe.fencing.sequence import (
    ACCEPTED,
    EARO,
    FAIL,
    KEYS,
    OBSERVE,
    PASS,
    PROUT_OK,
    REFUSED,
    RESERVATION,
    WERO,
    WRITE_SIDE,
    FencingTest,
    PlannedStep,
    PrPath,
    Step,
)
from guestprobe.fencing.signals import Interrupted, SignalGuard

KIND = NODE_KIND
SCHEMA_VERSION = 1
HOLDER, PREEMPTED, BYSTANDER = "holder", "preempted", "bystander"
STEPS = (
    "preflight", "register", "reserve", "read", "preempt", "prove-write", "exclusive",
    "prove-read", "cleanup", "status",
)  # fmt: skip
WRITES_PR = ("register", "reserve", "preempt", "exclusive", "cleanup")  # send PR OUT
ROLE_OF_STEP = {"reserve": HOLDER, "preempt": HOLDER, "exclusive": HOLDER,
                "prove-write": PREEMPTED, "prove-read": PREEMPTED}  # fmt: skip


@dataclass(frozen=True)
class NodeRun:
    """Who is who in one cross-node run (the same on every node)."""

    lu: str
    keys: NodeKeys
    node: int
    holder: int
    victim: int

    @property
    def key(self) -> int:
        return self.keys.key(self.node)

    @property
    def role(self) -> str:
        if self.node == self.holder:
            return HOLDER
        return PREEMPTED if self.node == self.victim else BYSTANDER


def check_roles(nodes: int, node: int, holder: int, victim: int) -> "str | None":
    """Why these numbers make no run, or None."""
    if not all(1 <= n <= nodes for n in (node, holder, victim)):
        return f"--node, --holder and --victim are node numbers 1..{nodes}"
    if holder == victim:
        return "--holder and --victim must be two different nodes"
    return None


def send(step_id: str, title: str, argv: "list[str]", check: str, **more: Any) -> "PlannedStep":
    return PlannedStep(step_id, title, TARGET, tuple(argv), check, **more)


def plan(step: str, path: "PrPath", run: "NodeRun") -> "list[PlannedStep]":
    """The commands of ``step`` on this node, in order (preflight, cleanup: not planned)."""
    d, key = path.device, path.key
    holder, victim = run.keys.key(run.holder), run.keys.key(run.victim)
    everyone = run.keys.all()

    def keys(title: str, present: "Sequence[int]", absent: "Sequence[int]" = ()) -> PlannedStep:
        return send("read_keys", title, prout.read_keys(d), KEYS, present=tuple(present),
                    absent=tuple(absent))  # fmt: skip

    def reservation(title: str, prout_type: int) -> PlannedStep:
        return send("read_reservation", title, prout.read_reservation(d), RESERVATION,
                    holder=holder, reservation_type=prout_type)  # fmt: skip

    read10 = proof.read10(d, path.block_size)
    sync = proof.synchronize_cache10(d)
    others = [k for k in everyone if k != victim]
    plans = {
        "register": [
            send("register", "REGISTER this node's key", prout.register(d, key), PROUT_OK),
            keys("READ KEYS: this node's key is registered", [key]),
        ],
        "reserve": [send("reserve", "RESERVE Write Exclusive", prout.reserve(d, key), PROUT_OK)],
        "read": [
            keys("READ KEYS: every node's key", everyone),
            reservation("READ RESERVATION: held by the holder, type 5", WERO),
        ],
        "preempt": [
            send("preempt_abort", "PREEMPT AND ABORT the preempted node's key",
                 prout.preempt(d, key, victim, abort=True), PROUT_OK),
            send("preempt", "PREEMPT the preempted node's key (PREEMPT AND ABORT refused)",
                 prout.preempt(d, key, victim, abort=False), PROUT_OK,
                 fallback_for="preempt_abort"),
            keys("READ KEYS: the preempted node's key is gone", others, [victim]),
            reservation("READ RESERVATION: still the holder's, type 5", WERO),
        ],
        "prove-write": [
            keys("READ KEYS: this node's key is gone (after the UNIT ATTENTION)", others, [key]),
            send("proof_sync_cache", "SYNCHRONIZE CACHE(10) under Write Exclusive", sync,
                 WRITE_SIDE),
            send("proof_read_we", "READ(10) under Write Exclusive: GOOD", read10, ACCEPTED),
        ],
        "exclusive": [
            send("proof_sync_cache", "SYNCHRONIZE CACHE(10) from the holder", sync, ACCEPTED),
            send("proof_release", "RELEASE Write Exclusive", prout.release(d, key), PROUT_OK),
            send("proof_reserve_ea", "RESERVE Exclusive Access - Registrants Only",
                 prout.reserve(d, key, EARO), PROUT_OK),
            reservation("READ RESERVATION: the holder's, type 6", EARO),
            send("proof_read", "READ(10) from the holder: GOOD", read10, ACCEPTED),
        ],
        "prove-read": [
            reservation("READ RESERVATION: the holder's, type 6", EARO),
            send("proof_read", "READ(10) from the preempted node: reservation conflict",
                 read10, REFUSED),
        ],
        "status": [keys("READ KEYS: what is left", []),
                   send("read_reservation", "READ RESERVATION: what is left",
                        prout.read_reservation(d), OBSERVE)],
    }  # fmt: skip
    return plans[step]


@dataclass
class Located:
    """This node's path to the LU, as the step found it."""

    path: "PrPath | None"
    facts: "PathFacts | None" = None  # preflight only: the scan of the chosen path
    others: "tuple[PathFacts, ...]" = ()  # every other path to the LU on this node
    refusals: "tuple[Refusal, ...]" = ()


def locate(
    run: "NodeRun",
    discoverer: "Any",
    timeout_s: float,
    sys_root: "Any" = None,
    udev: "Any" = None,
    full: bool = False,
    force: bool = False,
    scan: "Callable[..., dict[str, DiskReport]]" = gather,
) -> "Located":
    """Find this node's paths to ``run.lu`` by designator; the first (by kernel name) is used.

    ``full`` (preflight): scan the chosen path read-only and judge every path as fencing-test does.
    """
    paths, unknown = scanned_lu_paths(discoverer, run.lu, [], timeout_s, sys_root, udev)
    found: "list[Refusal]" = []
    if unknown:
        found.append(unknown_path_refusal(unknown, run.lu))
    if not paths:
        found.append(Refusal("lu_not_found", TARGET, f"no path to the LU {run.lu} on this node"))
        return Located(None, refusals=tuple(found))
    chosen = min(paths, key=lambda p: p.name)
    disk = discoverer.describe(chosen.name)
    block_size = (disk.logical_block_size if disk is not None else None) or 512
    path = PrPath(TARGET, chosen.device, chosen.dev_path, run.key, block_size)
    others = tuple(p for p in paths if p.name != chosen.name)
    if not full:
        return Located(path, others=others, refusals=tuple(found))
    scanned = scan([chosen.name], timeout_s, sys=sys_root, udev=udev)
    if chosen.name not in scanned:
        found.append(Refusal("disk_unreachable", TARGET, f"{chosen.dev_path}: vanished"))
        return Located(path, others=others, refusals=tuple(found))
    facts = path_facts(TARGET, scanned[chosen.name])
    found += refusals(facts, None, run.keys, force, others)  # type: ignore[arg-type]
    if facts.lu_designator != run.lu:
        found.append(Refusal("lu_changed", TARGET,
                             f"{chosen.dev_path} answers LU {facts.lu_designator}, not {run.lu}"))
    return Located(path, facts, others, tuple(found))


class NodeStep:
    """One step on this node: send its plan (or clean up), then one record for the controller."""

    def __init__(
        self,
        step: str,
        run: "NodeRun",
        located: "Located",
        runner: "Runner" = process.run,
        timeout_s: float = ProbeOptions.timeout_s,
        guard: "SignalGuard | None" = None,
        on_step: "Callable[[Step], None] | None" = None,
    ) -> None:
        self.step, self.run, self.located = step, run, located
        self.runner, self.timeout_s = runner, timeout_s
        self.guard = guard or SignalGuard()
        self.on_step = on_step
        self.started = time.monotonic()

    def _test(self) -> "FencingTest":
        assert self.located.path is not None
        return FencingTest(self.located.path, None, [], None, run=self.runner,
                           timeout_s=self.timeout_s, on_step=self.on_step,
                           guard=self.guard)  # fmt: skip

    def execute(self) -> "NodeRecord":
        """Run the step; its record (``status``: pass, fail, refused, interrupted, error)."""
        record = self._record()
        if self.located.refusals or self.located.path is None:
            record.status = "refused"
            return record
        if self.step == "preflight":
            record.status = PASS
            return record
        test = self._test()
        if self.step == "cleanup":
            result = test.cleanup_only([self.run.key])
            record.cleanup = {
                "leftovers": result.leftovers,
                "keys_after": _hex(result.keys_after),
                "reservation_after": result.reservation_after,
            }
            record.steps = [s.record() for s in result.steps]
            clean = result.keys_after is not None and not result.leftovers
            record.status = PASS if clean else FAIL
            return self._finish(record)
        try:
            try:
                test.send_planned(plan(self.step, self.located.path, self.run))
                self.guard.check()
            except Exception as exc:  # a bug: clean this node up, then report it
                record.error = f"{type(exc).__name__}: {exc}"
        except (Interrupted, KeyboardInterrupt) as exc:
            record.interrupted = exc.name if isinstance(exc, Interrupted) else "SIGINT"
        steps = list(test.result.steps)
        if (record.error or record.interrupted) and self.step in WRITES_PR:
            self.guard.hold()
            result = self._test().cleanup_only([self.run.key])
            record.cleanup = {"leftovers": result.leftovers,
                              "keys_after": _hex(result.keys_after)}  # fmt: skip
            steps += result.steps
        record.steps = [s.record() for s in steps]
        if record.interrupted:
            record.status = "interrupted"
        elif record.error:
            record.status = "error"
        else:
            failed = any(s.status == FAIL for s in steps)
            record.status = FAIL if failed else PASS
        return self._finish(record)

    def _finish(self, record: "NodeRecord") -> "NodeRecord":
        record.duration_s = round(time.monotonic() - self.started, 3)
        return record

    def _record(self) -> "NodeRecord":
        run, located = self.run, self.located
        path = located.path
        return NodeRecord(
            kind=KIND,
            schema_version=SCHEMA_VERSION,
            step=self.step,
            run_id=run.keys.run_id,
            lu=run.lu,
            node=run.node,
            nodes=run.keys.nodes,
            holder=run.holder,
            victim=run.victim,
            role=run.role,
            key=key_hex(run.key),
            host=socket.gethostname(),
            device=None if path is None else path.device,
            dev_path=None if path is None else path.dev_path,
            other_paths=[p.dev_path for p in located.others],
            preflight=None if located.facts is None else located.facts.record(),
            refusals=list(located.refusals),
        )


def _hex(keys: "list[int] | None") -> "list[str] | None":
    return None if keys is None else [key_hex(k) for k in keys]
