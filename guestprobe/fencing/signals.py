"""SIGINT and SIGTERM during a fencing test: turn them into an exception the cleanup follows.

A signal must never leave a registration behind, nor let cleanup race a command still in the
kernel. So, inside :class:`SignalGuard`:

* between commands, SIGINT/SIGTERM raise :class:`Interrupted` at once (the caller's ``finally``
  cleans up);
* while a command runs, the first signal is held until the command returns (at most the command
  timeout), so the cleanup that follows knows what that command did; a second one raises at once,
  but the command is never killed by it: it runs in a process group of its own (a terminal's
  Ctrl-C does not reach it) and :func:`guestprobe.collect.process.run` lets it end, within its
  timeout, before the exception goes on;
* during cleanup (after :meth:`SignalGuard.hold`) signals are
  only recorded: cleanup runs to the end, each of its commands bounded by the timeout.

The old handlers are restored on leaving. Outside the main thread (where Python cannot install
handlers) the guard does nothing.
"""


import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

GUARDED = (signal.SIGINT, signal.SIGTERM)
_RAISE, _COMMAND, _DEFER = "raise", "command", "defer"


class Interrupted(BaseException):
    """A SIGINT or SIGTERM arrived; a BaseException, like KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


class SignalGuard:
    def __init__(self) -> None:
        self.received: "list[int]" = []
        self._mode = _RAISE
        self._raised = False
        self._old: "dict[int, Any]" = {}

    def __enter__(self) -> "SignalGuard":
        if threading.current_thread() is threading.main_thread():
            for signum in GUARDED:
                self._old[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._old.items():
            signal.signal(signum, handler)
        self._old.clear()

    def _handle(self, signum: int, frame: "FrameType | None") -> None:
        self.received.append(signum)
        if self._mode == _RAISE or (self._mode == _COMMAND and len(self.received) > 1):
            self._raise(signum)

    def _raise(self, signum: int) -> None:
        if not self._raised:
            self._raised = True
            raise Interrupted(signum)

    def check(self) -> None:
        """Raise :class:`Interrupted` for a signal that was held back during a command."""
        if self.received and self._mode != _DEFER:
            self._raise(self.received[0])

    @contextlib.contextmanager
    def command(self) -> "Iterator[None]":
        """Hold back the first signal while one command runs (during cleanup: every signal)."""
        previous = self._mode
        self._mode = _DEFER if previous == _DEFER else _COMMAND
        try:
            yield
        finally:
            self._mode = previous

    def hold(self) -> None:
        """From now on only record signals (cleanup), until the guard is left."""
        self._mode = _DEFER

    @property
    def signal_name(self) -> "str | None":
        return signal.Signals(self.received[0]).name if self.received else None
