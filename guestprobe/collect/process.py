"""The one place where guestprobe starts processes.

Every external command goes through :func:`run`: an argv list (never a shell), a wall-clock
timeout of our own, and a :class:`CommandResult` that keeps everything a support engineer may want
to see again (argv, exit status, raw stdout bytes, stderr, duration).

A process stuck in uninterruptible sleep inside SG_IO (a passed-through LUN whose target stopped
answering) ignores SIGKILL until the kernel's command timeout fires. ``subprocess.run(timeout=…)``
kills and then *waits*, which would block the scan for that long; here a timed-out process is
killed and **abandoned**: the scan goes on and the process is reaped whenever the kernel lets it go.
"""


import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

# Processes killed after a timeout but not reaped; kept referenced so that nothing waits for them.
_abandoned: "list[subprocess.Popen[bytes]]" = []
_lock = threading.Lock()
_started = 0


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
    extra: "dict[str, object]" = field(default_factory=dict)

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


def processes_started() -> int:
    """How many processes this interpreter has started through :func:`run`."""
    return _started


def abandoned_processes() -> int:
    """How many timed-out processes were killed and left unreaped."""
    with _lock:
        return sum(1 for proc in _abandoned if proc.poll() is None)


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
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _abandon(proc)
        return CommandResult(
            argv=argv,
            exit_status=None,
            duration_s=time.monotonic() - start,
            timed_out=True,
        )
    return CommandResult(
        argv=argv,
        exit_status=proc.returncode,
        stdout=stdout or b"",
        stderr=stderr or b"",
        duration_s=time.monotonic() - start,
    )


def _abandon(proc: "subprocess.Popen[bytes]") -> None:
    """SIGKILL the process and walk away without waiting for it to die."""
    with contextlib.suppress(OSError):
        proc.kill()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    # A killed process normally dies at once; reap it if so, otherwise leave it be.
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=0.05)
    with _lock:
        _abandoned.append(proc)
