"""How long ``guestprobe report FILE --json`` takes to judge a large report again, against what
Python needs just to read and write the same JSON. One command, prints a table:

    python3 -m bench.report_bench                  # 256, 512 and 1024 disks
    python3 -m bench.report_bench --disks 4096 --html

Each report is the mixed example's disks (examples/mixed.tar.gz) cloned under new names until
there are N of them. For each N, one run of each, in this order and in fresh processes:

- ``baseline``: ``json.load`` + ``json.dumps(indent=2)`` of the file (the floor: Python's parser);
- ``report --json``: guestprobe reads, validates, decodes, classifies and judges it again;
- ``--html`` (with ``--html``): the same plus the HTML page and the terminal view.

Wall time and the child's peak RSS (``ru_maxrss``) are measured; nothing is asserted. The
figures of a run are in docs/performance.md.
"""

import argparse
import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "mixed.tar.gz"
BASELINE = (
    "import json, sys\n"
    "with open(sys.argv[1]) as f: d = json.load(f)\n"
    "sys.stdout.write(json.dumps(d, indent=2))\n"
)


def example_report() -> dict:
    sys.path.insert(0, str(ROOT))
    from guestprobe.bundle.archive import read_bundle

    return read_bundle(EXAMPLE.read_bytes(), str(EXAMPLE)).report


def _renamed(disk: dict, name: str) -> dict:
    clone = copy.deepcopy(disk)
    old = clone["name"]
    clone["name"] = clone["inventory"]["name"] = name
    clone["dev_path"] = clone["inventory"]["dev_path"] = f"/dev/{name}"
    for probe in clone["probes"]:
        probe["id"] = probe["id"].replace(f"{old}/", f"{name}/", 1)
    return clone


def cloned_report(template: dict, disks: int) -> dict:
    """``template`` with its disks cloned (under the names d0000, d0001, ...) to ``disks``."""
    document = copy.deepcopy(template)
    originals = template["disks"]
    document["disks"] = [
        _renamed(originals[index % len(originals)], f"d{index:04d}") for index in range(disks)
    ]
    document["scan"]["disk_count"] = disks
    return document


def timed(argv: "list[str]") -> "tuple[float, float, int]":
    """(wall seconds, the child's peak RSS in MiB, exit status) of one run, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        check=False,
    )
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode:
        sys.stderr.write(done.stderr.decode(errors="replace"))
    # ru_maxrss of the children is the largest so far: only a new maximum is this run's own
    return wall, max(peak, before) / 1024 if peak > before else float("nan"), done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--disks", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--html", action="store_true", help="also time report --html")
    args = parser.parse_args()
    template = example_report()
    guestprobe = [sys.executable, "-m", "guestprobe", "report"]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'disks':>6} {'MB':>7} {'baseline s':>11} {'report --json s':>16} {'ratio':>6} "
          f"{'RSS MiB':>8}" + (f" {'--html s':>9} {'RSS MiB':>8}" if args.html else ""))
    with tempfile.TemporaryDirectory() as folder:
        for disks in sorted(args.disks):  # RSS of the children only grows: smallest first
            path = Path(folder) / f"report-{disks}.json"
            path.write_text(json.dumps(cloned_report(template, disks), indent=2))
            size = path.stat().st_size / 1e6
            base, _, _ = timed([sys.executable, "-c", BASELINE, str(path)])
            judged, rss, status = timed([*guestprobe, str(path), "--json"])
            line = (f"{disks:>6} {size:>7.1f} {base:>11.2f} {judged:>16.2f} "
                    f"{judged / base:>6.2f} {rss:>8.0f}")
            if status:
                line += f" (exit {status})"
            if args.html:
                html_s, html_rss, status = timed(
                    [*guestprobe, str(path), "--html", str(Path(folder) / "page.html")]
                )
                line += f" {html_s:>9.2f} {html_rss:>8.0f}"
                line += f" (exit {status})" if status else ""
            print(line, flush=True)


if __name__ == "__main__":
    main()
