"""Worker processes per disk (collect/workers.py): forked, abandoned past the timeout.

The runner is a fake that plays each disk by name; it runs in the forked worker. The records a
worker's disk gets must equal, field by field (durations aside), those of the same plan run in
this process; a worker that hangs is killed after the probe timeout and its disk reads as one
command timed out, the rest skipped, as a hung command does today.
"""


import os
import struct
import time

from guestprobe.collect import process
from guestprobe.collect.discover import BlockDisk
from guestprobe.collect.lib_engine import EngineChoice, choose_engine
from guestprobe.collect.probe import ProbeOptions, probe_disk
from guestprobe.collect.process import CommandResult
from guestprobe.collect.sgpt import LibraryUnusable
from guestprobe.collect.workers import probe_in_workers

MIB = 1024 * 1024


def disk(name: str) -> "BlockDisk":
    return BlockDisk(
        name=name,
        dev_path=f"/dev/{name}",
        sysfs_path=f"/sys/devices/x/block/{name}",
        size_bytes=64 * MIB,
        queue={"logical_block_size": 512},
        sg_path=f"/dev/sg-{name}",  # the probes go to the sg node
    )


def fake_run(argv, timeout_s):
    tool, device = argv[0], argv[-1]
    if device == "/dev/sg-sdh":  # hung: never answers
        time.sleep(600)
    if tool == "sg_readcap":
        answer = struct.pack(">QI", 64 * MIB // 512 - 1, 512) + bytes(20)
        return CommandResult(tuple(argv), 0, stdout=answer)
    if tool == "sg_write_same":
        return CommandResult(tuple(argv), 22, stderr=b"LBA out of range\n", duration_s=0.01)
    if tool == "sg_persist":
        return CommandResult(tuple(argv), 9)
    return CommandResult(tuple(argv), 0, stdout=b"\x00" * 36 + device.encode())


def comparable(results):
    return [{k: v for k, v in r.to_dict().items() if k != "duration_s"} for r in results]


def capacity(d):
    return lambda: (d.size_bytes, 512)


def test_each_disk_in_its_own_worker_gives_the_in_process_records():
    disks = [disk("sdb"), disk("sdc"), disk("sdd")]
    options = ProbeOptions(timeout_s=5)
    before = process.processes_started()
    seen = []
    got = probe_in_workers(disks, options, fake_run, capacity, 2, lambda d, t: seen.append(d))
    # two workers (groups of two disks, then one), no other process
    assert process.processes_started() - before == 2
    assert seen == [1, 2, 3]
    for d, (probes, _, delegated, abandoned) in zip(disks, got):
        assert comparable(probes) == comparable(probe_disk(d, options, fake_run, capacity(d)))
        assert (delegated, abandoned) == (0, 0)
    assert [g[1] for g in got] == [1, 0, 1]  # a worker is counted for the first of its group
    assert got[1][0][0].stdout_hex.endswith(b"/dev/sg-sdc".hex())


def test_a_hung_disk_costs_one_timeout_and_its_worker_is_killed():
    disks = [disk("sdh"), disk("sdb"), disk("sdc")]
    options = ProbeOptions(timeout_s=1)
    start = time.monotonic()
    before = process.processes_started()
    got = probe_in_workers(disks, options, fake_run, capacity, 1)  # one worker: all three disks
    elapsed = time.monotonic() - start
    assert elapsed < options.timeout_s + 2 + 2  # timeout + grace + slack, not a sleep of 600 s
    hung = {p.name: p for p in got[0][0]}
    assert hung["inquiry"].outcome == "timed_out"
    assert "worker process was killed" in hung["inquiry"].exit_meaning
    assert hung["readcap16"].skip_code == "disk_unreachable"
    # the disks after the hung one in its worker's group went to a new worker
    assert [g[0][0].outcome for g in got[1:]] == ["ok", "ok"]
    assert process.processes_started() - before == 2
    # the killed worker was reaped (it slept, it was not in uninterruptible sleep)
    assert process.abandoned_processes() == 0


def test_a_worker_that_dies_loses_only_the_probe_it_was_sending():
    """A worker that dies (a bug, a signal) sending REPORT SUPPORTED OPERATION CODES: that probe
    says so, and the disk's other probes are sent by a new worker, those before it not again."""

    def dying_on_opcodes(argv, timeout_s):
        if argv[0] == "sg_opcodes":
            os._exit(3)
        return fake_run(argv, timeout_s)

    options = ProbeOptions(timeout_s=5)
    before = process.processes_started()
    got = probe_in_workers([disk("sdb")], options, dying_on_opcodes, capacity, 1)
    probes = {p.name: p for p in got[0][0]}
    lost = probes["opcodes"]
    assert lost.outcome == "other_error" and "worker process died" in lost.exit_meaning
    assert lost.argv[-1] == "/dev/sg-sdb"
    assert probes["readcap16"].outcome == "ok"
    assert probes["readcap16_recheck"].outcome == "ok"  # sent by the new worker
    assert probes["write_same16_oor"].outcome == "lba_out_of_range"
    assert not [p for p in probes.values() if p.skip_code == "disk_unreachable"]
    assert process.processes_started() - before == 2  # the first worker, and one to go on
    # the records are those of the same plan with that one command lost
    expected = probe_disk(
        disk("sdb"),
        options,
        lambda argv, t: (
            CommandResult(tuple(argv), None, no_answer=lost.exit_meaning)
            if argv[0] == "sg_opcodes"
            else fake_run(argv, t)
        ),
        capacity(disk("sdb")),
    )
    assert comparable(got[0][0]) == comparable(expected)


def test_a_worker_that_dies_of_an_exception_says_which():
    def raising(argv, timeout_s):
        if argv[0] == "sg_readcap":
            raise IndexError("index out of range")
        return fake_run(argv, timeout_s)

    got = probe_in_workers([disk("sdb")], ProbeOptions(timeout_s=5), raising, capacity, 1)
    probes = {p.name: p for p in got[0][0]}
    assert "IndexError: index out of range" in probes["readcap16"].exit_meaning
    assert probes["pr_read_keys"].outcome == "not_supported"  # sent after it (exit 9)


def test_a_worker_that_dies_on_every_command_is_reported_not_taken_for_a_timeout():
    def dying(argv, timeout_s):
        os._exit(3)

    got = probe_in_workers([disk("sdb")], ProbeOptions(timeout_s=5), dying, capacity, 1)
    sent = [p for p in got[0][0] if p.source == "sg3_utils"]
    assert len(sent) > 5
    assert all(p.outcome == "other_error" and "worker process died" in p.exit_meaning for p in sent)


def test_the_engine_choice_says_why_not_lib():
    def unusable():
        raise LibraryUnusable("libsgutils2 not found")

    assert choose_engine("lib", (1, 46), unusable).to_dict() == {
        "name": "cli",
        "reason": "libsgutils2 not found",
    }
    assert choose_engine("cli", (1, 46)).name == "cli"

    class Unread:  # a release whose tools' sources the engine was not read from
        path, version, release = "libsgutils2.so.2", "2.64 20190113", (1, 45)

    assert "1.37, 1.44, 1.46, 1.47, 1.48 tools only" in choose_engine("lib", (1, 45), Unread).reason

    class Old(Unread):
        version, release = "1.88 20130815", (1, 37)

    assert choose_engine("lib", (1, 37), Old).name == "lib"

    class Rhel8(Unread):  # sg_inq 1.98 is 1.43 or 1.44: the same tools
        version, release = "2.58 20180912", (1, 44)

    assert choose_engine("lib", (1, 43), Rhel8).name == "lib"
    assert choose_engine("lib", (1, 37), Rhel8).name == "cli"

    class Current(Old):
        version, release = "2.79 20210304", (1, 46)

    mismatch = choose_engine("lib", (1, 37), Current)
    assert mismatch.name == "cli" and "tools on PATH are 1.37" in mismatch.reason
    chosen = choose_engine("lib", (1, 46), Current)
    assert isinstance(chosen, EngineChoice) and chosen.name == "lib"
    assert chosen.to_dict()["library_version"] == "2.79 20210304"


def test_a_worker_that_dies_between_commands_is_taken_up_again_once(tmp_path):
    """Dead while reading the kernel's size (no command in flight): a new worker goes on with
    the disk; dead there again, knowing no more, the record says the worker died."""
    once = tmp_path / "died-once"

    def dying_once(d):
        def read():
            if not once.exists():
                once.write_text("")
                os._exit(3)
            return (d.size_bytes, 512)

        return read

    got = probe_in_workers([disk("sdb")], ProbeOptions(timeout_s=5), fake_run, dying_once, 1)
    probes = {p.name: p for p in got[0][0]}
    assert probes["write_same16_oor"].outcome == "lba_out_of_range"  # sent by the new worker

    def dying(d):
        return lambda: os._exit(3)

    got = probe_in_workers([disk("sdb")], ProbeOptions(timeout_s=5), fake_run, dying, 1)
    probes = {p.name: p for p in got[0][0]}
    assert probes["readcap16_recheck"].outcome == "ok"  # sent before it died
    skipped = probes["write_same16_oor"]
    assert skipped.skip_code == "kernel_size_unknown"
    assert "worker process died" in skipped.skip_reason
