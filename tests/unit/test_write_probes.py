"""The WRITE SAME probes of a scan: far LBAs, sent only when the capacity checks out twice.

A fake runner plays the disk: READ CAPACITY(16) answers as told (one answer per call, in order),
sg_write_same answers LBA OUT OF RANGE. The disk's kernel size is the BlockDisk's (sysfs).
"""


import itertools
import re
import struct

import pytest

from guestprobe.collect.discover import BlockDisk
from guestprobe.collect.probe import ProbeOptions, probe_disk
from guestprobe.collect.process import CommandResult

MIB = 1024 * 1024
WS_NAMES = ("write_same16_oor", "write_same10_oor", "write_same16_unmap_oor")


def readcap16(last_lba: int, block_size: int = 512) -> bytes:
    """READ CAPACITY(16) parameter data (SBC-3 5.16.2): RETURNED LBA, block length, zeros."""
    return struct.pack(">QI", last_lba, block_size) + bytes(20)


class FakeDisk:
    """Answers by tool; READ CAPACITY(16) from ``capacities`` (the last one repeats)."""

    def __init__(self, *capacities: bytes) -> None:
        self.capacities = list(capacities)
        self.calls: "list[list[str]]" = []

    def __call__(self, argv, timeout_s):
        argv = list(argv)
        self.calls.append(argv)
        tool = argv[0]
        if tool == "sg_readcap":
            answer = self.capacities.pop(0) if len(self.capacities) > 1 else self.capacities[0]
            return CommandResult(tuple(argv), 0, stdout=answer)
        if tool == "sg_write_same":
            return CommandResult(tuple(argv), 22, stderr=b"LBA out of range\n")
        if tool == "sg_persist":
            return CommandResult(tuple(argv), 9)  # invalid opcode, like QEMU scsi-hd
        return CommandResult(tuple(argv), 0, stdout=b"\x00" * 36)

    def write_same_lbas(self) -> "list[int]":
        return [
            int(re.search(r"--lba=(\d+)", " ".join(call)).group(1))  # type: ignore[union-attr]
            for call in self.calls
            if call[0] == "sg_write_same"
        ]


def disk(size_bytes: "int | None" = 64 * MIB, block_size: "int | None" = 512) -> "BlockDisk":
    return BlockDisk(
        name="sdb",
        dev_path="/dev/sdb",
        sysfs_path="/sys/devices/x/block/sdb",
        size_bytes=size_bytes,
        queue={"logical_block_size": block_size},
        sg_path="/dev/sg1",
    )


def probes_by_name(results):
    return {result.name: result for result in results}


def test_a_capacity_of_one_block_on_a_64_mib_disk_sends_no_write_probe():
    """Issue 10 finding 1: kernel 64 MiB, READ CAPACITY(16) "last LBA 0" -> never WRITE SAME."""
    fake = FakeDisk(readcap16(0))
    results = probes_by_name(probe_disk(disk(), ProbeOptions(engine="cli"), fake))
    assert fake.write_same_lbas() == []
    for name in WS_NAMES:
        assert results[name].outcome == "skipped"
        assert results[name].skip_code == "capacity_mismatch"
        reason = results[name].skip_reason
        assert "512 bytes" in reason and str(64 * MIB) in reason


def test_a_disk_that_grows_between_the_capacity_reads_gets_no_write_probe():
    fake = FakeDisk(readcap16(64 * MIB // 512 - 1), readcap16(128 * MIB // 512 - 1))
    results = probes_by_name(probe_disk(disk(), ProbeOptions(engine="cli"), fake))
    assert [call[0] for call in fake.calls].count("sg_readcap") == 2
    assert fake.write_same_lbas() == []
    assert {results[name].skip_code for name in WS_NAMES} == {"capacity_changed"}
    assert results["readcap16_recheck"].outcome == "ok"


def test_a_kernel_size_that_changes_before_the_write_probes_stops_them():
    fake = FakeDisk(readcap16(64 * MIB // 512 - 1))
    kernel_now = lambda: (128 * MIB, 512)  # noqa: E731
    results = probes_by_name(probe_disk(disk(), ProbeOptions(engine="cli"), fake, kernel_now))
    assert fake.write_same_lbas() == []
    assert {results[name].skip_code for name in WS_NAMES} == {"capacity_changed"}


@pytest.mark.parametrize(
    ("kernel", "code"),
    [((None, 512), "kernel_size_unknown"), ((64 * MIB, 4096), "capacity_mismatch")],
)
def test_no_kernel_size_or_another_block_size_sends_no_write_probe(kernel, code):
    fake = FakeDisk(readcap16(64 * MIB // 512 - 1))
    results = probes_by_name(probe_disk(disk(*kernel), ProbeOptions(engine="cli"), fake))
    assert fake.write_same_lbas() == []
    assert {results[name].skip_code for name in WS_NAMES} == {code}


def test_an_agreeing_disk_gets_the_far_lba_probes_right_after_a_fresh_capacity_read():
    fake = FakeDisk(readcap16(64 * MIB // 512 - 1))
    results = probe_disk(disk(), ProbeOptions(engine="cli"), fake)
    tools = [call[0] for call in fake.calls]
    first_ws = tools.index("sg_write_same")
    assert tools[first_ws - 1] == "sg_readcap"  # the fresh read, immediately before
    assert fake.calls[first_ws - 1][-1] == "/dev/sg1"
    assert fake.write_same_lbas() == [2**46 - 16, 2**32 - 16, 2**46 - 16]
    for call in fake.calls:
        if call[0] == "sg_write_same":
            assert "--num=1" in call
    names = [r.name for r in results]
    assert names[names.index("readcap16_recheck") + 1 :] == list(WS_NAMES)
    assert all(r.outcome == "lba_out_of_range" for r in results if r.name in WS_NAMES)


SIZES_IN_BLOCKS = (1, 2, 64 * MIB // 512, 2**31 - 8, 2**31, 2**32 - 16, 2**45, 2**46, 2**64 - 1)


@pytest.mark.parametrize(
    ("first", "second", "kernel_blocks"),
    list(itertools.product(SIZES_IN_BLOCKS, SIZES_IN_BLOCKS, SIZES_IN_BLOCKS[:6])),
)
def test_no_write_probe_ever_lands_within_twice_any_capacity_seen(first, second, kernel_blocks):
    """Whatever READ CAPACITY(16) says, twice, and the kernel: every WRITE SAME sent addresses an
    LBA at least twice the largest capacity anyone reported."""
    fake = FakeDisk(readcap16(first - 1), readcap16(second - 1))
    probe_disk(disk(kernel_blocks * 512), ProbeOptions(engine="cli"), fake)
    largest = max(first, second, kernel_blocks)
    for lba in fake.write_same_lbas():
        assert lba >= 2 * largest
