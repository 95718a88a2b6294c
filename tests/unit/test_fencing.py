"""The fencing test's sequence, cleanup and verdict, with sg_persist faked byte for byte."""


import os
import signal

import pytest
from test_fencing_fakes import (
    FOREIGN,
    INVALID_OPCODE_STDERR,
    KA,
    KB,
    A,
    B,
    Script,
    peer_cleanup,
    peer_part,
    single_path_pass,
    through_reserve,
)

from guestprobe.collect import process
from guestprobe.compat import shell_join
from guestprobe.fencing import prout
from guestprobe.fencing.outcome import judge
from guestprobe.fencing.sequence import (
    CLEANUP,
    PASS,
    TEST,
    UNSUPPORTED,
    VERIFY,
    FencingTest,
    PrPath,
    planned_steps,
)
from guestprobe.fencing.signals import SignalGuard

TARGET = PrPath("target", A, "/dev/sda", KA)
PEER = PrPath("peer", B, "/dev/sdc", KB)


def _run(peer=None, keys_before=(), **kwargs):
    return FencingTest(TARGET, peer, list(keys_before), None, timeout_s=5, **kwargs).run()


def test_full_pass_on_a_two_path_lun(fp):
    script = Script(fp)
    single_path_pass(script)
    peer_part(script)
    peer_cleanup(script)
    seen = []
    result = _run(PEER, on_step=seen.append)
    assert script.sent() == script.expected
    assert [s.status for s in result.steps] == [PASS] * len(result.steps)
    fenced = next(s for s in result.steps if s.id == "fenced_path_register")
    assert (fenced.attempts, fenced.exit_statuses, fenced.exit_status) == (2, [6, 24], 24)
    assert "UNIT ATTENTION" in fenced.exit_meaning
    assert result.cleanup_verified and result.keys_after == [] and not result.leftovers
    verdict = judge(result, with_peer=True)
    assert (verdict.code, verdict.exit_status) == ("fencing_proven", 0)
    assert [s.id for s in seen] == [s.id for s in result.steps]  # progress, step by step
    assert {s.phase for s in result.steps} == {TEST, CLEANUP, VERIFY}


def test_single_path_proves_the_basics_only(fp):
    script = Script(fp)
    single_path_pass(script)
    script.keys(A, [KA])
    script.reservation(A, None)
    script.add(prout.unregister(A, KA))
    script.keys(A, [])
    script.reservation(A, None)
    result = _run()
    assert script.sent() == script.expected
    verdict = judge(result, with_peer=False)
    assert (verdict.code, verdict.exit_status) == ("pr_basics_proven", 0)
    assert "--peer" in verdict.text


def test_preempt_and_abort_refused_falls_back_to_preempt_and_is_not_a_pass(fp):
    script = Script(fp)
    single_path_pass(script)
    peer_part(script, preempt_abort_rc=5)
    peer_cleanup(script)
    result = _run(PEER)
    assert script.sent() == script.expected
    steps = {s.id: s for s in result.steps}
    assert steps["preempt_abort"].status == UNSUPPORTED
    assert steps["preempt_abort"].exit_status == 5
    assert "illegal request" in steps["preempt_abort"].exit_meaning
    assert steps["preempt"].status == PASS
    assert steps["fenced_path_register"].status == PASS
    verdict = judge(result, with_peer=True)
    assert verdict.code == "preempt_abort_unsupported" and verdict.exit_status == 9
    assert verdict.text.startswith("PR basics proven, preempt-and-abort unsupported")
    assert "fence proof: proven" in verdict.text  # PREEMPT fenced it off: the proof still ran


def test_pr_out_rejected_by_scsi_hd_is_a_clear_failure(fp):
    script = Script(fp)
    script.add(prout.register(A, KA), 9, stderr=INVALID_OPCODE_STDERR)
    script.keys(A, [])  # cleanup: the key never took, nothing to remove
    script.reservation(A, None)
    script.keys(A, [])  # verify
    script.reservation(A, None)
    result = _run(PEER)
    assert script.sent() == script.expected
    register = result.steps[0]
    assert register.status == "fail" and register.exit_status == 9
    assert "invalid operation code" in register.detail and "does not implement" in register.detail
    verdict = judge(result, with_peer=True)
    assert (verdict.code, verdict.exit_status) == ("step_failed", 9)
    assert verdict.text.startswith("register (REGISTER the test key) failed: exit 9")


@pytest.mark.parametrize(("signum", "exit_status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_between_register_and_release_cleans_up(fp, signum, exit_status):
    """A real signal while RESERVE runs: held until it returns, then cleanup."""
    script = Script(fp)
    through_reserve(script, reserve_callback=lambda proc: os.kill(os.getpid(), signum))
    script.keys(A, [KA])
    script.reservation(A, KA)
    script.add(prout.release(A, KA))
    script.add(prout.unregister(A, KA))
    script.keys(A, [])
    script.reservation(A, None)
    old = signal.getsignal(signum)
    with SignalGuard() as guard:
        result = _run(PEER, guard=guard)
    assert signal.getsignal(signum) is old  # handlers restored
    assert script.sent() == script.expected  # no READ RESERVATION of the test: cleanup at once
    assert result.interrupted == signal.Signals(signum).name
    assert result.cleanup_verified
    verdict = judge(result, with_peer=True)
    assert (verdict.code, verdict.exit_status) == ("interrupted", exit_status)


def test_keyboard_interrupt_from_the_runner_still_cleans_up(fp):
    script = Script(fp)
    through_reserve(script)
    script.reservation(A, KA)
    script.keys(A, [KA, FOREIGN])  # cleanup; a foreign key appeared meanwhile (--force run)
    script.reservation(A, KA)
    script.add(prout.release(A, KA))
    script.add(prout.unregister(A, KA))
    script.keys(A, [FOREIGN])
    script.reservation(A, None)

    interrupts = []

    def run(argv, timeout_s):  # Ctrl-C just before the test's RELEASE goes out
        if argv == prout.release(A, KA) and not interrupts:
            interrupts.append(argv)
            raise KeyboardInterrupt
        return process.run(argv, timeout_s)

    result = FencingTest(TARGET, None, [FOREIGN], None, run=run, timeout_s=5).run()
    assert script.sent() == script.expected
    assert result.interrupted == "SIGINT"
    release = next(s for s in result.steps if s.id == "release")
    assert release.status == "fail" and "interrupted" in release.detail
    assert result.cleanup_verified and result.keys_after == [FOREIGN]


def test_cleanup_failure_names_what_is_left_and_the_commands(fp):
    script = Script(fp)
    through_reserve(script)
    script.reservation(A, KA, prtype=1)  # the target reports another type: the test fails
    script.keys(A, [KA])
    script.reservation(A, KA, prtype=1)
    script.add(prout.release(A, KA, 1), 24)
    script.add(prout.unregister(A, KA), 99, stderr=b"sg_persist failed: Other error\n")
    script.keys(A, [KA])  # CLEAR is tried: every registration left is ours
    script.reservation(A, KA, prtype=1)
    script.add(prout.clear(A, KA), 99)
    script.keys(A, [KA])  # verify
    script.reservation(A, KA, prtype=1)
    result = _run()
    assert script.sent() == script.expected
    assert not result.cleanup_verified
    verdict = judge(result, with_peer=False)
    assert (verdict.code, verdict.exit_status) == ("cleanup_incomplete", 9)
    unregister = shell_join(prout.unregister(A, KA))
    release = shell_join(prout.release(A, KA, 1))
    assert unregister == (
        "sg_persist --out --no-inquiry --register --param-rk=0x6770a1b2c3d4e501 --param-sark=0 "
        "/dev/sg1"
    )
    assert unregister in verdict.text and release in verdict.text
    assert [left.commands for left in result.leftovers] == [[release], [unregister]]


def test_no_clear_when_a_foreign_key_is_registered(fp):
    script = Script(fp)
    script.add(prout.register(A, KA))
    script.keys(A, [FOREIGN])  # the key is not listed: the test fails
    script.keys(A, [FOREIGN, KA])
    script.reservation(A, None)
    script.add(prout.unregister(A, KA), 99)
    script.keys(A, [FOREIGN, KA])
    script.reservation(A, None)  # no CLEAR: it would remove the foreign registration
    script.keys(A, [FOREIGN, KA])
    script.reservation(A, None)
    result = FencingTest(TARGET, None, [FOREIGN], None, timeout_s=5).run()
    assert script.sent() == script.expected
    assert not any("--clear" in call for call in script.sent())
    assert judge(result, with_peer=False).code == "cleanup_incomplete"


def test_the_plan_sends_only_pr_commands_with_the_documented_options():
    plan = planned_steps(TARGET, PEER)
    assert [p.id for p in plan] == [
        "register", "read_keys", "reserve", "read_reservation", "release",
        "read_reservation_released", "peer_register", "peer_read_keys", "reserve_again",
        "preempt_abort", "preempt", "peer_read_keys_preempted", "peer_read_reservation",
        "fenced_path_register", "proof_sync_cache_fenced", "proof_sync_cache_holder",
        "proof_read_fenced_we", "proof_release", "proof_reserve_ea", "proof_read_reservation_ea",
        "proof_read_fenced", "proof_read_holder",
    ]  # fmt: skip
    for step in plan:
        if step.argv[0] == "sg_raw":  # the fence proof: READ(10) to /dev/null, SYNC CACHE(10)
            cdb = step.argv[-10:]
            assert cdb[0] in ("28", "35") and step.argv[-11] in (A, B)
            assert cdb[0] == "35" or list(step.argv[1:5]) == ["-r", "512", "-o", "/dev/null"]
            continue
        assert step.argv[0] == "sg_persist" and "--no-inquiry" in step.argv
        assert ("--out" in step.argv) != ("--in" in step.argv)
        if "--in" in step.argv:
            assert {"--readonly", "--hex"} <= set(step.argv)
    assert list(plan[9].argv) == [
        "sg_persist", "--out", "--no-inquiry", "--preempt-abort",
        "--param-rk=0x6770a1b2c3d4e502", "--param-sark=0x6770a1b2c3d4e501", "--prout-type=5",
        "/dev/sg2",
    ]  # fmt: skip


def test_a_timed_out_command_fails_the_step_and_cleanup_still_runs(fp):
    script = Script(fp)
    script.add(prout.register(A, KA))
    script.keys(A, [KA])
    script.keys(A, [KA])  # cleanup
    script.reservation(A, None)
    script.add(prout.unregister(A, KA))
    script.keys(A, [])
    script.reservation(A, None)

    def run(argv, timeout_s):  # RESERVE hangs: the seam kills and abandons it
        if argv == prout.reserve(A, KA):
            return process.CommandResult(tuple(argv), None, duration_s=timeout_s, timed_out=True)
        return process.run(argv, timeout_s)

    result = FencingTest(TARGET, None, [], None, run=run, timeout_s=0.5).run()
    assert script.sent() == script.expected
    reserve = next(s for s in result.steps if s.id == "reserve")
    assert reserve.outcome == "timed_out" and reserve.status == "fail"
    assert reserve.exit_meaning == "no answer within 0.5 s; abandoned"
    assert result.cleanup_verified
    assert judge(result, with_peer=False).code == "step_failed"


def test_a_peer_that_reaches_another_lu_aborts_and_both_are_cleaned_up(fp):
    """Issue 10 finding 3: the peer carries the same designator but is another LU (tgt gives
    every LUN 1 the same NAA): READ KEYS through it shows only its own key. The test stops, the
    peer's key is removed through the peer, and both paths are verified."""
    script = Script(fp)
    single_path_pass(script)
    script.add(prout.register(B, KB))
    script.keys(B, [KB])  # the target's KA is not there: another LU
    script.keys(A, [KA])  # cleanup, through the target: only KA there
    script.reservation(A, None)
    script.add(prout.unregister(A, KA))
    script.keys(B, [KB])  # KB was not seen through the target: looked for through the peer
    script.add(prout.unregister(B, KB))
    script.keys(A, [])  # verify through both paths
    script.reservation(A, None)
    script.keys(B, [])
    script.reservation(B, None)
    result = _run(PEER)
    assert script.sent() == script.expected
    assert result.peer_other_lu
    step = next(s for s in result.steps if s.id == "peer_read_keys")
    assert step.status == "fail" and "reaches another LU" in step.detail
    assert result.cleanup_verified and result.keys_after_by_path == {"target": [], "peer": []}
    verdict = judge(result, with_peer=True)
    assert (verdict.code, verdict.exit_status) == ("peer_is_another_lu", 9)


def test_a_peer_key_left_on_another_lu_is_not_verified_away(fp):
    """Verification reads through every path that registered: a key left behind on the peer's
    LU is a leftover with its command, not `cleanup_verified`."""
    script = Script(fp)
    single_path_pass(script)
    script.add(prout.register(B, KB))
    script.keys(B, [KB])
    script.keys(A, [KA])
    script.reservation(A, None)
    script.add(prout.unregister(A, KA))
    script.keys(B, [KB])
    script.add(prout.unregister(B, KB), 99, stderr=b"sg_persist failed: Other error\n")
    script.keys(A, [])  # after a failed unregister: CLEAR only if every key left is ours...
    script.reservation(A, None)  # ...and through the target none is: nothing to clear there
    script.keys(A, [])  # verify
    script.reservation(A, None)
    script.keys(B, [KB])
    script.reservation(B, None)
    result = _run(PEER)
    assert script.sent() == script.expected
    assert not result.cleanup_verified
    assert [(left.key, left.device) for left in result.leftovers] == [
        (f"{KB:016x}", B)
    ]
    assert result.leftovers[0].commands == [shell_join(prout.unregister(B, KB))]
    assert judge(result, with_peer=True).code == "cleanup_incomplete"


def test_a_cleanup_command_killed_by_a_signal_is_sent_again(fp):
    """Issue 10 finding 4: an unregister killed by a signal (exit -2) is retried, and the run
    still ends verified."""
    script = Script(fp)
    script.add(prout.register(A, KA))
    script.keys(A, [])  # the key is not listed: the test fails
    script.keys(A, [KA])  # cleanup
    script.reservation(A, None)
    script.add(prout.unregister(A, KA), -2)  # SIGINT reached it
    script.add(prout.unregister(A, KA), 0)
    script.keys(A, [])
    script.reservation(A, None)
    result = _run()
    assert script.sent() == script.expected
    unregister = next(s for s in result.steps if s.id == "cleanup_unregister_target")
    assert unregister.exit_statuses == [-2, 0] and unregister.status == PASS
    assert "killed by a signal" in unregister.exit_meaning
    assert result.cleanup_verified


def _proof_run(fp, read_from_fenced_rc, sync_rc=24):
    script = Script(fp)
    single_path_pass(script)
    peer_part(script, proof_read_rc=read_from_fenced_rc, proof_sync_rc=sync_rc)
    peer_cleanup(script)
    result = _run(PEER)
    assert script.sent() == script.expected
    return result


def test_the_fence_proof_reads_refused_from_the_preempted_path_and_good_from_the_holder(fp):
    result = _proof_run(fp, 24)
    proof = result.fence_proof
    assert (proof.result, proof.write_side) == ("proven", "proven")
    read = next(s for s in result.steps if s.id == "proof_read_fenced")
    assert (read.status, read.exit_status, read.role) == (PASS, 24, "target")
    verdict = judge(result, with_peer=True)
    assert verdict.code == "fencing_proven" and "fence proof: proven" in verdict.text


def test_a_preempted_path_that_still_reads_cannot_be_fenced(fp):
    result = _proof_run(fp, 0)  # one I_T nexus (one host initiator): the READ goes through
    assert result.fence_proof.result == "not_enforced"
    assert result.cleanup_verified  # the proof's own reservation (type 6) was released
    verdict = judge(result, with_peer=True)
    assert (verdict.code, verdict.exit_status) == ("fence_not_enforced", 9)
    assert "cannot fence each other" in verdict.text


def test_an_answer_that_is_no_conflict_proves_nothing(fp):
    # sg3_utils 1.37's sg_raw exits 99 on a bare RESERVATION CONFLICT status; LIO answers the
    # SYNCHRONIZE CACHE with GOOD under Write Exclusive
    result = _proof_run(fp, 99, sync_rc=0)
    proof = result.fence_proof
    assert (proof.result, proof.write_side) == ("not_proven", "not_checked")
    steps = {s.id: s for s in result.steps}
    assert steps["proof_read_fenced"].status == "not_proven"
    assert steps["proof_sync_cache_fenced"].status == "not_checked"
    verdict = judge(result, with_peer=True)
    assert verdict.code == "fencing_proven" and "fence proof: not_proven" in verdict.text
