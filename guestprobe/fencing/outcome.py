"""The outcome of a fencing test (code, sentence, exit status) from its steps and cleanup. Pure.

| code | exit | when |
|---|---|---|
| ``fencing_proven`` | 0 | --peer: every step passed, PREEMPT AND ABORT included (and the fence |
| | | proof's result: proven, not_proven) |
| ``fence_not_enforced`` | 9 | the preempted path's READ(10) was GOOD under Exclusive Access |
| ``pr_basics_proven`` | 0 | no --peer: register, reserve, release passed (preempt not tested) |
| ``preempt_abort_unsupported`` | 9 | PREEMPT AND ABORT refused, all else passed |
| ``peer_is_another_lu`` | 9 | READ KEYS through --peer did not show the target's key: another LU |
| ``step_failed`` | 9 | a step failed (the first is named) |
| ``cleanup_incomplete`` | 9 | a key or reservation is left, or the keys differ |
| ``interrupted`` | 130 / 143 | SIGINT / SIGTERM, cleanup verified (else ``cleanup_incomplete``) |
| ``internal_error`` | 70 | a bug in guestprobe; cleanup still ran and is reported |
| ``refused`` | 10 | the test did not run (see the refusals) |
"""


from guestprobe.document.fencing import FencingOutcome
from guestprobe.errors import ExitStatus
from guestprobe.fencing.preflight import Refusal
from guestprobe.fencing.sequence import FAIL, TEST, UNSUPPORTED, FencingResult

SIGNAL_EXIT = {"SIGINT": 130, "SIGTERM": 143}


def refused(refusals: "list[Refusal]") -> "FencingOutcome":
    return FencingOutcome("refused", "; ".join(r.text for r in refusals), ExitStatus.REFUSED)


def _cleanup_text(result: "FencingResult") -> str:
    if result.leftovers:
        what = "; ".join(
            f"{left.what} {('0x' + left.key) if left.key else ''} on {left.device}"
            f" (remove with: {' ; '.join(left.commands)})"
            for left in result.leftovers
        )
        return f"cleanup left: {what}"
    if result.keys_after is None:
        return "the registrations after cleanup could not be read"
    before = sorted(result.keys_before)
    after = sorted(result.keys_after)
    added = [f"0x{k:016x}" for k in after if k not in before]
    missing = [f"0x{k:016x}" for k in before if k not in after]
    return (
        "the registrations after the test differ from those before "
        f"(added {', '.join(added) or 'none'}; gone {', '.join(missing) or 'none'})"
    )


def judge(result: "FencingResult", with_peer: bool) -> "FencingOutcome":
    test_steps = [s for s in result.steps if s.phase == TEST]
    failed = [s for s in test_steps if s.status == FAIL]
    unsupported = [s for s in test_steps if s.status == UNSUPPORTED]
    if result.error is not None:
        return FencingOutcome(
            "internal_error",
            f"guestprobe failed ({result.error}); cleanup "
            + ("verified" if result.cleanup_verified else _cleanup_text(result)),
            ExitStatus.INTERNAL,
        )
    if not result.cleanup_verified:
        return FencingOutcome("cleanup_incomplete", _cleanup_text(result), ExitStatus.TEST_FAILED)
    if result.interrupted is not None:
        return FencingOutcome(
            "interrupted",
            f"interrupted by {result.interrupted} after "
            f"{len(test_steps)} step(s); every key and reservation of the test was "
            "removed and the registrations equal those before",
            SIGNAL_EXIT.get(result.interrupted, ExitStatus.TEST_FAILED),
        )
    if result.peer_other_lu:
        return FencingOutcome(
            "peer_is_another_lu",
            "--peer reaches another LU than the tested disk although their LU designators are "
            "the same (READ KEYS through it did not show the key registered through the tested "
            "disk); the test stopped, and the keys registered through both paths were removed "
            "and checked through each",
            ExitStatus.TEST_FAILED,
        )
    proof = result.fence_proof
    said = (proof.result, proof.text) if proof is not None else ("not_run", "not sent")
    if said[0] == "not_enforced":
        return FencingOutcome("fence_not_enforced", str(said[1]), ExitStatus.TEST_FAILED)
    if failed:
        first = failed[0]
        return FencingOutcome(
            "step_failed",
            f"{first.id} ({first.title}) failed: {first.detail}",
            ExitStatus.TEST_FAILED,
        )
    if unsupported:
        return FencingOutcome(
            "preempt_abort_unsupported",
            "PR basics proven, preempt-and-abort unsupported: REGISTER, RESERVE, RELEASE and "
            "PREEMPT work, but the target refuses PREEMPT AND ABORT, which Veritas I/O fencing "
            f"relies on; fence proof: {said[0]} ({said[1]})",
            ExitStatus.TEST_FAILED,
        )
    if with_peer:
        return FencingOutcome(
            "fencing_proven",
            "REGISTER, RESERVE, RELEASE and PREEMPT AND ABORT work "
            "and the preempted path is fenced off: SCSI-3 PR fencing works on this LU "
            f"from this guest; fence proof: {said[0]} ({said[1]})",
            ExitStatus.OK,
        )
    return FencingOutcome(
        "pr_basics_proven",
        "REGISTER, RESERVE and RELEASE work; preempt-and-abort "
        "was not tested (it needs --peer, a second path to the LU)",
        ExitStatus.OK,
    )
