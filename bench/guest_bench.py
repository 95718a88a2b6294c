"""Runs inside a rig guest: time the naive loop and ``guestprobe scan --json``; print one JSON.

Usage (in the guest): python3 bench/guest_bench.py RESULTS_DIR [--skip-naive] [--guestprobe PATH]
[--scan-arg ARG]...
Peak RSS is the scan process's own (getrusage of the waited-for child), in MiB.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scsi_disks() -> list[str]:
    return sorted(
        f"/dev/{path.name}" for path in Path("/sys/block").iterdir() if path.name.startswith("sd")
    )


def timed(argv: list[str], timeout_s: float) -> tuple[float, int | None]:
    start = time.monotonic()
    try:
        rc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout_s,
            check=False,
        ).returncode
    except subprocess.TimeoutExpired:
        rc = None
    return time.monotonic() - start, rc


def main(argv: list[str]) -> int:
    results = Path(argv[0])
    skip_naive = "--skip-naive" in argv
    scan_args = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--scan-arg"]
    tool = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--guestprobe"]
    disks = scsi_disks()
    out: dict[str, object] = {"disks": len(disks)}
    if not skip_naive:
        out["naive_s"], out["naive_rc"] = timed(["sh", str(HERE / "naive_loop.sh"), *disks], 3600)
    report = results / "scan.json"
    program = tool or [sys.executable, "-m", "guestprobe"]
    scan = [*program, "scan", "--json", "-o", str(report), *scan_args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out["scan_s"], out["scan_rc"] = timed(scan, 3600)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out["scan_peak_rss_mib"] = round(max(peak_kib, before) / 1024, 1)
    if report.exists():
        document = json.loads(report.read_text())
        out["processes_started"] = document["scan"]["processes_started"]
        out["processes_per_disk"] = document["scan"]["processes_per_disk"]
        out["scan_internal_s"] = document["scan"]["duration_s"]
        out["startup_s"] = document["scan"].get("startup_s")  # imports before the first probe
        out["engine"] = (document["scan"].get("engine") or {}).get("name")
        out["statuses"] = sorted({d["status"] for d in document["disks"]})
        out["timed_out"] = [d["name"] for d in document["disks"] if d["status"] == "timed_out"]
    print("BENCH " + json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
