"""Probe the disks from worker processes forked from this interpreter (lib engine).

A LUN that hangs leaves the thread that sent it a command in uninterruptible sleep, which no
signal ends: so the commands are sent from worker processes the scan can abandon. A worker is a
fork (process.fork_worker), not a new Python, forked from a state without threads (this module
starts none, and the lib engine's scan runs no thread pool); at most ``max_workers`` run, each
probing a small group of disks one after the other (a fork costs a few hundred milliseconds in a
TCG guest: copy-on-write faults of the whole interpreter). A worker killed past its deadline
takes only the disk it was probing with it; the rest of its group goes to a new worker.

For each disk, the worker runs the probe plan and streams on a pipe (pickled records, each framed
by its length) what the plan's inputs were: each command's answer (a :class:`CommandResult`) and
each kernel size it read.
The scan then runs the same plan again in this process over those answers (:class:`_Replay`), so
the records are built exactly as the in-process plan builds them — and a worker that did not
finish (killed past its deadline) gives the same records as a command that timed out today: the
answers up to the command in flight, that command timed out, the rest skipped.
"""


import os
import pickle
import selectors
import struct
import time
import typing
from dataclasses import dataclass, field

from guestprobe.collect import process
from guestprobe.collect.discover import BlockDisk
from guestprobe.collect.probe import KernelCapacity, ProbeOptions, ProbeResult, Runner, probe_disk
from guestprobe.collect.process import CommandResult

GRACE_S = 2.0  # beyond the probe timeout, before a silent worker is killed


# the worker's messages, each pickled and framed by its length (the pipe joins this interpreter
# and its own fork: records go across as they are, the answers' bytes without hex)
BEGIN, SENDING, COMMAND, FAILED, KERNEL_CAPACITY, DONE = range(6)
_FRAME = struct.Struct(">I")


def _frame(kind: int, *values: "typing.Any") -> bytes:
    data = pickle.dumps((kind, values), pickle.HIGHEST_PROTOCOL)
    return _FRAME.pack(len(data)) + data


def _worker(
    write_fd: int,
    disks: "list[BlockDisk]",
    group: "list[int]",
    options: "ProbeOptions",
    run: "Runner",
    kernel_capacity: "typing.Callable[[BlockDisk], KernelCapacity]",
    known: "dict[int, _DiskRun]",
    output_share: int,
) -> None:
    """The child: each disk's plan in turn, every input streamed to the parent as it is known.

    A disk in ``known`` was begun by a worker that died: its inputs up to the command that
    worker died sending are taken from there, not sent again. Its tools may keep
    ``output_share`` bytes of output, its share of the scan's total."""
    out = os.fdopen(write_fd, "wb", buffering=0)
    process.limit_output(output_share)

    def emit(kind: int, *values: "typing.Any") -> None:
        out.write(_frame(kind, *values))

    for index in group:
        disk = disks[index]
        capacity = kernel_capacity(disk)
        earlier = known.get(index, _DiskRun(index))
        commands, capacities = list(earlier.commands), list(earlier.capacities)

        def streamed_run(
            argv: "typing.Sequence[str]",
            timeout_s: float,
            commands: "list[CommandResult]" = commands,
        ) -> "CommandResult":
            if commands:
                command = commands.pop(0)
            else:
                emit(SENDING, list(argv))
                command = run(argv, timeout_s)
            emit(COMMAND, command)
            return command

        def streamed_capacity(
            capacity: "KernelCapacity" = capacity,
            capacities: "list[tuple[int | None, int | None]]" = capacities,
        ) -> "tuple[int | None, int | None]":
            size = capacities.pop(0) if capacities else capacity()
            emit(KERNEL_CAPACITY, tuple(size))
            return size

        started, abandoned = process.processes_started(), process.abandoned_processes()
        output_left = process.output_left()
        emit(BEGIN, index)
        try:
            probe_disk(disk, options, streamed_run, streamed_capacity)
        except Exception as exc:  # a bug: the worker dies, and the parent is told why
            emit(FAILED, f"{type(exc).__name__}: {exc}"[:200])
            raise
        emit(
            DONE,
            process.processes_started() - started,
            process.abandoned_processes() - abandoned,
            output_left - process.output_left(),
        )
    out.close()


@dataclass
class _DiskRun:
    """What one disk's plan saw in a worker."""

    index: int
    commands: "list[CommandResult]" = field(default_factory=list)
    capacities: "list[tuple[int | None, int | None]]" = field(default_factory=list)
    in_flight: "tuple[list[str], float] | None" = None  # argv, when it was sent
    failed: "str | None" = None  # the exception its worker died of, when it said
    done: bool = False
    processes: int = 0
    abandoned: int = 0
    output: int = 0  # bytes of its tools' output kept


@dataclass
class _Worker:
    group: "list[int]"  # the disks it probes, in order
    pid: int
    fd: int
    deadline: float
    output_share: int = 0
    buffer: bytearray = field(default_factory=bytearray)
    runs: "list[_DiskRun]" = field(default_factory=list)  # begun, in order; the last is current


class _Replay:
    """The plan's inputs as the worker saw them, in order; the command in flight timed out."""

    def __init__(self, worker: "_DiskRun", killed: bool) -> None:
        self.commands = list(worker.commands)
        self.capacities = list(worker.capacities)
        self.in_flight = worker.in_flight
        self.failed = worker.failed
        self.killed = killed
        self.died_reading_capacity = False

    def run(self, argv: "typing.Sequence[str]", timeout_s: float) -> "CommandResult":
        if self.commands:
            return self.commands.pop(0)
        if not self.killed:  # the worker died between two commands (a bug, or a signal)
            return CommandResult(
                argv=tuple(argv), exit_status=None, no_answer=_died(self.failed, went_on=False)
            )
        sent_at = self.in_flight[1] if self.in_flight else time.monotonic()
        self.in_flight = None
        return CommandResult(
            argv=tuple(argv),
            exit_status=None,
            duration_s=time.monotonic() - sent_at,
            timed_out=True,
        )

    def kernel_capacity(self) -> "tuple[int | None, int | None]":
        if self.capacities:
            return self.capacities.pop(0)
        self.died_reading_capacity = not self.killed  # else a killed worker had not read it
        return (None, None)


def probe_in_workers(
    disks: "list[BlockDisk]",
    options: "ProbeOptions",
    run: "Runner",
    kernel_capacity: "typing.Callable[[BlockDisk], KernelCapacity]",
    max_workers: int,
    progress: "typing.Callable[[int, int], None] | None" = None,
) -> "list[tuple[list[ProbeResult], int, int, int]]":
    """Per disk, in order: (its probe records, 1 when a worker was forked for it (the first of
    a group) else 0, processes its worker started for it, of those abandoned).

    At most ``max_workers`` workers, each probing a small group of disks in turn (one fork per
    group, not per disk); a worker killed past its deadline takes only the disk
    it was probing with it: the disks of its group it had not begun go to a new worker.
    The workers themselves are counted by process.py (started, and abandoned when killed in
    uninterruptible sleep)."""
    pool = _Pool(disks, options, run, kernel_capacity, max_workers, progress)
    try:
        pool.run()
    finally:
        pool.close()
    return [result for result in pool.results if result is not None]


class _Pool:
    """The workers of one scan, their deadlines, and the records they bring back."""

    def __init__(
        self,
        disks: "list[BlockDisk]",
        options: "ProbeOptions",
        run: "Runner",
        kernel_capacity: "typing.Callable[[BlockDisk], KernelCapacity]",
        max_workers: int,
        progress: "typing.Callable[[int, int], None] | None",
    ) -> None:
        self.disks, self.options, self.probe_run = disks, options, run
        self.kernel_capacity, self.progress = kernel_capacity, progress
        self.patience = options.timeout_s + GRACE_S
        self.results: "list[tuple[list[ProbeResult], int, int, int] | None]" = [None] * len(disks)
        self.workers = max(1, min(max_workers, len(disks)))
        size = max(1, -(-len(disks) // self.workers))
        self.waiting = [
            list(range(start, min(start + size, len(disks))))
            for start in range(0, len(disks), size)
        ]
        self.running: "dict[int, _Worker]" = {}
        self.selector = selectors.DefaultSelector()
        self.finished = 0
        self.known: "dict[int, _DiskRun]" = {}  # disks to go on with, after their worker died
        self.went_on: "dict[int, int]" = {}  # disk -> inputs known when a new worker went on

    def record(self, disk_run: "_DiskRun", killed: bool, first: bool) -> None:
        probes = _records(self.disks[disk_run.index], self.options, disk_run, killed)
        self.results[disk_run.index] = (
            probes,
            1 if first else 0,
            disk_run.processes,
            disk_run.abandoned,
        )
        self.finished += 1
        if self.progress is not None:
            self.progress(self.finished, len(self.disks))

    def ended(self, worker: "_Worker", killed: bool) -> None:
        finished = all(r.done for r in worker.runs)
        _end(worker, self.running, self.selector, kill=killed or not finished)
        if finished:  # else what it used is not known: its share stays spent
            process.give_back_output(worker.output_share - sum(r.output for r in worker.runs))
        current = worker.runs[-1] if worker.runs else None
        if not killed and current is not None and not current.done:
            self.go_on(worker)
        for position, disk_run in enumerate(worker.runs):
            if self.results[disk_run.index] is None:
                self.record(disk_run, killed, position == 0)
        left = worker.group[len(worker.runs) :]
        if left:
            self.waiting.insert(0, left)

    def go_on(self, worker: "_Worker") -> None:
        """Its worker died with the disk begun: a new worker goes on with it, after the inputs
        known. Died sending a command: that command is lost. Died between two commands (the
        kernel's size): once more, unless it died there before, knowing no more."""
        current = worker.runs[-1]
        known = len(current.commands) + len(current.capacities)
        if current.in_flight is not None:
            argv, sent_at = current.in_flight
            current.commands.append(
                CommandResult(
                    argv=tuple(argv),
                    exit_status=None,
                    duration_s=time.monotonic() - sent_at,
                    no_answer=_died(current.failed, went_on=True),
                )
            )
        elif known <= self.went_on.get(current.index, -1):
            return  # recorded as it is: what is missing says the worker died
        current.in_flight, current.failed = None, None
        self.went_on[current.index] = len(current.commands) + len(current.capacities)
        self.known[current.index] = worker.runs.pop()

    def start(self, group: "list[int]") -> None:
        known = {index: self.known.pop(index) for index in group if index in self.known}
        # its share of what is left of the scan's output budget, taken now, given back unused
        share = process.take_output(process.output_left() // (self.workers - len(self.running)))
        pid, fd = process.fork_worker(
            lambda write_fd: _worker(
                write_fd,
                self.disks,
                group,
                self.options,
                self.probe_run,
                self.kernel_capacity,
                known,
                share,
            )
        )
        self.running[fd] = _Worker(group, pid, fd, time.monotonic() + self.patience, share)
        self.selector.register(fd, selectors.EVENT_READ)

    def run(self) -> None:
        while self.waiting or self.running:
            while self.waiting and len(self.running) < self.workers:
                self.start(self.waiting.pop(0))
            deadline = min(w.deadline for w in self.running.values())
            for key, _ in self.selector.select(max(0.0, deadline - time.monotonic())):
                worker = self.running[key.fd]
                data = os.read(key.fd, 65536)
                if data:
                    for disk_run in _take(worker, data, self.patience):
                        self.record(disk_run, False, disk_run is worker.runs[0])
                    continue
                self.ended(worker, killed=False)
            now = time.monotonic()
            for worker in [w for w in self.running.values() if w.deadline <= now]:
                self.ended(worker, killed=True)

    def close(self) -> None:
        for worker in list(self.running.values()):
            _end(worker, self.running, self.selector, kill=True)
        self.selector.close()


def _take(worker: "_Worker", data: bytes, patience: float) -> "list[_DiskRun]":
    """Take the worker's messages; the disks it finished with them."""
    worker.deadline = time.monotonic() + patience  # the worker is alive and answering
    worker.buffer += data
    finished = []
    while len(worker.buffer) >= _FRAME.size:
        (size,) = _FRAME.unpack_from(worker.buffer)
        if len(worker.buffer) < _FRAME.size + size:  # a long message, still coming
            break
        kind, values = pickle.loads(bytes(worker.buffer[_FRAME.size : _FRAME.size + size]))
        del worker.buffer[: _FRAME.size + size]
        if kind == BEGIN:
            worker.runs.append(_DiskRun(*values))
            continue
        current = worker.runs[-1]
        if kind == SENDING:
            current.in_flight = (values[0], time.monotonic())
        elif kind == COMMAND:
            current.commands.append(values[0])
            current.in_flight = None
        elif kind == FAILED:
            current.failed = values[0]
        elif kind == KERNEL_CAPACITY:
            current.capacities.append(values[0])
        elif kind == DONE:
            current.done = True
            current.processes, current.abandoned, current.output = values
            finished.append(current)
    return finished


def _died(failure: "str | None", went_on: bool) -> str:
    because = f" ({failure})" if failure else ""
    if went_on:
        return f"the probe worker process died{because} sending it; a new one went on with the disk"
    return f"the probe worker process died{because} before this was done"


def _end(
    worker: "_Worker", running: "dict[int, _Worker]", selector: "selectors.BaseSelector", kill: bool
) -> None:
    """Close the worker's pipe and reap it (kill it first when ``kill``)."""
    selector.unregister(worker.fd)
    os.close(worker.fd)
    del running[worker.fd]
    process.end_worker(worker.pid, kill=kill)


def _records(
    disk: "BlockDisk", options: "ProbeOptions", disk_run: "_DiskRun", killed: bool
) -> "list[ProbeResult]":
    replay = _Replay(disk_run, killed)
    probes = probe_disk(disk, options, replay.run, replay.kernel_capacity)
    if replay.died_reading_capacity:
        for probe in probes:
            if probe.skip_code == "kernel_size_unknown" and probe.skip_reason:
                probe.skip_reason += f"; {_died(disk_run.failed, went_on=False)}"
    if killed:
        for probe in probes:
            if probe.outcome == "timed_out" and probe.exit_meaning:
                probe.exit_meaning += "; its worker process was killed and abandoned"
    return probes
