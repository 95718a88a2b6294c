"""The process seam: real processes (no fakes) for timeout and abandonment behaviour."""


import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from guestprobe.collect import process
from guestprobe.collect.sg3 import interpret_command

REPO = Path(__file__).resolve().parents[2]


def test_run_captures_bytes_status_and_duration():
    result = process.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.stdout.buffer.write(b'\\x00\\xff'); "
            "sys.stderr.write('warn'); sys.exit(22)",
        ],
        timeout_s=20,
    )
    assert result.exit_status == 22
    assert result.stdout == b"\x00\xff"
    assert result.stderr_text == "warn"
    assert result.duration_s > 0
    assert not result.timed_out


def test_missing_tool_is_a_fact_not_an_exception():
    result = process.run(["/nonexistent/sg_inq", "--raw"], timeout_s=5)
    assert result.exit_status is None
    assert result.start_error


def test_timeout_abandons_instead_of_waiting():
    # Like a process stuck in SG_IO, a grandchild keeps the stdout pipe open after the kill:
    # subprocess.run(timeout=) would wait 30 s for EOF; the seam must come back after ~timeout.
    start = time.monotonic()
    result = process.run(["sh", "-c", "sleep 30 & sleep 30"], timeout_s=0.5)
    elapsed = time.monotonic() - start
    assert result.timed_out
    assert result.exit_status is None
    assert elapsed < 5


def test_processes_are_counted():
    before = process.processes_started()
    process.run([sys.executable, "-c", "pass"], timeout_s=20)
    assert process.processes_started() == before + 1


def test_a_child_that_writes_without_end_is_killed_at_the_output_limit():
    """``yes`` writes forever: kept to OUTPUT_LIMIT, killed, recorded as output_too_large."""
    result = process.run(["yes"], timeout_s=60)
    assert result.output_too_large
    assert not result.timed_out and result.exit_status is None
    assert len(result.stdout) == process.OUTPUT_LIMIT
    assert result.stdout[:4] == b"y\ny\n"
    outcome, meaning = interpret_command(result, 60)
    assert outcome.value == "output_too_large" and "16 MiB" in meaning


def test_the_output_limit_bounds_memory():
    """In a fresh interpreter (its own peak RSS): `yes` costs the 16 MiB kept, not gigabytes."""
    code = (
        "import resource, sys\n"
        "from guestprobe.collect import process\n"
        "r = process.run(['yes'], timeout_s=3)\n"
        "print(r.output_too_large, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    output = subprocess.check_output(
        [sys.executable, "-c", code],
        timeout=120,
        cwd=str(REPO),
        env={**os.environ, "PYTHONPATH": str(REPO)},
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)),
    )
    too_large, max_rss_kib = output.decode().split()
    assert too_large == "True"
    assert int(max_rss_kib) < 150 * 1024


def test_children_run_in_a_session_of_their_own():
    """A terminal's Ctrl-C goes to guestprobe's process group, never straight to a child."""
    result = process.run(
        [sys.executable, "-c", "import os; print(os.getsid(0), os.getpgid(0))"], timeout_s=20
    )
    sid, pgid = (int(x) for x in result.stdout.split())
    assert sid != os.getsid(0) and pgid != os.getpgid(0)
    assert sid == pgid  # the child leads its own session and group
