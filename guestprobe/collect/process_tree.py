"""Process trees, read from /proc: end a child and everything it started, and see what survived.

A child of guestprobe leads a process group of its own (collect/process.py starts every child
in a session of its own); the tools a probe worker starts lead groups of their own too. So a
child is ended as a *tree of groups*: its group, then transitively the groups of the processes
its members started, each stopped (SIGSTOP) as it is found so that none starts another, then all
SIGKILLed. A process in uninterruptible sleep (state D) survives even that; it is named by pid
and start time, so that a pid the kernel gives to another process later is never taken for it.
"""


import contextlib
import os
import signal
import time


class Process:
    """One line of /proc/PID/stat, the fields used."""

    __slots__ = ("pgrp", "pid", "ppid", "start", "zombie")

    def __init__(self, pid: int, fields: "list[str]") -> None:
        # fields of /proc/PID/stat after the command's ")": state, ppid, pgrp, ... starttime
        self.pid, self.zombie = pid, fields[0] in ("Z", "X")
        self.ppid, self.pgrp, self.start = int(fields[1]), int(fields[2]), int(fields[19])


def processes() -> "list[Process]":
    """Every process now (those gone meanwhile left out)."""
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].decode("ascii", "replace").split()
            found.append(Process(int(name), fields))
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return found


def live(found: "list[Process]") -> "set[tuple[int, int]]":
    """(pid, start time) of those not dead (a zombie is dead, only not yet reaped)."""
    return {(p.pid, p.start) for p in found if not p.zombie}


def _tree_groups(leader: int) -> "set[int]":
    """The process group ``leader`` leads and, transitively, the groups of the processes its
    members started (each stopped with SIGSTOP as it is found, so none starts another)."""
    groups: "set[int]" = set()
    found = {leader}
    while found - groups:
        for group in found - groups:
            with contextlib.suppress(OSError):
                os.killpg(group, signal.SIGSTOP)
        groups |= found
        now = processes()
        members = {p.pid for p in now if p.pgrp in groups}
        found = groups | {p.pgrp for p in now if p.ppid in members}
    return groups


def end_tree(leader: int, grace_s: float = 0.05) -> "set[tuple[int, int]]":
    """SIGKILL the tree of process groups of ``leader`` (which must not be reaped yet, so that
    its pid is still its own); what is still alive after ``grace_s``, by (pid, start time)."""
    with contextlib.suppress(OSError):  # a worker not yet in its own group: itself, at least
        os.kill(leader, signal.SIGSTOP)
    groups = _tree_groups(leader)
    for group in groups:
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(leader, signal.SIGKILL)
    deadline = time.monotonic() + grace_s
    while True:
        alive = {
            (p.pid, p.start)
            for p in processes()
            if (p.pgrp in groups or p.pid == leader) and not p.zombie
        }
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.002)
