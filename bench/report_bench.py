"""How long ``guestprobe report FILE --json`` takes to judge a large report again, against what
Python needs just to read and write the same JSON. One command, prints a table:

    python3 -m bench.report_bench                  # 256, 512 and 1024 disks
    python3 -m bench.report_bench --disks 4096 --html

Each report is the mixed example's disks (examples/mixed.tar.gz) cloned under new names until
there are N of them. For each N, one run of each, in this order and in fresh processes (with
``--repeat K``, K pairs in turn and the least CPU time of each kept):

- ``baseline``: ``json.load`` + ``json.dumps(indent=2)`` of the file (the floor: Python's parser);
- ``report --json``: guestprobe reads, validates, decodes, classifies and judges it again;
- ``--html`` (with ``--html``): the same plus the HTML page and the terminal view.

CPU time (user + system), wall time and the child's peak RSS (``ru_maxrss``) are measured; the
ratio is of CPU times. Nothing is asserted. The figures of a run are in docs/performance.md.
"""

import argparse
import copy
import json
import os
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


def timed(argv: "list[str]") -> "tuple[float, float, float, int]":
    """(wall seconds, CPU seconds, peak RSS in MiB, exit status) of one run of ``argv``.

    CPU time (user + system of the child) is what the ratio is taken of: on a machine shared
    with other jobs the wall time mostly measures the others. ``os.wait4`` gives the child's own
    figures.
    """
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        child = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=errors,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            errors.seek(0)
            sys.stderr.write(errors.read().decode(errors="replace"))
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--disks", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--html", action="store_true", help="also time report --html")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each N times, in turn, and keep the least CPU time of each")
    args = parser.parse_args()
    template = example_report()
    guestprobe = [sys.executable, "-m", "guestprobe", "report"]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'disks':>6} {'MB':>6} {'baseline s':>14} {'report --json s':>15} {'ratio':>6} "
          f"{'RSS MiB':>7}" + (f" {'--html s':>14} {'RSS MiB':>7}" if args.html else ""))
    print(f"{'':>6} {'':>6} {'cpu / wall':>14} {'cpu / wall':>15} {'(cpu)':>6}")
    with tempfile.TemporaryDirectory() as folder:
        for disks in sorted(args.disks):  # RSS of the children only grows: smallest first
            path = Path(folder) / f"report-{disks}.json"
            path.write_text(json.dumps(cloned_report(template, disks), indent=2))
            size = path.stat().st_size / 1e6
            runs = [
                (timed([sys.executable, "-c", BASELINE, str(path)]),
                 timed([*guestprobe, str(path), "--json"]))
                for _ in range(args.repeat)
            ]
            base_wall, base_cpu, _, _ = min((base for base, _ in runs), key=lambda r: r[1])
            wall, cpu, rss, status = min((judged for _, judged in runs), key=lambda r: r[1])
            line = (f"{disks:>6} {size:>6.1f} {base_cpu:>6.2f} / {base_wall:>5.2f} "
                    f"{cpu:>7.2f} / {wall:>5.2f} {cpu / base_cpu:>6.2f} {rss:>7.0f}")
            line += f" (exit {status})" if status else ""
            if args.html:
                wall, cpu, rss, status = timed(
                    [*guestprobe, str(path), "--html", str(Path(folder) / "page.html")]
                )
                line += f" {cpu:>6.2f} / {wall:>5.2f} {rss:>7.0f}"
                line += f" (exit {status})" if status else ""
            print(line, flush=True)
    print(f"load {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
