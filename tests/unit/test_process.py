"""The process seam: real processes (no fakes) for timeout and abandonment behaviour."""


import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from proctree import alive_with, gone, kill_all

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
        # VmHWM: the peak of this program's own memory (ru_maxrss would count the pages of the
        # process it was forked from, before the exec)
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "print(r.output_too_large, hwm)\n"
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


# -- the process tree: a child's group, and what it started, end with it ----------------------
def tool(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def test_a_timed_out_tool_leaves_nothing_behind(tmp_path):
    """A tool that runs `sleep` as a child: a 1 s timeout ends both (its process group)."""
    marker = "987.125"
    hanging = tool(tmp_path, "sg_inq", f"sleep {marker}")
    before = process.abandoned_processes()
    result = process.run([hanging, "--raw", "--only", "/dev/sg9"], timeout_s=1)
    assert result.timed_out
    clean = gone(marker)
    kill_all(marker)
    assert clean
    assert process.abandoned_processes() == before


def test_what_a_tool_leaves_after_it_exits_is_ended_too(tmp_path):
    marker = "986.125"
    leaving = tool(tmp_path, "sg_vpd", f"sleep {marker} >/dev/null 2>&1 &\nexit 0")
    result = process.run([leaving], timeout_s=20)
    assert result.exit_status == 0
    clean = gone(marker)
    kill_all(marker)
    assert clean


def test_what_survives_the_kill_is_counted_as_abandoned(tmp_path, monkeypatch):
    """As a process in uninterruptible sleep would: here the group kill is taken away, so the
    tool's child survives it, and abandoned_processes counts it while it lives."""
    marker = "985.125"
    hanging = tool(tmp_path, "sg_inq", f"sleep {marker}")
    before = process.abandoned_processes()
    monkeypatch.setattr(process.os, "killpg", lambda group, signum: None)
    try:
        result = process.run([hanging], timeout_s=1)
        assert result.timed_out
        assert len(alive_with(marker)) == 1
        assert process.abandoned_processes() == before + 1
    finally:
        kill_all(marker)
    assert gone(marker)
    assert process.abandoned_processes() == before


def test_a_probe_worker_leads_a_session_and_group_of_its_own():
    def work(write_fd):
        os.write(write_fd, f"{os.getsid(0)} {os.getpgid(0)}".encode())

    pid, read_fd = process.fork_worker(work)
    answer = os.read(read_fd, 100).decode()
    os.close(read_fd)
    assert process.end_worker(pid, kill=False)
    assert answer == f"{pid} {pid}"


def worker_running(hanging: str, marker: str) -> "tuple[int, int]":
    """A probe worker running the tool ``hanging``, once its ``sleep`` runs: (pid, pipe)."""
    pid, read_fd = process.fork_worker(lambda write_fd: process.run([hanging], timeout_s=60))
    deadline = time.monotonic() + 20
    while not alive_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive_with(marker)
    return pid, read_fd


def test_a_killed_worker_takes_the_tools_it_started_with_it(tmp_path):
    marker = "984.125"
    hanging = tool(tmp_path, "sg_persist", f"sleep {marker}")
    pid, read_fd = worker_running(hanging, marker)
    try:
        assert process.end_worker(pid, kill=True)
        assert gone(marker), alive_with(marker)
    finally:
        os.close(read_fd)
        kill_all(marker)


def test_the_output_of_all_children_together_is_bounded():
    """Past the scan's total, a child is killed and its probe is output_too_large; one that
    writes nothing still runs."""
    process.limit_output(1024 * 1024)
    try:
        flood = process.run(["yes"], timeout_s=60)
        assert flood.output_too_large and flood.over_total_output
        assert len(flood.stdout) == 1024 * 1024
        outcome, meaning = interpret_command(flood, 60)
        assert outcome.value == "output_too_large" and "32 MiB" in meaning
        after = process.run(["echo", "one line"], timeout_s=20)
        assert after.output_too_large and after.stdout == b""
        quiet = process.run(["true"], timeout_s=20)
        assert quiet.exit_status == 0 and not quiet.output_too_large
    finally:
        process.limit_output(process.TOTAL_OUTPUT_LIMIT)


def test_stop_children_ends_running_workers_and_their_tools_and_starts_no_more(tmp_path):
    """What a signal that ends a scan does, whichever engine runs: nothing of it is left."""
    marker = "983.125"
    hanging = tool(tmp_path, "sg_readcap", f"sleep {marker}")
    pid, read_fd = worker_running(hanging, marker)
    try:
        process.stop_children()
        assert gone(marker), alive_with(marker)
        assert process.end_worker(pid, kill=False)  # already ended: reaped at once
        refused = process.run(["true"], timeout_s=20)
        assert refused.exit_status is None and "scan is ending" in refused.start_error
    finally:
        kill_all(marker)
        os.close(read_fd)
        process.allow_children()
    assert process.run(["true"], timeout_s=20).exit_status == 0
