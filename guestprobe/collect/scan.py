"""Collect everything a report needs: platform facts, the disk inventory, every probe's answer.

Disks are probed concurrently from a bounded pool, so one slow or hung disk never holds up the
others. The result is a plain :class:`Collection` that serialises to JSON and back unchanged:
the same object feeds the report on the guest and ``guestprobe report`` on an engineer's laptop.
"""


import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from guestprobe import __version__
from guestprobe.collect import process
from guestprobe.collect.discover import BlockDisk, Discoverer
from guestprobe.collect.platform import PlatformFacts, collect_platform
from guestprobe.collect.probe import ProbeOptions, ProbeResult, Runner, probe_disk
from guestprobe.collect.sg3 import Outcome
from guestprobe.collect.sg3_releases import release_of
from guestprobe.collect.sysfs import SysRoot
from guestprobe.collect.udev import UdevView

DISK_PROBED = "probed"
DISK_TIMED_OUT = "timed_out"
DISK_VANISHED = "vanished"


@dataclass
class DiskCollection:
    disk: "BlockDisk"
    probes: "list[ProbeResult]" = field(default_factory=list)
    status: str = DISK_PROBED
    processes: int = 0

    def to_dict(self) -> "dict[str, Any]":
        return {
            "inventory": self.disk.to_dict(),
            "status": self.status,
            "processes": self.processes,
            "probes": [probe.to_dict() for probe in self.probes],
        }

    def probe(self, name: str) -> "ProbeResult | None":
        for result in self.probes:
            if result.name == name:
                return result
        return None


@dataclass
class Collection:
    platform: "PlatformFacts"
    disks: "list[DiskCollection]"
    options: "dict[str, Any]" = field(default_factory=dict)
    started_at: str = ""
    duration_s: float = 0.0
    tool_version: str = "unknown"  # read back without one: an unknown guestprobe collected it
    processes_started: int = 0
    abandoned_processes: int = 0
    engine: "dict[str, Any] | None" = None  # collect/lib_engine.py EngineChoice.to_dict
    startup_s: "float | None" = None  # from the process's start to the scan's (imports)

    def to_dict(self) -> "dict[str, Any]":
        return {
            "engine": self.engine,
            "startup_s": self.startup_s,
            "tool_version": self.tool_version,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "options": self.options,
            "processes_started": self.processes_started,
            "abandoned_processes": self.abandoned_processes,
            "platform": self.platform.to_dict(),
            "disks": [disk.to_dict() for disk in self.disks],
        }


def _probe_one(
    discoverer: "Discoverer", disk: "BlockDisk", options: "ProbeOptions", run: "Runner"
) -> "DiskCollection":
    probes = probe_disk(disk, options, run, lambda: discoverer.kernel_capacity(disk.name))
    processes = sum(p.attempts for p in probes if p.source == "sg3_utils")
    return _collected(discoverer, disk, probes, processes)


def _collected(
    discoverer: "Discoverer", disk: "BlockDisk", probes: "list[ProbeResult]", processes: int
) -> "DiskCollection":
    collected = DiskCollection(disk=disk, probes=probes, processes=processes)
    outcomes = {p.outcome for p in probes}
    if Outcome.TIMED_OUT.value in outcomes:
        collected.status = DISK_TIMED_OUT
    elif Outcome.DEVICE_GONE.value in outcomes or discoverer.describe(disk.name) is None:
        collected.status = DISK_VANISHED
    return collected


def _probe_all(
    disks: "list[BlockDisk]",
    max_workers: int,
    probe: "Callable[[BlockDisk], DiskCollection]",
    progress: "Callable[[int, int], None] | None",
) -> "list[DiskCollection]":
    """Probe ``disks`` from a bounded pool of threads; results in the order of ``disks``.

    Plain threads and a queue rather than concurrent.futures: that module imports logging, and
    every import counts in a slow guest. A worker only ever waits on its own process, bounded by
    the probe timeout, so joining the workers cannot hang.
    """
    results: "list[DiskCollection | None]" = [None] * len(disks)
    work: "queue.Queue[int]" = queue.Queue()
    for index in range(len(disks)):
        work.put(index)
    done = 0
    lock = threading.Lock()
    failures: "list[BaseException]" = []

    def worker() -> None:
        nonlocal done
        while True:
            try:
                index = work.get_nowait()
            except queue.Empty:
                return
            try:
                results[index] = probe(disks[index])
            except BaseException as exc:  # a bug: re-raised in the caller's thread
                failures.append(exc)
                return
            with lock:
                done += 1
                if progress is not None:
                    progress(done, len(disks))

    threads = [
        threading.Thread(target=worker, name=f"probe-{n}", daemon=True)
        for n in range(max(1, min(max_workers, len(disks))))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return [result for result in results if result is not None]


def collect(
    options: "ProbeOptions",
    names: "Sequence[str] | None" = None,
    include_all: bool = False,
    sys: "SysRoot | None" = None,
    udev: "UdevView | None" = None,
    run: "Runner" = process.run,
    max_workers: int = 8,
    progress: "Any" = None,
) -> "Collection":
    """Discover the disks (or only ``names``) and probe them all; never raises for a disk.

    The scan's children keep at most process.TOTAL_OUTPUT_LIMIT bytes of output together;
    whatever ends the scan early (a signal, a bug) ends every child it started."""
    process.allow_children()
    process.limit_output(process.TOTAL_OUTPUT_LIMIT)
    try:
        return _collect(options, names, include_all, sys, udev, run, max_workers, progress)
    except BaseException:
        process.stop_children()
        raise


def _collect(
    options: "ProbeOptions",
    names: "Sequence[str] | None",
    include_all: bool,
    sys: "SysRoot | None",
    udev: "UdevView | None",
    run: "Runner",
    max_workers: int,
    progress: "Any",
) -> "Collection":
    sys = sys or SysRoot()
    udev = udev or UdevView(run_dir=sys.path("/run/udev"))
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    start = time.monotonic()
    startup_s = _since_process_start()
    before = process.processes_started()
    platform = collect_platform(sys, udev, run=run, timeout_s=options.timeout_s)
    # the probe plan, built once: the caller's options adapted to this sg3_utils release
    options = replace(options, sg3_release=release_of(platform.sg3_utils.get("sg_inq_version"))[1])
    discoverer = Discoverer(sys, udev)
    if names is None:
        disks = discoverer.discover(include_all=include_all)
    else:
        disks = [d for d in (discoverer.describe(n) for n in names) if d is not None]
    choice = _choose_engine(options)
    in_workers = (0, 0)
    if choice.pt is not None:
        results, in_workers = _probe_in_workers(
            discoverer, disks, options, choice, run, max_workers, progress
        )
    else:
        results = _probe_all(
            disks, max_workers, lambda disk: _probe_one(discoverer, disk, options, run), progress
        )
    return Collection(
        platform=platform,
        disks=results,
        options={
            "timeout_s": options.timeout_s,
            "write_probes": options.write_probes,
            "use_sysfs_pages": options.use_sysfs_pages,
            "targets": list(names) if names is not None else None,
            "include_all": include_all,
        },
        started_at=started_at,
        duration_s=time.monotonic() - start,
        tool_version=__version__,
        processes_started=process.processes_started() - before + in_workers[0],
        abandoned_processes=process.abandoned_processes() + in_workers[1],
        engine=choice.to_dict(),
        startup_s=startup_s,
    )


def _since_process_start() -> "float | None":
    """Seconds from this process's start (Python's, and the imports) to now; None unknown."""
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
            now = float(uptime.read().split()[0])
        return round(now - started_ticks / os.sysconf("SC_CLK_TCK"), 3)
    except (OSError, ValueError, IndexError):
        return None


def _choose_engine(options: "ProbeOptions") -> "Any":
    if options.engine == "cli":  # no import of ctypes for the executables
        from guestprobe.collect.lib_engine import EngineChoice

        return EngineChoice("cli", "asked for (--engine cli)")
    from guestprobe.collect.lib_engine import choose_engine

    return choose_engine(options.engine, options.sg3_release)


def _probe_in_workers(
    discoverer: "Discoverer",
    disks: "list[BlockDisk]",
    options: "ProbeOptions",
    choice: "Any",
    run: "Runner",
    max_workers: int,
    progress: "Any",
) -> "tuple[list[DiskCollection], tuple[int, int]]":
    """The lib engine: each disk in a forked worker (collect/workers.py); (disks, (processes
    the workers started, processes they abandoned))."""
    from guestprobe.collect.lib_engine import LibEngine
    from guestprobe.collect.workers import probe_in_workers

    engine = LibEngine(choice.pt, run)
    probed = probe_in_workers(
        disks,
        options,
        engine.run,
        lambda disk: lambda: discoverer.kernel_capacity(disk.name),
        max_workers,
        progress,
    )
    results = []
    for disk, (probes, worker, delegated, _) in zip(disks, probed):
        results.append(_collected(discoverer, disk, probes, worker + delegated))
    # the workers themselves are counted (and abandoned) in process.py; here what they started
    return results, (sum(p[2] for p in probed), sum(p[3] for p in probed))
