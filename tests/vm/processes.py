"""Long-running helpers of the rig (QEMU, tgtd): started tied to us, stopped for sure.

Each runs in its own session (a terminal's Ctrl-C does not reach it half-way) and gets SIGKILL
from the kernel when the thread that started it dies (``PR_SET_PDEATHSIG``), so that not even a
SIGKILLed pytest leaves a guest or a target behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _tie_to_parent() -> None:  # runs in the child between fork and exec
    os.setsid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def start_tied(
    argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with stdout and stderr appended to ``log_path`` (in ``env``, if given)."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(argv),
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_tie_to_parent,  # noqa: PLW1509 - only it can set PDEATHSIG
        )


def stop_group(proc: subprocess.Popen[bytes], grace_s: float = 5) -> None:
    """SIGTERM the process' session, then SIGKILL it if it does not go; reap it."""
    if proc.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.poll()
