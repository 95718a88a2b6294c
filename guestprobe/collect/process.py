"""The one place where guestprobe starts processes.

Every external command goes through :func:`run`: an argv list (never a shell), a wall-clock
timeout of our own, and a :class:`CommandResult` that keeps everything a support engineer may want
to see again (argv, exit status, raw stdout bytes, stderr, duration).

A process stuck in uninterruptible sleep inside SG_IO (a passed-through LUN whose target stopped
answering) ignores SIGKILL until the kernel's command timeout fires. ``subprocess.run(timeout=…)``
kills and then *waits*, which would block the scan for that long; here a timed-out process is
killed and **abandoned**: the scan goes on and the process is reaped whenever the kernel lets it go.

Every child — a tool, or a probe worker forked by :func:`fork_worker` — starts in a **session
(and process group) of its own**: a Ctrl-C at the terminal goes to guestprobe's foreground
process group only, so a second Ctrl-C during a fencing-test cleanup cannot kill the
``sg_persist`` that removes a key; guestprobe decides what a signal means. A child is ended as a
**tree of process groups** (:mod:`guestprobe.collect.process_tree`): its own group (whatever it
forked) and the groups of the children it started (a worker's tools). What survives that
(state D) is counted by :func:`abandoned_processes`. :func:`stop_children` ends every running
child at once and starts no new one (a signal that ends a scan).

Output is **bounded**: at most :data:`OUTPUT_LIMIT` bytes per stream are kept, and at most
:data:`TOTAL_OUTPUT_LIMIT` from all the children of a scan together (:func:`limit_output`); a
child that writes more is killed and abandoned, and its result says ``output_too_large``.
"""


import contextlib
import io
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from guestprobe.collect.process_tree import end_tree, live, processes

# Processes killed after a timeout but not reaped; kept referenced so that nothing waits for them.
_abandoned: "list[subprocess.Popen[bytes]]" = []
# What survived a kill: (pid, start time in clock ticks), counted while it lives
_survivors: "set[tuple[int, int]]" = set()
_running: "set[subprocess.Popen[bytes]]" = set()  # tools running now
_running_workers: "set[int]" = set()  # probe workers running now (pids)
_lock = threading.RLock()  # re-entrant: stop_children runs in a signal handler
_started = 0
_stopping = False  # stop_children(): no new child until allow_children()

OUTPUT_LIMIT = 16 * 1024 * 1024  # bytes kept per stream (stdout, stderr) of one child
TOTAL_OUTPUT_LIMIT = 32 * 1024 * 1024  # bytes kept from all children of a scan together
_output_left = TOTAL_OUTPUT_LIMIT
_CHUNK = 65536


@dataclass(frozen=True)
class CommandResult:
    """What one command did. ``exit_status`` is None when it timed out or could not start."""

    argv: "tuple[str, ...]"
    exit_status: "int | None"
    stdout: bytes = b""
    stderr: bytes = b""
    duration_s: float = 0.0
    timed_out: bool = False
    start_error: "str | None" = None  # e.g. "No such file or directory" when the tool is missing
    output_too_large: bool = False  # wrote more than OUTPUT_LIMIT to a stream: killed, abandoned
    over_total_output: bool = False  # output_too_large because the scan's total was reached
    # the lib engine: the device answered fewer bytes than its own length field says (why)
    short_response: "str | None" = None
    no_answer: "str | None" = None  # why no answer came back (its probe worker process died)
    extra: "dict[str, object]" = field(default_factory=dict)

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


def processes_started() -> int:
    """How many processes this interpreter has started through :func:`run`."""
    return _started


def abandoned_processes() -> int:
    """How many processes that were killed (a child's whole tree) are still alive."""
    with _lock:
        _abandoned[:] = [proc for proc in _abandoned if proc.poll() is None]
        _abandoned_workers[:] = [pid for pid in _abandoned_workers if not _reaped(pid)]
        if _survivors:  # /proc is read only when something survived a kill
            _survivors.intersection_update(live(processes()))
        return len(_survivors)


def limit_output(total: int) -> None:
    """From now on, at most ``total`` bytes of output are kept from all children together."""
    global _output_left
    with _lock:
        _output_left = max(0, total)


def output_left() -> int:
    return _output_left


def take_output(wanted: int) -> int:
    """Take up to ``wanted`` bytes of the output budget (a child's, or a probe worker's share);
    how many were granted."""
    global _output_left
    with _lock:
        granted = min(wanted, _output_left)
        _output_left -= granted
        return granted


def give_back_output(unused: int) -> None:
    """Return bytes taken from the output budget and not used (a worker's unused share)."""
    global _output_left
    with _lock:
        _output_left += max(0, unused)


def stop_children() -> None:
    """End every running child (tools, workers, and what they started) and start no new one."""
    global _stopping
    with _lock:
        _stopping = True
        pids = [proc.pid for proc in _running] + list(_running_workers)
    for pid in pids:
        end_tree(pid)


def allow_children() -> None:
    """Children may start again (a new scan in the same interpreter)."""
    global _stopping
    _stopping = False


# -- probe workers: this interpreter, forked ---------------------------------------------------
# Forked workers killed past their deadline and not yet reaped (pids)
_abandoned_workers: "list[int]" = []


def fork_worker(work: "Callable[[int], None]") -> "tuple[int, int]":
    """(pid, read end of a pipe) of a child that runs ``work(write end)`` and exits.

    A fork of this interpreter, not a new Python: the caller forks from a state without threads
    (collect/workers.py starts none), so the child holds no lock another thread held. The child
    never returns into the caller's code: it leaves by os._exit, 0 when ``work`` returned.
    """
    global _started
    read_fd, write_fd = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    pid = os.fork()
    if pid == 0:  # the child
        status = 70
        try:
            os.setsid()  # a session and process group of its own, like every child
            with _lock:  # the parent's children and survivors are not this one's
                for children in (_running, _running_workers, _abandoned, _survivors):
                    children.clear()
                _abandoned_workers.clear()
            os.close(read_fd)
            work(write_fd)
            status = 0
        except BaseException:  # whatever happened, never return into the caller
            status = 70
        finally:
            os._exit(status)
    os.close(write_fd)
    with _lock:
        _started += 1
        _running_workers.add(pid)
    return pid, read_fd


def _reaped(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def end_worker(pid: int, kill: bool) -> bool:
    """Reap a worker (when ``kill``, after ending its tree: it and every tool it started);
    False when it must be abandoned (a worker stuck in uninterruptible sleep in SG_IO dies only
    when the kernel lets it go)."""
    survivors = end_tree(pid) if kill else set()
    deadline = time.monotonic() + (0.05 if kill else 5.0)
    with _lock:
        _running_workers.discard(pid)
        _survivors.update(survivors)
    while True:
        if _reaped(pid):
            return True
        if time.monotonic() >= deadline:
            with _lock:
                _abandoned_workers.append(pid)
            return False
        time.sleep(0.002)


def _environment() -> "dict[str, str]":
    env = dict(os.environ)
    env["LC_ALL"] = "C"  # stable stderr wording across locales; we never parse it for facts
    return env


def run(argv: "Sequence[str]", timeout_s: float) -> "CommandResult":
    """Run ``argv`` with no shell and no stdin; never raises for the command's own failures."""
    global _started
    argv = tuple(argv)
    start = time.monotonic()
    if _stopping:
        return CommandResult(argv=argv, exit_status=None, start_error=_ENDING)
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            close_fds=True,
            env=_environment(),
            start_new_session=True,  # out of the terminal's process group: see the docstring
        )
    except OSError as exc:
        return CommandResult(
            argv=argv,
            exit_status=None,
            duration_s=time.monotonic() - start,
            start_error=exc.strerror or str(exc),
        )
    real = _has_descriptor(proc.stdout)  # not a test's fake Popen: a process group to end
    with _lock:  # either stop_children sees it running, or it sees stop_children was called
        _started += 1
        _running.add(proc)
        stopping = _stopping
    deadline = start + timeout_s
    try:
        if stopping:
            stdout, stderr, ending = b"", b"", _ENDING
        else:
            stdout, stderr, ending = _read_bounded(proc, deadline, OUTPUT_LIMIT)
    except BaseException:  # a signal (fencing-test's second Ctrl-C): let the command end first
        _finish(proc, deadline, real)
        raise
    finally:
        with _lock:
            _running.discard(proc)
    if ending is not None:  # timed out or too much output: killed, never waited for
        _abandon(proc, real)
        return CommandResult(
            argv=argv,
            exit_status=None,
            stdout=stdout,
            stderr=stderr,
            duration_s=time.monotonic() - start,
            timed_out=ending == _TIMED_OUT,
            start_error=_ENDING if ending == _ENDING else None,
            output_too_large=ending in (_TOO_LARGE, _OVER_TOTAL),
            over_total_output=ending == _OVER_TOTAL,
        )
    _close_pipes(proc)
    return CommandResult(
        argv=argv,
        exit_status=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        duration_s=time.monotonic() - start,
    )


def _close_pipes(proc: "subprocess.Popen[bytes]") -> None:
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


_TIMED_OUT, _TOO_LARGE, _OVER_TOTAL = "timed_out", "output_too_large", "over_total_output"
_ENDING = "not started: the scan is ending"


def _finish(proc: "subprocess.Popen[bytes]", deadline: float, real: bool) -> None:
    """Let an interrupted command finish within its deadline (so that what it did is known
    before anything else is sent), else abandon it."""
    with contextlib.suppress(Exception):
        proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
    if proc.poll() is None:
        _abandon(proc, real)
    else:
        _close_pipes(proc)


def _read_bounded(
    proc: "subprocess.Popen[bytes]", deadline: float, limit: int
) -> "tuple[bytes, bytes, str | None]":
    """(stdout, stderr, None) once the child exited; an ending when it must be abandoned.

    Reads both pipes as the child writes them, keeping at most ``limit`` bytes of each, until
    both are closed and the child has exited, or the deadline passes.
    """
    streams = [proc.stdout, proc.stderr]
    if not all(_has_descriptor(stream) for stream in streams):
        return _communicate_bounded(proc, deadline, limit)  # a test's fake Popen: no pipes
    kept: "dict[int, bytearray]" = {}
    selector = selectors.DefaultSelector()
    try:
        for stream in streams:
            assert stream is not None
            kept[stream.fileno()] = bytearray()
            selector.register(stream.fileno(), selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return (*_output(kept, streams), _TIMED_OUT)
            for key, _ in selector.select(remaining):
                data = os.read(key.fd, _CHUNK)
                if not data:
                    selector.unregister(key.fd)
                    continue
                buffer = kept[key.fd]
                wanted = min(len(data), limit - len(buffer))
                granted = take_output(wanted)
                buffer += data[:granted]
                if granted < wanted:
                    return (*_output(kept, streams), _OVER_TOTAL)
                if len(data) > wanted:
                    return (*_output(kept, streams), _TOO_LARGE)
    finally:
        selector.close()
    exited = _exited(proc, deadline)
    if exited is None:
        return (*_output(kept, streams), _TIMED_OUT)
    if exited:  # a zombie now, still holding its group's id: what it left there goes with it
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return (*_output(kept, streams), None)


def _exited(proc: "subprocess.Popen[bytes]", deadline: float) -> "bool | None":
    """Wait, without reaping it, until ``proc`` has exited (True; False when something else
    reaped it already) or the deadline passed (None)."""
    pause = 0.0005
    while True:
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:
            return False
        if time.monotonic() >= deadline:
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def _output(kept: "dict[int, bytearray]", streams: list) -> "tuple[bytes, bytes]":
    out, err = (bytes(kept.get(stream.fileno(), b"")) for stream in streams)
    return out, err


def _has_descriptor(stream: object) -> bool:
    try:
        stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
    return True


def _communicate_bounded(
    proc: "subprocess.Popen[bytes]", deadline: float, limit: int
) -> "tuple[bytes, bytes, str | None]":
    """The same contract for a Popen without real pipes (pytest-subprocess's fakes)."""
    try:
        stdout, stderr = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return b"", b"", _TIMED_OUT
    stdout, stderr = stdout or b"", stderr or b""
    ending = _TOO_LARGE if len(stdout) > limit or len(stderr) > limit else None
    stdout, stderr = stdout[:limit], stderr[:limit]
    granted = take_output(len(stdout) + len(stderr))
    if granted < len(stdout) + len(stderr):
        ending = _OVER_TOTAL
        stdout, stderr = stdout[:granted], stderr[: max(0, granted - len(stdout))]
    return stdout, stderr, ending


def _abandon(proc: "subprocess.Popen[bytes]", real: bool) -> None:
    """SIGKILL the process's tree of groups and walk away without waiting for it to die."""
    survivors: "set[tuple[int, int]]" = set()
    if real:
        survivors = end_tree(proc.pid)
    else:  # a test's fake Popen
        with contextlib.suppress(OSError):
            proc.kill()
    _close_pipes(proc)
    # A killed process normally dies at once; reap it if so, otherwise leave it be.
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=0.05)
    with _lock:
        _abandoned.append(proc)
        _survivors.update(survivors)
