"""Benchmark guestprobe in real rig guests (issue 7). One command, prints a table:

    python3 -m bench.run                    # 16, 64 and 256 scsi-hd disks, plus the hung-disk case
    python3 -m bench.run --disks 64 --no-hung

For each size N one guest boots with N QEMU scsi-hd disks on one virtio-scsi controller; inside
it the naive loop (bench/naive_loop.sh: per disk sg_inq, sg_vpd x5, sg_readcap, sg_persist x3,
sg_opcodes, one after the other) and ``guestprobe scan --json`` (default options: write probes
on) run one after the other, timed with the guest's monotonic clock. The hung case boots a
passed-through tgt LUN plus scsi-hd disks, stops tgtd (SIGSTOP) while the scan runs, and reports
the scan's wall time against the probe timeout. Results are measurements, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from tests.vm.rig import run_scenario
from tests.vm.scenarios import SCENARIOS, SCSI_HD, Disk, Scenario

VENV = Path(__file__).resolve().parents[1] / "tests" / "vm" / ".cache" / "bench-venv"
GUEST_COMMAND = (
    f"{VENV}/bin/python {{repo}}/bench/guest_bench.py {{results}}"
    f" --guestprobe {VENV}/bin/guestprobe"
)


def prepare_venv() -> None:
    """guestprobe installed as on a guest: its own environment, only pyudev and click beside it,
    byte-compiled (the guest's root is the host's, read-only: it could not write .pyc files)."""
    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, timeout=300)
    pip = [
        str(VENV / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, "pyudev", "click", str(repo)], check=True, timeout=600)
    subprocess.run(
        [str(VENV / "bin" / "python"), "-m", "compileall", "-q", str(VENV)],
        check=False,
        timeout=600,
    )


def scsi_hd_scenario(count: int) -> Scenario:
    disks = tuple(
        Disk(SCSI_HD, f"scsi-hd_B{i:03d}", serial=f"BENCH{i:03d}", size_mib=8) for i in range(count)
    )
    return Scenario(
        name=f"bench-{count}",
        summary=f"{count} QEMU scsi-hd disks on one virtio-scsi controller",
        disks=disks,
        command_timeout_s=3600,
        memory_mib=2048,
    )


def hung_scenario(timeout_s: int) -> Scenario:
    base = SCENARIOS["hung-target"]
    extra = tuple(
        Disk(SCSI_HD, f"scsi-hd_H{i:02d}", serial=f"HUNG{i:02d}", size_mib=8) for i in range(8)
    )
    return replace(base, name="bench-hung", disks=base.disks + extra, command_timeout_s=600)


def parse_bench(stdout: str) -> dict:
    for line in stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH ") :])
    raise RuntimeError(f"no BENCH line in the guest's output:\n{stdout[-2000:]}")


def run_size(count: int, extra: str = "") -> dict:
    start = time.monotonic()
    result = run_scenario(scsi_hd_scenario(count), command=GUEST_COMMAND + extra, capture=False)
    row = parse_bench(result.command_stdout)
    row["boot_s"] = result.boot_s
    row["host_wall_s"] = round(time.monotonic() - start, 1)
    row["images_unchanged"] = result.checksums_before == result.checksums_after
    return row


def run_hung(timeout_s: int) -> dict:
    command = GUEST_COMMAND + f" --skip-naive --scan-arg --timeout --scan-arg {timeout_s}"
    result = run_scenario(hung_scenario(timeout_s), command=command, capture=False)
    row = parse_bench(result.command_stdout)
    row["probe_timeout_s"] = timeout_s
    return row


def table(rows: list[dict]) -> str:
    lines = [
        "| disks | engine | naive loop s | guestprobe scan s | ratio | processes/disk"
        " | peak RSS MiB | start s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ratio = row["scan_s"] / row["naive_s"] if row.get("naive_s") else float("nan")
        lines.append(
            f"| {row['disks']} | {row.get('engine', '-')} | {row.get('naive_s', float('nan')):.1f}"
            f" | {row['scan_s']:.1f} | {ratio:.2f} | {row.get('processes_per_disk', '-')}"
            f" | {row['scan_peak_rss_mib']} | {row.get('startup_s', '-')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disks", default="16,64,256", help="comma-separated disk counts")
    parser.add_argument("--no-hung", action="store_true", help="skip the hung-disk case")
    parser.add_argument("--hung-timeout", type=int, default=15, help="probe timeout, hung case")
    parser.add_argument("--json", help="also write the raw rows to this file")
    parser.add_argument(
        "--scan-arg",
        action="append",
        default=[],
        help="an extra argument for guestprobe scan (repeat)",
    )
    args = parser.parse_args(argv)
    prepare_venv()
    extra = "".join(f" --scan-arg {arg}" for arg in args.scan_arg)
    rows = []
    for count in (int(n) for n in args.disks.split(",") if n):
        row = run_size(count, extra)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    hung = None if args.no_hung else run_hung(args.hung_timeout)
    machine = f"{platform.node()}: {os.cpu_count()} cores, {platform.machine()}, QEMU TCG"
    print(f"Measured {time.strftime('%Y-%m-%d')} on {machine}\n")
    print(table(rows))
    if hung is not None:
        print(
            f"\nHung disk: a tgt LUN stopped (SIGSTOP) during the scan among {hung['disks']} disks;"
            f" scan took {hung['scan_s']:.1f} s with --timeout {hung['probe_timeout_s']},"
            f" timed out: {', '.join(hung.get('timed_out', [])) or 'none'},"
            f" exit status {hung['scan_rc']}."
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"rows": rows, "hung": hung, "machine": machine}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
