"""Replay captured sg3_utils answers through pytest-subprocess, keyed by guestprobe's own argv.

A capture folder holds, per probe NAME, ``NAME.argv`` (the command as captured), ``NAME.out``
(stdout bytes), ``NAME.err`` and ``NAME.rc``. guestprobe's argv for the same probe may differ in
device node and options; the answer is the captured one, byte for byte.
"""


import re
from pathlib import Path

from guestprobe.collect.sg3 import (
    INQUIRY,
    PR_READ_KEYS,
    PR_READ_RESERVATION,
    PR_REPORT_CAPABILITIES,
    READ_CAPACITY_16,
    REPORT_OPCODES,
    VPD_PAGES,
    vpd_probe,
    write_same_probes,
)
from guestprobe.collect.sg3_releases import adapt

SG_INQ_VERSION = b"Version string: 2.10 20210328\n"


def register_tools_version(fp, occurrences: int = 5) -> None:
    fp.register(["sg_inq", "--version"], stderr=SG_INQ_VERSION, occurrences=occurrences)


def _answer(capture: "Path", name: str) -> dict:
    return {
        "stdout": (capture / f"{name}.out").read_bytes(),
        "stderr": (capture / f"{name}.err").read_bytes(),
        "returncode": int((capture / f"{name}.rc").read_text().strip()),
    }


def captured_capacity(capture: "Path") -> "tuple[int, int] | None":
    argv_file = capture / "write_same16_oor.argv"
    if not argv_file.exists():
        return None
    argv = argv_file.read_text()
    lba = re.search(r"--lba=(\d+)", argv)
    xfer = re.search(r"--xferlen=(\d+)", argv)
    if lba is None:
        return None
    return int(lba.group(1)), int(xfer.group(1)) if xfer else 512


def register_disk(
    fp,
    capture: "Path",
    device: str,
    timeout_s: int = 15,
    occurrences: int = 1,
    skip: "set[str] | None" = None,
    release: "tuple[int, int] | None" = None,
) -> None:
    """Register every probe of one captured disk, as guestprobe would send it to ``device``
    (with the argvs adapted to sg3_utils ``release``)."""
    specs = [
        INQUIRY,
        READ_CAPACITY_16,
        PR_READ_KEYS,
        PR_READ_RESERVATION,
        PR_REPORT_CAPABILITIES,
        REPORT_OPCODES,
        *(vpd_probe(p) for p in VPD_PAGES),
    ]
    capacity = captured_capacity(capture)
    if capacity is not None:
        specs += write_same_probes(capacity[0], capacity[1], timeout_s)
    for spec in specs:
        if (capture / f"{spec.name}.rc").exists() and spec.name not in (skip or set()):
            argv = adapt(spec, release).argv(device)
            fp.register(argv, occurrences=occurrences, **_answer(capture, spec.name))
