"""In a rig guest: each disk's answer to the WRITE SAME probes at LBA = capacity and at the far LBA.

Run as the rig's guest command (``python -m tests.vm.rig SCENARIO -- '{python} -m
tests.vm.write_same_table {results}'``); prints a Markdown table and writes
``{results}/write_same_table.json``. The "capacity" column is what guestprobe sent up to issue 10
(LBA = READ CAPACITY's block count, one past the end); the "far" column is what it sends now
(guestprobe/collect/sg3.py). Both are out of range; the point is that the answers are the same.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from guestprobe.collect import sg3


def exit_status(argv: list[str]) -> int | None:
    try:
        return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=60, check=False).returncode  # fmt: skip
    except subprocess.TimeoutExpired:
        return None


def main(results: str) -> int:
    disks = json.loads((Path(results) / "disks.json").read_text())
    rows = []
    for label, info in sorted(disks.items()):
        node, blocks, size = info["probe_node"], info["capacity_blocks"], info["block_size"]
        if not blocks or not size:
            continue
        far = {spec.name: spec for spec in sg3.write_same_probes(blocks, size, 15)}
        for name, cdb_size, unmap in (
            ("write_same16_oor", 16, False),
            ("write_same10_oor", 10, False),
            ("write_same16_unmap_oor", 16, True),
        ):
            at_capacity = [
                "sg_write_same", f"--{cdb_size}", *(["--unmap"] if unmap else []),
                f"--lba={blocks}", "--num=1", f"--xferlen={size}", "--timeout=15", node,
            ]  # fmt: skip
            spec = far.get(name)
            rows.append({
                "disk": label, "probe": name, "capacity_blocks": blocks,
                "at_capacity": exit_status(at_capacity),
                "far_lba": None if spec is None else sg3.far_lba(cdb_size),
                "at_far_lba": None if spec is None else exit_status(spec.argv(node)),
            })  # fmt: skip
    (Path(results) / "write_same_table.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("| disk | probe | blocks | exit at LBA = capacity | far LBA | exit at far LBA |")
    print("|---|---|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['disk']} | {row['probe']} | {row['capacity_blocks']} | "
              f"{row['at_capacity']} | {row['far_lba']} | {row['at_far_lba']} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
