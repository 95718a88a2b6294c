"""One fencing test, from its request to its report: the flow below the command line.

:class:`FencingRequest` is what ``guestprobe fencing-test`` was asked (frozen, every option once);
:class:`FencingRun` plans the run (paths, keys, the commands it would send), runs the read-only
preflight and its refusals, then the test itself, and gives the report document and the
outcome. It prints nothing and never exits: the command line shows the plan, confirms, prints
the report and maps the outcome to an exit status.
"""


import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from guestprobe.collect.discover import Discoverer
from guestprobe.collect.probe import ProbeOptions
from guestprobe.collect.sysfs import SysRoot
from guestprobe.collect.udev import UdevView
from guestprobe.document.fencing import DiskLeftover, FencingDocument
from guestprobe.errors import NotABlockDeviceError
from guestprobe.fencing import keys as run_keys
from guestprobe.fencing.keys import RunKeys
from guestprobe.fencing.outcome import FencingOutcome, judge, refused
from guestprobe.fencing.preflight import (
    PEER,
    TARGET,
    Refusal,
    gather,
    path_facts,
    refusals,
    scanned_lu_paths,
    unknown_path_refusal,
)
from guestprobe.fencing.report import build_document, render_plan
from guestprobe.fencing.sequence import (
    FencingResult,
    FencingTest,
    PrPath,
    cleanup_commands,
    planned_steps,
)
from guestprobe.fencing.signals import SignalGuard


@dataclass(frozen=True)
class FencingRequest:
    """What a fencing test is asked to do (kernel names already resolved from the arguments)."""

    device: str  # as given, for messages
    target: str  # the target path's kernel name
    peer: "Optional[str]" = None  # a second path's kernel name: test the fence too
    force: bool = False  # run despite registrations this run did not make (left alone)
    timeout_s: float = ProbeOptions.timeout_s  # seconds one command may take

    @property
    def names(self) -> "Dict[str, str]":
        return {TARGET: self.target, **({PEER: self.peer} if self.peer else {})}


@dataclass(frozen=True)
class Machine:
    """This machine's sysfs root and udev database (tests put a fake tree here)."""

    sys: "SysRoot"
    udev: "UdevView"

    @classmethod
    def here(cls) -> "Machine":
        root = SysRoot()
        return cls(root, UdevView(run_dir=root.path("/run/udev")))


@dataclass(frozen=True)
class TestDone:
    """A test that was sent: its report, its outcome and what it could not remove."""

    document: "FencingDocument"
    outcome: "FencingOutcome"
    leftovers: "List[DiskLeftover]"


class FencingRun:
    """One run: planned on creation; :meth:`refusals` (read-only), then :meth:`test`."""

    def __init__(self, request: "FencingRequest", machine: "Machine",
                 keys: "Optional[RunKeys]" = None) -> None:
        self.request, self.machine = request, machine
        self.discoverer = Discoverer(machine.sys, machine.udev)
        self.keys = keys or run_keys.new_run_keys()
        self.paths = self._pr_paths()
        self.steps = planned_steps(self.paths[TARGET], self.paths.get(PEER))
        self.cleanup = cleanup_commands(self.paths[TARGET], self.paths.get(PEER))
        self.started = time.monotonic()
        self.facts: "Dict[str, Any]" = {}
        self.other_paths: "List[Any]" = []

    def _pr_paths(self) -> "Dict[str, PrPath]":
        paths = {}
        for role, name in self.request.names.items():
            disk = self.discoverer.describe(name)
            if disk is None:
                raise NotABlockDeviceError(f"{name}: gone from sysfs")
            key = self.keys.target if role == TARGET else self.keys.peer
            block_size = disk.logical_block_size or 512
            paths[role] = PrPath(role, disk.scsi_device, disk.dev_path, key, block_size)
        return paths

    def plan_text(self) -> str:
        """Every command the run would send, for people (not yet escaped)."""
        return render_plan(self.paths[TARGET], self.paths.get(PEER), self.steps, self.cleanup)

    @property
    def plan(self) -> "Dict[str, Any]":
        """The plan as the report carries it."""
        return {
            "test": [
                {"id": step.id, "path": step.role, "argv": list(step.argv),
                 "only_if_refused": step.fallback_for}
                for step in self.steps
            ],
            "cleanup_as_needed": self.cleanup,
        }

    @property
    def options(self) -> "Dict[str, Any]":
        """The options as the report carries them."""
        request = self.request
        return {"force": request.force, "timeout_s": request.timeout_s,
                "peer": request.peer is not None}

    def document(self, outcome: "FencingOutcome", **extra: "Any") -> "FencingDocument":
        return build_document(
            self.facts[TARGET], self.facts.get(PEER), self.keys, self.plan, outcome,
            self.options, duration_s=time.monotonic() - self.started,
            other_paths=self.other_paths, **extra,
        )

    def refusals(self) -> "List[Refusal]":
        """The read-only preflight: why the test may not run (none: it may)."""
        request, machine, names = self.request, self.machine, self.request.names
        timeout_s = request.timeout_s
        found = gather(list(dict.fromkeys(names.values())), timeout_s, sys=machine.sys,
                       udev=machine.udev)
        if names[TARGET] not in found:
            raise NotABlockDeviceError(f"{request.device}: vanished before the test")
        self.facts = {
            role: path_facts(role, found[name]) for role, name in names.items() if name in found
        }
        target = self.facts[TARGET]
        self.other_paths, unknown = scanned_lu_paths(
            self.discoverer, target.lu_designator, list(names.values()), timeout_s,
            machine.sys, machine.udev,
        )
        reasons = refusals(target, self.facts.get(PEER), self.keys, request.force,
                           self.other_paths)
        if unknown:
            reasons.append(unknown_path_refusal(unknown, target.lu_designator or "?"))
        return reasons

    def refusal_document(self, reasons: "List[Refusal]") -> "FencingDocument":
        """The report of a run the preflight refused."""
        return self.document(refused(reasons), refusals=reasons)

    def test(self, on_step: "Callable[[Any], None]") -> "TestDone":
        """Send the planned steps, clean up, judge: the report and the outcome."""
        facts, paths = self.facts, self.paths
        with SignalGuard() as guard:
            result: "FencingResult" = FencingTest(
                paths[TARGET],
                paths.get(PEER),
                facts[TARGET].keys or [],
                facts[TARGET].reservation,
                timeout_s=self.request.timeout_s,
                on_step=on_step,
                guard=guard,
                peer_keys_before=facts[PEER].keys if PEER in facts else None,
            ).run()
        outcome = judge(result, with_peer=PEER in paths)
        return TestDone(self.document(outcome, result=result), outcome, result.leftovers)
