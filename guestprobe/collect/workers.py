"""Probe each disk in a worker process of its own, forked from this interpreter (lib engine).

A LUN that hangs leaves the thread that sent it a command in uninterruptible sleep, which no
signal ends: so the commands to one disk are sent from a worker process the scan can abandon. The
worker is a fork (process.fork_worker), not a new Python: it costs a fork, not a start. It is
forked from a state without threads (this module starts none, and the lib engine's scan runs no
thread pool), at most ``max_workers`` at a time.

The worker runs the disk's probe plan and streams, as JSON lines on a pipe, what the plan's
inputs were: each command's answer (a :class:`CommandResult`) and each kernel size it read.
The scan then runs the same plan again in this process over those answers (:class:`_Replay`), so
the records are built exactly as the in-process plan builds them — and a worker that did not
finish (killed past its deadline) gives the same records as a command that timed out today: the
answers up to the command in flight, that command timed out, the rest skipped.
"""


import json
import os
import selectors
import time
import typing
from dataclasses import dataclass, field

from guestprobe.collect import process
from guestprobe.collect.discover import BlockDisk
from guestprobe.collect.probe import KernelCapacity, ProbeOptions, ProbeResult, Runner, probe_disk
from guestprobe.collect.process import CommandResult

GRACE_S = 2.0  # beyond the probe timeout, before a silent worker is killed


def _result_to_dict(command: "CommandResult") -> "dict[str, typing.Any]":
    return {
        "argv": list(command.argv),
        "exit_status": command.exit_status,
        "stdout": command.stdout.hex(),
        "stderr": command.stderr.hex(),
        "duration_s": command.duration_s,
        "timed_out": command.timed_out,
        "start_error": command.start_error,
        "output_too_large": command.output_too_large,
    }


def _result_from_dict(data: "dict[str, typing.Any]") -> "CommandResult":
    return CommandResult(
        argv=tuple(data["argv"]),
        exit_status=data["exit_status"],
        stdout=bytes.fromhex(data["stdout"]),
        stderr=bytes.fromhex(data["stderr"]),
        duration_s=data["duration_s"],
        timed_out=data["timed_out"],
        start_error=data["start_error"],
        output_too_large=data["output_too_large"],
    )


def _worker(
    write_fd: int,
    disk: "BlockDisk",
    options: "ProbeOptions",
    run: "Runner",
    kernel_capacity: "KernelCapacity",
) -> None:
    """The child: the plan, with every input streamed to the parent as it is known."""
    out = os.fdopen(write_fd, "w", buffering=1)
    started, abandoned = process.processes_started(), process.abandoned_processes()

    def emit(**message: "typing.Any") -> None:
        out.write(json.dumps(message) + "\n")

    def streamed_run(argv: "typing.Sequence[str]", timeout_s: float) -> "CommandResult":
        emit(sending=list(argv))
        command = run(argv, timeout_s)
        emit(command=_result_to_dict(command))
        return command

    def streamed_capacity() -> "tuple[int | None, int | None]":
        size = kernel_capacity()
        emit(kernel_capacity=list(size))
        return size

    probe_disk(disk, options, streamed_run, streamed_capacity)
    emit(
        done=True,
        processes=process.processes_started() - started,
        abandoned=process.abandoned_processes() - abandoned,
    )
    out.close()


@dataclass
class _Worker:
    index: int
    pid: int
    fd: int
    deadline: float
    buffer: bytes = b""
    commands: "list[CommandResult]" = field(default_factory=list)
    capacities: "list[tuple[int | None, int | None]]" = field(default_factory=list)
    in_flight: "tuple[list[str], float] | None" = None  # argv, when it was sent
    done: bool = False
    processes: int = 0
    abandoned: int = 0


class _Replay:
    """The plan's inputs as the worker saw them, in order; the command in flight timed out."""

    def __init__(self, worker: "_Worker", killed: bool) -> None:
        self.commands = list(worker.commands)
        self.capacities = list(worker.capacities)
        self.in_flight = worker.in_flight
        self.killed = killed

    def run(self, argv: "typing.Sequence[str]", timeout_s: float) -> "CommandResult":
        if self.commands:
            return self.commands.pop(0)
        if not self.killed:  # the worker died (a bug, or killed by someone else)
            return CommandResult(
                argv=tuple(argv), exit_status=None, start_error="the probe worker process died"
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
        return (None, None)  # never reached: a worker reads it before it sends


def probe_in_workers(
    disks: "list[BlockDisk]",
    options: "ProbeOptions",
    run: "Runner",
    kernel_capacity: "typing.Callable[[BlockDisk], KernelCapacity]",
    max_workers: int,
    progress: "typing.Callable[[int, int], None] | None" = None,
) -> "list[tuple[list[ProbeResult], int, bool]]":
    """Per disk, in order: (its probe records, processes its worker started, and abandoned).

    The workers themselves are counted by process.py (started, and abandoned when killed in
    uninterruptible sleep)."""
    patience = options.timeout_s + GRACE_S
    results: "list[tuple[list[ProbeResult], int, bool] | None]" = [None] * len(disks)
    waiting = list(range(len(disks)))
    running: "dict[int, _Worker]" = {}
    selector = selectors.DefaultSelector()
    finished = 0
    try:
        while waiting or running:
            while waiting and len(running) < max(1, max_workers):
                index = waiting.pop(0)
                disk = disks[index]
                pid, fd = process.fork_worker(
                    lambda write_fd, disk=disk: _worker(
                        write_fd, disk, options, run, kernel_capacity(disk)
                    )
                )
                running[fd] = _Worker(index, pid, fd, time.monotonic() + patience)
                selector.register(fd, selectors.EVENT_READ)
            wait = max(0.0, min(w.deadline for w in running.values()) - time.monotonic())
            for key, _ in selector.select(wait):
                worker = running[key.fd]
                data = os.read(key.fd, 65536)
                if data:
                    _take(worker, data, patience)
                    continue
                _end(worker, running, selector, kill=False)
                results[worker.index] = _records(disks[worker.index], options, worker, False)
                finished += 1
                if progress is not None:
                    progress(finished, len(disks))
            now = time.monotonic()
            for worker in [w for w in running.values() if w.deadline <= now]:
                _end(worker, running, selector, kill=True)
                results[worker.index] = _records(disks[worker.index], options, worker, True)
                finished += 1
                if progress is not None:
                    progress(finished, len(disks))
    finally:
        for worker in list(running.values()):
            _end(worker, running, selector, kill=True)
        selector.close()
    return [result for result in results if result is not None]


def _take(worker: "_Worker", data: bytes, patience: float) -> None:
    worker.buffer += data
    *lines, worker.buffer = worker.buffer.split(b"\n")
    for line in lines:
        message = json.loads(line.decode())
        if "sending" in message:
            worker.in_flight = (message["sending"], time.monotonic())
        elif "command" in message:
            worker.commands.append(_result_from_dict(message["command"]))
            worker.in_flight = None
        elif "kernel_capacity" in message:
            worker.capacities.append(tuple(message["kernel_capacity"]))  # type: ignore[arg-type]
        elif "done" in message:
            worker.done = True
            worker.processes = message["processes"]
            worker.abandoned = message["abandoned"]
        worker.deadline = time.monotonic() + patience  # the worker is alive and answering


def _end(
    worker: "_Worker", running: "dict[int, _Worker]", selector: "selectors.BaseSelector", kill: bool
) -> bool:
    """Close the worker's pipe and reap it (kill it first when ``kill``); True when reaped."""
    selector.unregister(worker.fd)
    os.close(worker.fd)
    del running[worker.fd]
    return process.end_worker(worker.pid, kill=kill or not worker.done)


def _records(
    disk: "BlockDisk", options: "ProbeOptions", worker: "_Worker", killed: bool
) -> "tuple[list[ProbeResult], int, bool]":
    replay = _Replay(worker, killed)
    probes = probe_disk(disk, options, replay.run, replay.kernel_capacity)
    if killed:
        for probe in probes:
            if probe.outcome == "timed_out" and probe.exit_meaning:
                probe.exit_meaning += "; its worker process was killed and abandoned"
    return probes, worker.processes, worker.abandoned
