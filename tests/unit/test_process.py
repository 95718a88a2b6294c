"""The process seam: real processes (no fakes) for timeout and abandonment behaviour."""


import sys
import time

from guestprobe.collect import process


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
