import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

_DISPATCH_LOCK = threading.Lock()


@pytest.fixture(autouse=True)
def _thread_safe_fake_processes(monkeypatch):
    """pytest-subprocess's dispatcher is not thread-safe, and guestprobe starts processes from
    several worker threads at once (seen: "dictionary changed size during iteration" in CI).
    Serialise only the dispatch — the choice of which fake answers — not the fake process."""
    from pytest_subprocess.process_dispatcher import ProcessDispatcher

    original = ProcessDispatcher.dispatch.__func__

    def dispatch(cls, command, **kwargs):
        with _DISPATCH_LOCK:
            return original(cls, command, **kwargs)

    monkeypatch.setattr(ProcessDispatcher, "dispatch", classmethod(dispatch))


@pytest.fixture(autouse=True)
def _no_real_libsgutils2(monkeypatch):
    """Scans in unit tests play their disks with fake executables: the lib engine would send
    real SCSI commands to the host's /dev. A library path that cannot load makes every scan
    choose the CLI engine, with its reason; tests of the lib engine pass their own library."""
    monkeypatch.setenv("GUESTPROBE_LIBSGUTILS2", "/nonexistent/libsgutils2-unit-tests.so.2")
