"""A hung tool's whole process group ends with its timeout, in a real guest.

The mixed scenario's guest scans with a fake ``sg_inq`` first on PATH (``hung-sg_inq/``) that
runs ``sleep`` as a child and waits on it; with ``--engine cli --timeout 2`` every disk's INQUIRY
times out. Then, in the guest, no process of that tool may be left (the tool and its ``sleep``
were one process group, killed as one), and the report's ``abandoned_processes`` must say 0.
On guestprobe before process groups were killed, each disk left its ``sleep`` behind, uncounted.

Run in the guest as ``python -m tests.vm.test_process_tree``: prints, as JSON, the live processes
whose command line holds the hung tool's marker.
"""

from __future__ import annotations

import json
import os

import pytest

from guestprobe.errors import ExitStatus

from .rig import SCENARIOS, RunResult, run_scenario, summary

pytestmark = pytest.mark.vm

MARKER = "600." + "25"  # the hung tool's `sleep 600.25` (split: this module's own argv is clean)
NAME = "scan-hung-tool"
COMMAND = (
    "PATH={repo}/tests/vm/hung-sg_inq:$PATH {python} -m guestprobe scan --json --engine cli"
    f" --timeout 2 -o {{results}}/{NAME}.json >{{results}}/{NAME}.out 2>&1;"
    f" echo $? >{{results}}/{NAME}.rc; {{python}} -m tests.vm.test_process_tree"
)


def left_behind() -> list[str]:
    """Live (not zombie) processes whose command line holds MARKER: 'pid: cmdline'."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                text = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{name}/stat", "rb") as stat:
                state = stat.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if MARKER in text and state not in (b"Z", b"X"):
            found.append(f"{name}: {text.strip()}")
    return found


@pytest.fixture(scope="module")
def hung_tool() -> RunResult:
    """A boot of its own: the mixed scenario's disks, the command above instead of the scan."""
    return run_scenario(SCENARIOS["mixed"], command=COMMAND, keep=os.environ.get("RIG_KEEP") == "1")


def test_a_hung_tool_leaves_no_process_in_the_guest(hung_tool: RunResult) -> None:
    result = hung_tool
    details = f"\n{summary(result)}\n{result.scan_outputs.get(NAME)}\n{result.console[-2000:]}"
    report = result.scans.get(NAME)
    assert report is not None, details
    assert result.scan_outputs[NAME]["rc"] == ExitStatus.PARTIAL, details
    inquiries = [
        next(p for p in disk["probes"] if p["name"] == "inquiry") for disk in report["disks"]
    ]
    assert len(inquiries) == 3 and all(p["outcome"] == "timed_out" for p in inquiries), details
    assert json.loads(result.command_stdout) == [], details  # sh and sleep: both gone
    assert report["scan"]["abandoned_processes"] == 0, details


if __name__ == "__main__":
    print(json.dumps(left_behind()))
