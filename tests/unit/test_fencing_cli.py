"""``guestprobe fencing-test`` end to end on a fake guest: plan, confirmation, refusal, report."""


import json
import os
import shutil

import pytest
from test_fencing_fakes import (
    KEYS,
    RIG_FOREIGN,
    Script,
    machine,
    peer_cleanup,
    peer_part,
    single_path_pass,
    two_path_guest,
)

from guestprobe import cli
from guestprobe.cli import common
from guestprobe.cli.fencing import CONFIRM_FLAG
from guestprobe.compat import shell_join
from guestprobe.document.build import SCHEMA_VERSION
from guestprobe.fencing import keys
from guestprobe.fencing import run as run_module
from guestprobe.fencing.sequence import PrPath, planned_steps


@pytest.fixture
def guest(monkeypatch, tmp_path, fp):
    """Root, sg3_utils, the fake two-path guest and this run's keys fixed; returns a setup."""
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(
        common, "resolve_targets", lambda paths: [p.rsplit("/", 1)[1] for p in paths]
    )
    monkeypatch.setattr(keys, "new_run_keys", lambda: KEYS)

    def setup(**options):
        fake = two_path_guest(tmp_path, fp, **options)
        monkeypatch.setattr(run_module.Machine, "here", classmethod(
            lambda cls: run_module.Machine(*machine(fake))))
        return fake

    return setup


def _main(capsys, *args):
    with pytest.raises(SystemExit) as exited:
        cli.main(["fencing-test", *args])
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def test_without_confirmation_the_plan_is_printed_and_nothing_sent(guest, fp, capsys):
    guest()
    status, out, err = _main(capsys, "/dev/sda", "--peer", "/dev/sdc")
    assert status == 10
    plan = planned_steps(
        PrPath("target", "/dev/sg1", "/dev/sda", KEYS.target),
        PrPath("peer", "/dev/sg2", "/dev/sdc", KEYS.peer),
    )
    for step in plan:
        assert f"   {shell_join(step.argv)}\n" in out
    assert (
        "sg_persist --out --no-inquiry --register --param-rk=0x6770a1b2c3d4e502 --param-sark=0 "
        "/dev/sg2" in out
    )  # a cleanup command
    assert "nothing was sent" in err and CONFIRM_FLAG in err
    # the dry run runs the read-only preflight and says what it found, never a PR OUT
    assert "the read-only preflight" in err
    assert not [call for call in fp.calls if "--out" in call]


def test_two_paths_full_pass_report(guest, fp, capsys, tmp_path):
    guest()
    script = Script(fp)
    single_path_pass(script)
    peer_part(script)
    peer_cleanup(script)
    report = tmp_path / "fencing.json"
    status, out, err = _main(
        capsys, "/dev/sda", "--peer", "/dev/sdc", CONFIRM_FLAG, "--json", "-o", str(report)
    )
    assert status == 0, err
    assert out == ""  # with -o, --json writes the file only; the plan went to stderr
    assert "sg_persist --out --no-inquiry --register" in err
    assert "[ 1] register" in err  # progress, step by step
    document = json.loads(report.read_text())
    assert (document["kind"], document["schema_version"]) == ("fencing-test", SCHEMA_VERSION)
    assert document["verdict"]["code"] == "fencing_proven"
    assert document["keys"]["target"] == "6770a1b2c3d4e501"
    assert document["keys_before"] == document["keys_after"] == []
    assert document["cleanup"]["verified"] is True
    assert document["target"]["lu_designator"] == document["peer"]["lu_designator"]
    steps = document["steps"]
    # 13 test steps, 8 of the fence proof, 4 of cleanup, 4 of verification (both paths)
    assert document["fence_proof"]["result"] == "proven"
    assert len(steps) == 13 + 8 + 8 and all(s["status"] == "pass" for s in steps)
    assert [s["path"] for s in steps[-4:]] == ["target", "target", "peer", "peer"]
    assert steps[0]["command"] == (
        "sg_persist --out --no-inquiry --register --param-sark=0x6770a1b2c3d4e501 /dev/sg1"
    )
    assert {"argv", "exit_status", "exit_meaning", "status", "duration_s"} <= set(steps[0])
    planned = [p["argv"] for p in document["plan"]["test"] if not p["only_if_refused"]]
    assert planned == [s["argv"] for s in steps[:21]]  # sent exactly as planned and printed
    assert not any(call[0] == "sg_write_same" for call in fp.calls)


def test_table_and_exit_9_when_preempt_and_abort_is_unsupported(guest, fp, capsys):
    guest()
    script = Script(fp)
    single_path_pass(script)
    peer_part(script, preempt_abort_rc=5)
    peer_cleanup(script)
    status, out, err = _main(capsys, "/dev/sda", "--peer", "/dev/sdc", CONFIRM_FLAG)
    assert status == 9
    assert "preempt_abort" in out and "UNSUPPORTED" in out
    assert "verdict: preempt_abort_unsupported - PR basics proven, preempt-and-abort" in out
    assert "preempt_abort_unsupported" in err


def test_a_foreign_key_is_refused_before_any_pr_out(guest, fp, capsys):
    guest(keys=[RIG_FOREIGN])  # another node's VxFEN key: never taken for one of ours
    status, out, err = _main(capsys, "/dev/sda", CONFIRM_FLAG, "--json")
    assert status == 10
    document = json.loads(out)
    assert document["verdict"]["code"] == "refused"
    assert [r["code"] for r in document["refusals"]] == ["foreign_registrations"]
    assert document["keys_before"] == ["5646314132423033"] and document["steps"] == []
    assert "[foreign_registrations]" in err
    assert "Veritas coordinator key: cluster 6699, node 3" in document["refusals"][0]["text"]
    assert not any("--out" in call for call in fp.calls)


SWAPS = "Filename\tType\tSize\tUsed\tPriority\n"


def _busy(fake, how: str) -> None:
    """Make sdc -- the other path to sda's LU, not on the command line -- busy ``how``."""
    sdc = fake.p("/sys/block/sdc").resolve()
    if how == "swap":
        fake.write("/proc/swaps", SWAPS + "/dev/sdc  partition  65532  0  -2\n")
    elif how == "mounted":
        fake.write("/proc/self/mountinfo", "29 1 8:32 / /data rw - xfs /dev/sdc rw\n")
    elif how == "held":
        (sdc / "holders" / "dm-3").mkdir(parents=True)
    elif how == "partition_swap":
        partition = "/" + str(sdc.relative_to(fake.root) / "sdc1")
        fake.write(f"{partition}/partition", "1\n")
        fake.write(f"{partition}/dev", "8:33\n")
        fake.write("/proc/swaps", SWAPS + "/dev/sdc1 partition 1024 0 -2\n")


@pytest.mark.parametrize(
    ("how", "code", "words"),
    [
        ("swap", "in_use_swap", "in use as swap: /dev/sdc"),
        ("mounted", "in_use_mounted", "is mounted: /data (xfs)"),
        ("held", "in_use_holders", "is held by dm-3"),
        ("partition_swap", "in_use_swap", "in use as swap: /dev/sdc1"),
    ],
)
def test_another_path_of_the_lu_in_use_refuses_the_test(guest, fp, capsys, how, code, words):
    """Issue 10 finding 2: sdc, another path to sda's LU, is busy; fencing-test on sda alone
    (no --peer) refuses with exit 10 and sends not one PERSISTENT RESERVE OUT."""
    fake = guest()
    _busy(fake, how)
    status, out, err = _main(capsys, "/dev/sda", CONFIRM_FLAG, "--json")
    assert status == 10, err
    document = json.loads(out)
    assert [(r["code"], r["role"]) for r in document["refusals"]] == [(code, "other_path")]
    text = document["refusals"][0]["text"]
    assert "/dev/sdc, another path to the same LU (naa.60000000000000000e00000000010001)" in text
    assert words in text
    assert [p["name"] for p in document["other_paths"]] == ["sdc"]
    assert not any("--out" in call for call in fp.calls)
    assert document["steps"] == []


def test_the_tested_path_as_swap_is_refused(guest, fp, capsys):
    fake = guest()
    fake.write("/proc/swaps", SWAPS + "/dev/sda  partition  65532  0  -2\n")
    status, out, _ = _main(capsys, "/dev/sda", CONFIRM_FLAG, "--json")
    assert status == 10
    refusals = json.loads(out)["refusals"]
    assert [(r["code"], r["role"]) for r in refusals] == [("in_use_swap", "target")]
    assert not any("--out" in call for call in fp.calls)


def test_the_dry_run_says_the_preflight_would_refuse(guest, fp, capsys):
    """Without the confirmation, the read-only preflight runs and its refusal is said at once
    (before, the dry run printed the plan and refused only after the confirmation)."""
    fake = guest()
    fake.write("/proc/self/mountinfo", "29 1 8:0 / / rw - ext4 /dev/sda rw\n")
    status, _, err = _main(capsys, "/dev/sda")
    assert status == 10
    assert "nothing was sent" in err and "the read-only preflight would refuse it" in err
    assert "[in_use_mounted]" in err and "is mounted: / (ext4)" in err
    assert not any("--out" in call for call in fp.calls)


def _designator(fake, name):
    from guestprobe.collect.discover import Discoverer
    from guestprobe.fencing.preflight import sysfs_lu_designator

    return sysfs_lu_designator(Discoverer(*machine(fake)).describe(name))


def test_fencing_node_preflight_finds_the_path_by_designator_and_records_it(guest, fp, capsys,
                                                                            tmp_path):
    fake = guest()
    lu = _designator(fake, "sda")
    record_file = tmp_path / "node.jsonl"
    node = ["fencing-node", "--lu", lu, "--run-id", "a1b2c3d4e5", "--node", "2", "--nodes", "3",
            "--record", str(record_file)]  # fmt: skip
    with pytest.raises(SystemExit) as exited:
        cli.main([*node[:1], "preflight", *node[1:], "--json"])
    out, err = capsys.readouterr()
    assert exited.value.code in (0, None), err
    record = json.loads(record_file.read_text().splitlines()[-1])
    assert json.loads(out) == record
    assert (record["status"], record["device"], record["other_paths"]) == (
        "pass", "/dev/sg1", ["/dev/sdc"]
    )  # sda is chosen (first by name); sdc, the other path, is judged too
    assert record["key"] == "6770a1b2c3d4e512" and record["role"] == "preempted"
    assert not any(call[0] == "sg_raw" or "--out" in call for call in fp.calls)
    with pytest.raises(SystemExit) as exited:  # a PR OUT step needs the confirmation flag
        cli.main([*node[:1], "register", *node[1:]])
    assert exited.value.code == 10
    assert "nothing was sent" in capsys.readouterr().err
