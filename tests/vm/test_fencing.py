"""``guestprobe fencing-test`` in real QEMU guests (the rig of :mod:`tests.vm.rig`).

Each test boots one scenario and runs fencing-test in it as root, with the real sg3_utils, against
QEMU scsi-hd, virtio-blk and LUNs of the rig's tgt target (1.0.85 on Debian 12) reached through
one or two iSCSI initiator names. Every run is checked for what matters most: the backing images
are unchanged and the LU's registrations afterwards equal those before (the guest agent reads
them before and after the command, independently of guestprobe).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from guestprobe.decode.persist import (
    decode_read_keys,
    decode_read_reservation,
    pr_in_data_from_hexdump,
)

from .rig import RunResult, run_scenario

pytestmark = pytest.mark.vm  # conftest: skipped where QEMU is missing, failed in CI

CONFIRM = "--yes-i-understand-this-sends-pr-out"

# Shell functions for the guest. ``dev LABEL``: the disk's /dev node (kernel names change between
# boots, labels do not). ``ft NAME ARGS``: fencing-test ARGS, its JSON report, stdout, stderr and
# exit status in {results}/ft-NAME.*. The rig replaces {python} and {results}, nothing else.
PRELUDE = """
dev() { {python} -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["dev"])' \
{results}/disks.json "$1"; }
ft() { name=$1; shift; {python} -m guestprobe fencing-test "$@" -o {results}/ft-$name.json \
>{results}/ft-$name.out 2>{results}/ft-$name.err; echo $? >{results}/ft-$name.rc; }
"""

# A stand-in for sg_persist that holds RESERVE for 3 s, so that SIGINT lands between REGISTER and
# RELEASE every time; everything else goes straight to the real tool.
SLOW_RESERVE = """
real=$(command -v sg_persist); mkdir -p {results}/shim
printf '#!/bin/sh\\ncase " $* " in *" --reserve "*) sleep 3;; esac\\nexec %s "$@"\\n' "$real" \
>{results}/shim/sg_persist; chmod +x {results}/shim/sg_persist
"""


def boot_with(scenario: str, script: str) -> tuple[RunResult, dict[str, dict[str, Any]]]:
    """Boot ``scenario``, run ``script`` (after :data:`PRELUDE`); the result and every ft run
    (and, under ``"files"``, the text of the script's other ``{results}/*.rc|*.out|*.txt``)."""
    result = run_scenario(scenario, command=PRELUDE + script, capture=False, keep=True)
    try:
        results = Path(result.run_dir) / "results"
        runs = {}
        for rc_file in sorted(results.glob("ft-*.rc")):
            name = rc_file.stem[len("ft-") :]
            report = results / f"ft-{name}.json"
            runs[name] = {
                "rc": int(rc_file.read_text().strip()),
                "document": json.loads(report.read_text()) if report.exists() else None,
                "stdout": (results / f"ft-{name}.out").read_text(errors="replace"),
                "stderr": (results / f"ft-{name}.err").read_text(errors="replace"),
            }
        runs["files"] = {
            path.name: path.read_text(errors="replace")
            for pattern in ("*.rc", "*.out", "*.txt")
            for path in results.glob(pattern)
            if not path.name.startswith(("ft-", "command."))
        }
        return result, runs
    finally:
        if os.environ.get("RIG_KEEP") != "1":
            shutil.rmtree(result.run_dir, ignore_errors=True)


def assert_untouched(result: RunResult) -> None:
    assert not result.qemu_timed_out, result.console[-3000:]
    assert not result.guest.get("errors"), result.guest.get("errors")
    assert result.checksums_before, "no backing image was checksummed"
    assert result.checksums_after == result.checksums_before  # not one block written
    assert result.pr_before, "the guest agent read no PR state"
    # registrations and reservation as before (the PR generation counts every change: not it)
    assert pr_state(result.pr_after) == pr_state(result.pr_before)


def pr_state(readings: dict[str, Any]) -> dict[str, Any]:
    """{disk label: (registered keys, reservation)} from the guest agent's PR IN readings."""
    state = {}
    for label, probes in readings.items():
        keys = probes["pr_read_keys"]
        reservation = probes["pr_read_reservation"]
        state[label] = (
            keys["rc"],
            decode_read_keys(pr_in_data_from_hexdump(keys["stdout"])).keys
            if keys["rc"] == 0
            else None,
            reservation["rc"],
            decode_read_reservation(pr_in_data_from_hexdump(reservation["stdout"])).reservation
            if reservation["rc"] == 0
            else None,
        )
    return state


def steps_of(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in run["document"]["steps"]}


# Path 2 held by a device-mapper linear target (it writes nothing to the LU), fencing-test on
# path 1 alone, then the holder removed again. dmsetup without udev: no cookies, nodes by itself.
HOLD_PATH2 = """
two=$(dev tgt-lun1_path2)
DM_DISABLE_UDEV=1 dmsetup --noudevsync create gpbusy --table "0 8 linear $two 0" \
>{results}/dm.out 2>&1; echo $? >{results}/dm.rc
ls /sys/block/${two#/dev/}/holders >{results}/holders.txt 2>&1
ft busy "$(dev tgt-lun1_path1)" {CONFIRM}
DM_DISABLE_UDEV=1 dmsetup --noudevsync remove gpbusy >>{results}/dm.out 2>&1
""".replace("{CONFIRM}", CONFIRM)


def test_tgt_lun_through_two_initiators():
    result, runs = boot_with(
        "two-paths",
        f'ft two "$(dev tgt-lun1_path1)" --peer "$(dev tgt-lun1_path2)" {CONFIRM}\n' + HOLD_PATH2,
    )
    assert_untouched(result)
    # issue 10 finding 2: path 2, not on the command line, is held: path 1 is refused
    busy = runs["busy"]
    files = runs["files"]
    assert files["dm.rc"].strip() == "0", files.get("dm.out")
    assert files["holders.txt"].split() == ["dm-0"]
    assert busy["rc"] == 10, busy["stderr"]
    refusals = busy["document"]["refusals"]
    assert [(r["code"], r["role"]) for r in refusals] == [("in_use_holders", "other_path")]
    assert "another path to the same LU" in refusals[0]["text"] and "dm-0" in refusals[0]["text"]
    assert busy["document"]["steps"] == []  # not one PR OUT
    run = runs["two"]
    document = run["document"]
    assert run["rc"] == 9, run["stderr"]
    assert document["verdict"]["code"] == "preempt_abort_unsupported"
    assert document["verdict"]["text"].startswith("PR basics proven, preempt-and-abort unsupported")
    steps = steps_of(run)
    assert steps["preempt_abort"]["status"] == "unsupported"
    assert steps["preempt_abort"]["exit_status"] == 5  # ILLEGAL REQUEST from tgt 1.0.85
    others = [s for s in document["steps"] if s["id"] != "preempt_abort"]
    assert [s["id"] for s in others if s["status"] != "pass"] == []
    assert {"register", "reserve", "release", "preempt", "fenced_path_register"} <= set(steps)
    fenced = steps["fenced_path_register"]
    assert fenced["exit_status"] == 24  # reservation conflict, after "reservations preempted"
    # the fence proof (issue 20): READ(10) refused from the preempted path under Exclusive
    # Access - Registrants Only, GOOD from the holder; tgt refuses SYNCHRONIZE CACHE under WE
    assert document["fence_proof"]["result"] == "proven", document["fence_proof"]
    assert document["fence_proof"]["write_side"] == "proven"
    assert steps["proof_read_fenced"]["exit_status"] == 24
    assert steps["proof_read_holder"]["exit_status"] == 0
    assert document["keys_before"] == document["keys_after"] == []
    assert document["cleanup"]["verified"] is True
    assert document["target"]["lu_designator"] == document["peer"]["lu_designator"]


def test_fails_clearly_on_scsi_hd_and_virtio_blk_and_passes_the_basics_on_a_tgt_lun():
    result, runs = boot_with(
        "mixed",
        f'ft hd "$(dev scsi-hd_SHDSER01)" {CONFIRM}\n'
        f'ft vblk "$(dev virtio-blk_VBLKSER01)" {CONFIRM}\n'
        f'ft tgt "$(dev tgt-lun1_path1)" {CONFIRM}\n',
    )
    assert_untouched(result)
    for name, transport in (("hd", "virtio-scsi/emulated"), ("vblk", "virtio-blk")):
        run = runs[name]
        assert run["rc"] == 10, run["stderr"]
        refusals = run["document"]["refusals"]
        assert [r["code"] for r in refusals] == ["pr_in_not_working"]
        assert transport in refusals[0]["text"]
        assert "[pr_in_not_working]" in run["stderr"]
        assert run["document"]["steps"] == []  # not one PR OUT
    assert "exit 9: invalid operation code" in runs["hd"]["document"]["refusals"][0]["text"]
    tgt = runs["tgt"]
    assert tgt["rc"] == 0, tgt["stderr"]
    assert tgt["document"]["verdict"]["code"] == "pr_basics_proven"
    assert all(step["status"] == "pass" for step in tgt["document"]["steps"])


def test_sigint_between_register_and_release_leaves_no_key():
    script = SLOW_RESERVE + (
        "PATH={results}/shim:$PATH {python} -m guestprobe fencing-test "
        f'"$(dev tgt-lun1_path1)" {CONFIRM} -o {{results}}/ft-int.json '
        ">{results}/ft-int.out 2>{results}/ft-int.err &\n"
        "pid=$!; n=0\n"  # python itself: a simple command in the background
        "until grep -q '^\\[ 1\\] register .* pass$' {results}/ft-int.err 2>/dev/null; do\n"
        "  n=$((n+1)); [ $n -gt 600 ] && break; sleep 0.1; done\n"
        "sleep 0.5; kill -INT $pid; wait $pid; echo $? >{results}/ft-int.rc\n"
    )
    result, runs = boot_with("two-paths", script)
    assert_untouched(result)  # the agent's own READ KEYS afterwards: no key left
    run = runs["int"]
    document = run["document"]
    assert run["rc"] == 130, run["stderr"]
    assert document["verdict"]["code"] == "interrupted"
    assert document["cleanup"]["interrupted"] == "SIGINT"
    steps = steps_of(run)
    assert steps["register"]["status"] == "pass" and "release" not in steps
    sent = [s["id"] for s in document["steps"]]
    assert "cleanup_release" in sent and "cleanup_unregister_target" in sent
    assert document["keys_after"] == document["keys_before"] == []
    assert document["cleanup"]["verified"] is True


def test_a_disk_holding_a_foreign_key_is_refused_and_force_leaves_that_key_alone():
    result, runs = boot_with(
        "foreign-reservation",
        f'ft foreign "$(dev tgt-lun1_path1)" {CONFIRM}\n'
        f'ft forced "$(dev tgt-lun1_path1)" {CONFIRM} --force\n',
    )
    assert_untouched(result)  # the other initiator's key and reservation are still there
    run = runs["foreign"]
    assert run["rc"] == 10, run["stderr"]
    document = run["document"]
    assert [r["code"] for r in document["refusals"]] == ["foreign_registrations"]
    assert ("0x5646314132423033 (Veritas coordinator key: cluster 6699, node 3)"
            in document["refusals"][0]["text"])  # another node's VxFEN key, never taken for ours
    assert document["keys_before"] == ["5646314132423033"]
    assert document["steps"] == []
    # --force: the test runs, RESERVE meets the other initiator's reservation, only ours goes
    forced = runs["forced"]
    assert forced["rc"] == 9, forced["stderr"]
    document = forced["document"]
    steps = steps_of(forced)
    assert steps["register"]["status"] == "pass"
    assert (steps["reserve"]["status"], steps["reserve"]["exit_status"]) == ("fail", 24)
    assert document["verdict"]["code"] == "step_failed"
    assert document["keys_before"] == document["keys_after"] == ["5646314132423033"]
    assert document["reservation_after"] == document["reservation_before"]
    assert document["reservation_before"]["key_hex"] == "5646314132423033"
    assert document["cleanup"]["verified"] is True


def test_a_peer_that_is_another_lu_with_the_same_naa_is_found_out():
    """Issue 10 finding 3: LUN 1 of two tgtd instances with one target name carry the same NAA;
    fencing-test with one as --peer of the other: READ KEYS through the peer lacks the target's
    key, so the test stops, removes both keys (each through its own path) and says so."""
    result, runs = boot_with(
        "same-naa", f'ft naa "$(dev tgt-lun1_path1)" --peer "$(dev tgt2-lun1)" {CONFIRM}'
    )
    assert_untouched(result)  # both LUs: no key left (the agent reads each path)
    run = runs["naa"]
    document = run["document"]
    assert document["target"]["lu_designator"] == document["peer"]["lu_designator"]
    assert run["rc"] == 9, run["stderr"]
    assert document["verdict"]["code"] == "peer_is_another_lu"
    steps = steps_of(run)
    assert steps["peer_read_keys"]["status"] == "fail"
    assert "reaches another LU" in steps["peer_read_keys"]["detail"]
    assert steps["cleanup_unregister_target"]["status"] == "pass"
    assert steps["cleanup_unregister_peer"]["status"] == "pass"
    assert steps["verify_read_keys_peer"]["status"] == "pass"
    assert document["cleanup"]["verified"] is True and document["cleanup"]["leftovers"] == []
