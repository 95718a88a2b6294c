"""The one place where guestprobe starts processes.

Every external command goes through :func:`run`: an argv list (never a shell), a wall-clock
timeout of our own, and a :class:`CommandResult` that keeps everything a support engineer may want
to see again (argv, exit status, raw stdout bytes, stderr, duration).

A process stuck in uninterruptible sleep inside SG_IO (a passed-through LUN whose target stopped
answering) ignores SIGKILL until the kernel's command timeout fires. ``subprocess.run(timeout=…)``
kills and then *waits*, which would block the scan for that long; here a timed-out process is
killed and **abandoned**: the scan goes on and the process is reaped whenever the kernel lets it go.

Every child starts in a **session (and process group) of its own**: a Ctrl-C at the terminal goes
to guestprobe's foreground process group only, so a second Ctrl-C during a fencing-test cleanup
cannot kill the ``sg_persist`` that removes a key; guestprobe decides what a signal means.

Output is **bounded**: at most :data:`OUTPUT_LIMIT` bytes per stream are kept; a child that writes
more is killed and abandoned, and its result says ``output_too_large``.
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

# Processes killed after a timeout but not reaped; kept referenced so that nothing waits for them.
_abandoned: "list[subprocess.Popen[bytes]]" = []
_lock = threading.Lock()
_started = 0

OUTPUT_LIMIT = 16 * 1024 * 1024  # bytes kept per stream (stdout, stderr) of one child
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
    """How many timed-out processes (and probe workers) were killed and left unreaped."""
    with _lock:
        workers = [pid for pid in _abandoned_workers if not _reaped(pid)]
        _abandoned_workers[:] = workers
        return sum(1 for proc in _abandoned if proc.poll() is None) + len(workers)


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
    return pid, read_fd


def _reaped(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def end_worker(pid: int, kill: bool) -> bool:
    """Reap a worker (SIGKILL it first when ``kill``); False when it must be abandoned (a
    worker stuck in uninterruptible sleep in SG_IO dies only when the kernel lets it go)."""
    if kill:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + (0.05 if kill else 5.0)
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
    with _lock:
        _started += 1
    deadline = start + timeout_s
    try:
        stdout, stderr, ending = _read_bounded(proc, deadline, OUTPUT_LIMIT)
    except BaseException:  # a signal (fencing-test's second Ctrl-C): let the command end first
        _finish(proc, deadline)
        raise
    if ending is not None:  # timed out or too much output: killed, never waited for
        _abandon(proc)
        return CommandResult(
            argv=argv,
            exit_status=None,
            stdout=stdout,
            stderr=stderr,
            duration_s=time.monotonic() - start,
            timed_out=ending == _TIMED_OUT,
            output_too_large=ending == _TOO_LARGE,
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


_TIMED_OUT, _TOO_LARGE = "timed_out", "output_too_large"


def _finish(proc: "subprocess.Popen[bytes]", deadline: float) -> None:
    """Let an interrupted command finish within its deadline (so that what it did is known
    before anything else is sent), else abandon it."""
    with contextlib.suppress(Exception):
        proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
    if proc.poll() is None:
        _abandon(proc)


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
                room = limit - len(buffer)
                buffer += data[:room]
                if len(data) > room:
                    return (*_output(kept, streams), _TOO_LARGE)
    finally:
        selector.close()
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return (*_output(kept, streams), _TIMED_OUT)
    return (*_output(kept, streams), None)


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
    return stdout[:limit], stderr[:limit], ending


def _abandon(proc: "subprocess.Popen[bytes]") -> None:
    """SIGKILL the process and walk away without waiting for it to die."""
    with contextlib.suppress(OSError):
        proc.kill()
    _close_pipes(proc)
    # A killed process normally dies at once; reap it if so, otherwise leave it be.
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=0.05)
    with _lock:
        _abandoned.append(proc)
