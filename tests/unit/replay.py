"""Replay captured sg3_utils answers through pytest-subprocess, keyed by guestprobe's own argv.

A capture folder holds, per probe NAME, ``NAME.argv`` (the command as captured), ``NAME.out``
(stdout bytes), ``NAME.err`` and ``NAME.rc``. guestprobe's argv for the same probe may differ in
device node and options; the answer is the captured one, byte for byte.

A probe added to the plan after a folder was captured (``pr_read_full_status`` in the rig
captures of tests/fixtures/rig) has no answer there: it is replayed as a command that failed
with exit 99 and says so on stderr (:data:`NOT_CAPTURED`), never as a made-up answer.
"""


from pathlib import Path

from guestprobe.collect.sg3 import (
    INQUIRY,
    PR_READ_FULL_STATUS,
    PR_READ_KEYS,
    PR_READ_RESERVATION,
    PR_REPORT_CAPABILITIES,
    READ_CAPACITY_16,
    READ_CAPACITY_16_RECHECK,
    REPORT_OPCODES,
    VPD_PAGES,
    vpd_probe,
    write_same_probes,
)
from guestprobe.collect.sg3_releases import adapt
from guestprobe.decode import DecodeError
from guestprobe.decode.readcap import decode_read_capacity_16

SG_INQ_VERSION = b"Version string: 2.10 20210328\n"
# probes newer than a capture (see the module docstring)
LATER_PROBES = (PR_READ_FULL_STATUS.name,)
NOT_CAPTURED = {
    "stdout": b"",
    "stderr": b"replay: not in this capture (captured before guestprobe sent this probe)\n",
    "returncode": 99,
}


def register_tools_version(fp, occurrences: int = 5) -> None:
    fp.register(["sg_inq", "--version"], stderr=SG_INQ_VERSION, occurrences=occurrences)


def _answer(capture: "Path", name: str) -> dict:
    return {
        "stdout": (capture / f"{name}.out").read_bytes(),
        "stderr": (capture / f"{name}.err").read_bytes(),
        "returncode": int((capture / f"{name}.rc").read_text().strip()),
    }


def captured_capacity(capture: "Path") -> "tuple[int, int] | None":
    """(blocks, bytes per block as sent) from the captured READ CAPACITY(16), if it answered."""
    rc_file = capture / "readcap16.rc"
    if not rc_file.exists() or rc_file.read_text().strip() != "0":
        return None
    try:
        capacity = decode_read_capacity_16((capture / "readcap16.out").read_bytes())
    except DecodeError:
        return None
    return capacity.capacity_blocks, capacity.logical_block_size + (8 if capacity.prot_en else 0)


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
        PR_READ_FULL_STATUS,
        REPORT_OPCODES,
        *(vpd_probe(p) for p in VPD_PAGES),
    ]
    capacity = captured_capacity(capture)
    if capacity is not None:
        specs += write_same_probes(capacity[0], capacity[1], timeout_s)
    for spec in specs:
        if spec.name in (skip or set()):
            continue
        argv = adapt(spec, release).argv(device)
        if (capture / f"{spec.name}.rc").exists():
            fp.register(argv, occurrences=occurrences, **_answer(capture, spec.name))
        elif spec.name in LATER_PROBES and (capture / "pr_read_keys.rc").exists():
            fp.register(argv, occurrences=occurrences, **NOT_CAPTURED)
    if (capture / "readcap16.rc").exists() and "readcap16" not in (skip or set()):
        # the fresh READ CAPACITY(16) before the write probes: the same argv, the same answer
        fp.register(
            adapt(READ_CAPACITY_16_RECHECK, release).argv(device),
            occurrences=occurrences,
            **_answer(capture, "readcap16"),
        )
