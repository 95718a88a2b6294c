"""SIGINT, SIGTERM and SIGHUP end a scan alike: one line, every child ended, no report, 128 + N.

A real guestprobe process scans the fake kvm-mixed machine with fake sg3_utils tools on PATH
(scripts that start a `sleep` and wait for it, as a hung tool would); the signal comes once the
tools run. On the old code a SIGTERM or SIGHUP killed guestprobe without a word and, with every
signal, the tools (in sessions of their own) kept running.
"""


import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from proctree import alive_with, gone, kill_all

UNIT = Path(__file__).resolve().parent
REPO = UNIT.parents[1]
TOOLS = ("sg_inq", "sg_vpd", "sg_readcap", "sg_persist", "sg_opcodes", "sg_write_same")

DRIVER = """
import sys
from pathlib import Path
sys.path.insert(0, {unit!r})
from fakesys import kvm_mixed
from guestprobe import cli
from guestprobe.cli import common
from guestprobe.collect import scan as scan_module
from guestprobe.collect.sysfs import SysRoot
from guestprobe.collect.udev import UdevView

fake = kvm_mixed(Path({root!r}))
common.os.geteuid = lambda: 0
original = scan_module.collect

def collect(options, **kwargs):
    kwargs.update(sys=SysRoot(fake.root), udev=UdevView(run_dir=fake.p("/run/udev")))
    return original(options, **kwargs)

scan_module.collect = collect
cli.main(sys.argv[1:] + ["--engine", "cli", "--timeout", "60"])
"""


@pytest.mark.parametrize(
    "signum, command",
    [
        (signal.SIGINT, "scan"),
        (signal.SIGTERM, "scan"),
        (signal.SIGHUP, "scan"),
        (signal.SIGTERM, "collect"),
    ],
)
def test_a_signal_ends_the_scan_and_every_process_it_started(tmp_path, signum, command):
    marker = f"97{int(signum)}.125"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in TOOLS:
        script = bin_dir / name
        script.write_text(
            "#!/bin/sh\n"
            'if [ "$1" = --version ]; then echo "version: 2.01 20200417" >&2; exit 0; fi\n'
            f"sleep {marker}\n"
        )
        script.chmod(0o755)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(unit=str(UNIT), root=str(tmp_path / "root")))
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", PYTHONPATH=str(REPO))
    written = tmp_path / "written"
    argv = [command, "-o", str(written)] + (["--json"] if command == "scan" else [])
    scan = subprocess.Popen(
        [sys.executable, str(driver), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=str(REPO),
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while len(alive_with(marker)) < 3 and time.monotonic() < deadline:  # a tool per disk
            assert scan.poll() is None, scan.communicate()
            time.sleep(0.05)
        assert len(alive_with(marker)) >= 3
        scan.send_signal(signum)
        stdout, stderr = scan.communicate(timeout=30)
    finally:
        if scan.poll() is None:
            scan.kill()
            scan.wait()
        clean = gone(marker, within_s=1.0)
        kill_all(marker)
    assert scan.returncode == 128 + signum
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr.decode(), stderr
    assert f"interrupted by {signal.Signals(signum).name}" in lines[0]
    assert stdout == b"" and not written.exists()  # no report, no bundle: the scan is not whole
    assert clean
