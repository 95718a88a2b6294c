"""The rig's own tgt iSCSI target: started per run on 127.0.0.1, always stopped at the end.

tgtd ignores SIGTERM; it is stopped by deleting its targets and then the system
(``tgtadm --mode system --op delete``), or SIGKILLed if that does not work. Its management channel
is a Unix socket ``/var/run/tgtd/socket.<control port>``: each run picks an unused control port
and a free TCP port, so a system tgtd or another run is never touched.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .processes import start_tied

LISTEN_ADDRESS = "127.0.0.1"
SOCKET_DIR = Path("/var/run/tgtd")
TGTADM_TIMEOUT_S = 20


class TgtError(RuntimeError):
    """tgtd could not be started or configured."""


def free_tcp_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LISTEN_ADDRESS, 0))
        return int(sock.getsockname()[1])


def _unused_control_port() -> int:
    for _ in range(100):
        port = random.randint(20000, 32767)  # tgtd refuses larger ones
        if not (SOCKET_DIR / f"socket.{port}").exists():
            return port
    raise TgtError(f"no unused tgtd control port under {SOCKET_DIR}")


@dataclass(frozen=True)
class TargetLun:
    number: int
    backing_file: Path
    params: tuple[tuple[str, str], ...] = ()


class TgtDaemon:
    """One tgtd with one target (``iqn``) holding the run's LUNs, reachable from 127.0.0.1."""

    def __init__(self, iqn: str, log_path: Path) -> None:
        self.iqn = iqn
        self.log_path = log_path
        self.port = 0
        self.control_port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopped_by_signal = False

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise TgtError("tgtd is not running")
        return self.proc.pid

    def tgtadm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = ["tgtadm", "-C", str(self.control_port), *args]
        try:
            proc = subprocess.run(
                argv, capture_output=True, text=True, timeout=TGTADM_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise TgtError(f"{' '.join(argv)} timed out") from exc
        if check and proc.returncode != 0:
            raise TgtError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}")
        return proc

    def start(self, luns: Sequence[TargetLun]) -> None:
        self.port = free_tcp_port()
        self.control_port = _unused_control_port()
        argv = ["tgtd", "-f", "-C", str(self.control_port), "--iscsi",
                f"portal={LISTEN_ADDRESS}:{self.port}"]  # fmt: skip
        self.proc = start_tied(argv, self.log_path)
        self._wait_ready(timeout_s=20)
        self.target("new", "--targetname", self.iqn)
        for lun in luns:
            self.logical_unit("new", lun.number, "--backing-store", str(lun.backing_file))
            if lun.params:
                params = ",".join(f"{key}={value}" for key, value in lun.params)
                self.logical_unit("update", lun.number, "--params", params)
        self.target("bind", "--initiator-address", LISTEN_ADDRESS)

    def target(self, op: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``tgtadm --mode target --op OP`` on the run's one target (tid 1)."""
        return self.tgtadm(
            "--lld", "iscsi", "--mode", "target", "--op", op, "--tid", "1", *args, check=check
        )

    def logical_unit(self, op: str, lun: int, *args: str) -> subprocess.CompletedProcess[str]:
        return self.tgtadm(
            "--lld", "iscsi", "--mode", "logicalunit", "--op", op, "--tid", "1",
            "--lun", str(lun), *args,
        )  # fmt: skip

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise TgtError(f"tgtd exited {self.proc.returncode}; see {self.log_path}")
            if self._listening() and self._show_all(check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise TgtError(f"tgtd not ready after {timeout_s} s; see {self.log_path}")

    def _listening(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            return sock.connect_ex((LISTEN_ADDRESS, self.port)) == 0

    def _show_all(self, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.tgtadm("--lld", "iscsi", "--mode", "target", "--op", "show", check=check)

    def show(self) -> str:
        """``tgtadm --op show``: targets, LUNs, I_T nexuses (it does not show PR state)."""
        return self._show_all().stdout

    def suspend(self) -> None:
        """Make the target stop answering: SIGSTOP (its TCP connections stay open)."""
        os.kill(self.pid, signal.SIGSTOP)
        self.stopped_by_signal = True

    def resume(self) -> None:
        if self.proc is not None and self.stopped_by_signal:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.stopped_by_signal = False

    def stop(self) -> None:
        """Delete the target, shut tgtd down (SIGKILL if it will not go), remove its socket."""
        proc = self.proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                self.resume()
                try:
                    self.target("delete", "--force", check=False)
                    self.tgtadm("--mode", "system", "--op", "delete", check=False)
                    proc.wait(timeout=10)
                except (TgtError, subprocess.TimeoutExpired):
                    pass
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            for suffix in ("", ".lock"):
                with contextlib.suppress(FileNotFoundError):
                    (SOCKET_DIR / f"socket.{self.control_port}{suffix}").unlink()
            self.proc = None
