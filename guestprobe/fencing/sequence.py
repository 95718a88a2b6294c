"""The fencing test itself: the planned PR steps, run one by one, then cleanup and verification.

:func:`planned_steps` lists every command of the test proper, in order, before anything is sent (the
command line prints it). :class:`FencingTest` sends them through the process seam, judges each
answer, stops at the first failure and — whatever happened: success, failure, timeout, SIGINT or
SIGTERM, a bug — removes every key it may have registered and every reservation it may hold, then
reads the LU's registrations again and compares them with those before.

Every command that gets UNIT ATTENTION is sent once more: after a PREEMPT the preempted path's
next command gets "reservations preempted", which is expected and not the answer.

After the preempt comes the fence proof (:mod:`.proof`): SYNCHRONIZE CACHE(10) from both paths
under the Write Exclusive reservation (the write-side candidate), then the holder turns it into
Exclusive Access - Registrants Only and READ(10) of one block goes through both paths: the
preempted one must get RESERVATION CONFLICT, the holder GOOD. No data is written.
"""


import errno
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from guestprobe.collect import process
from guestprobe.collect.probe import ProbeOptions, Runner
from guestprobe.collect.sending import send
from guestprobe.collect.sg3 import (
    SG_LIB_CAT_ILLEGAL_REQ,
    SG_LIB_CAT_INVALID_OP,
    SG_LIB_CAT_RES_CONFLICT,
    SG_LIB_OS_BASE_ERR,
)
from guestprobe.compat import shell_join
from guestprobe.decode import DecodeError
from guestprobe.decode.persist import (
    decode_read_keys,
    decode_read_reservation,
    key_hex,
    pr_in_data_from_hexdump,
)
from guestprobe.document.fencing import DiskLeftover, FenceProof, StepRecord
from guestprobe.fencing import proof, prout
from guestprobe.fencing.keys import sg_key
from guestprobe.fencing.preflight import PEER, TARGET
from guestprobe.fencing.signals import Interrupted, SignalGuard

PASS, FAIL, UNSUPPORTED, NOT_RUN = "pass", "fail", "unsupported", "not_run"
NOT_PROVEN, NOT_CHECKED = "not_proven", "not_checked"  # a proof command that proves nothing
TEST, CLEANUP, VERIFY = "test", "cleanup", "verify"
WERO = prout.WRITE_EXCLUSIVE_REGISTRANTS_ONLY
EARO = proof.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY

# what a step checks
PROUT_OK = "prout_ok"  # PR OUT answered GOOD
KEYS = "keys"  # READ KEYS lists ``present`` and not ``absent``
RESERVATION = "reservation"  # READ RESERVATION: ``holder`` holds a type-5 reservation
NO_RESERVATION_BY = "no_reservation_by"  # READ RESERVATION: ``holder`` holds none
CONFLICT = "conflict"  # PR OUT answered RESERVATION CONFLICT
OBSERVE = "observe"  # READ RESERVATION: whatever it shows, decoded (fencing-node status)
REFUSED = "refused"  # fence proof: the reservation must refuse it (RESERVATION CONFLICT)
ACCEPTED = "accepted"  # fence proof: must answer GOOD (the holder; a read under Write Exclusive)
WRITE_SIDE = "write_side"  # a write-side candidate: a conflict proves, GOOD says "not checked"
PROOF_CHECKS = (REFUSED, ACCEPTED, WRITE_SIDE)
GOOD_ANSWER = proof.GOOD


@dataclass(frozen=True)
class PrPath:
    role: str  # TARGET or PEER
    device: str  # the node commands go to
    dev_path: str
    key: int
    block_size: int = 512  # READ(10) of the fence proof asks for one block


@dataclass(frozen=True)
class PlannedStep:
    id: str
    title: str
    role: str
    argv: "tuple[str, ...]"
    check: str
    present: "tuple[int, ...]" = ()
    absent: "tuple[int, ...]" = ()
    holder: "int | None" = None
    fallback_for: "str | None" = None  # sent only when that step answered "unsupported"
    reservation_type: int = WERO  # RESERVATION: the type the holder must hold


@dataclass
class Step:
    """One command sent, and what it showed."""

    id: str
    title: str
    phase: str
    role: str
    argv: "list[str]"
    expected: str
    status: str = NOT_RUN
    exit_status: "int | None" = None
    exit_meaning: "str | None" = None
    outcome: "str | None" = None
    attempts: int = 0
    exit_statuses: "list[int | None]" = field(default_factory=list)  # one per attempt
    duration_s: float = 0.0
    detail: str = ""
    observed: "dict[str, Any] | None" = None  # decoded PR IN answer
    stdout_hex: str = ""
    stderr: str = ""

    def record(self) -> "StepRecord":
        """The step as its JSON record (document.fencing)."""
        return StepRecord(
            id=self.id, title=self.title, phase=self.phase, path=self.role, argv=self.argv,
            command=shell_join(self.argv), expected=self.expected, status=self.status,
            exit_status=self.exit_status, exit_meaning=self.exit_meaning, outcome=self.outcome,
            attempts=self.attempts, exit_statuses=self.exit_statuses,
            duration_s=round(self.duration_s, 3), detail=self.detail, observed=self.observed,
            stdout_hex=self.stdout_hex, stderr=self.stderr,
        )

    def to_dict(self) -> "dict[str, Any]":
        return self.record().to_dict()


def planned_steps(target: "PrPath", peer: "PrPath | None") -> "list[PlannedStep]":
    """Every command of the test proper, in the order it is sent (cleanup comes after)."""
    a, ka = target.device, target.key
    steps = [
        PlannedStep(
            "register", "REGISTER the test key", TARGET, tuple(prout.register(a, ka)), PROUT_OK
        ),
        PlannedStep(
            "read_keys",
            "READ KEYS: the test key is registered",
            TARGET,
            tuple(prout.read_keys(a)),
            KEYS,
            present=(ka,),
        ),
        PlannedStep(
            "reserve",
            "RESERVE Write Exclusive - Registrants Only",
            TARGET,
            tuple(prout.reserve(a, ka)),
            PROUT_OK,
        ),
        PlannedStep(
            "read_reservation",
            "READ RESERVATION: held by the test key, type 5",
            TARGET,
            tuple(prout.read_reservation(a)),
            RESERVATION,
            holder=ka,
        ),
        PlannedStep(
            "release", "RELEASE the reservation", TARGET, tuple(prout.release(a, ka)), PROUT_OK
        ),
        PlannedStep(
            "read_reservation_released",
            "READ RESERVATION: released",
            TARGET,
            tuple(prout.read_reservation(a)),
            NO_RESERVATION_BY,
            holder=ka,
        ),
    ]
    if peer is None:
        return steps
    b, kb = peer.device, peer.key
    steps += [
        PlannedStep(
            "peer_register",
            "REGISTER a second key through the peer path",
            PEER,
            tuple(prout.register(b, kb)),
            PROUT_OK,
        ),
        PlannedStep(
            "peer_read_keys",
            "READ KEYS through the peer: both keys registered",
            PEER,
            tuple(prout.read_keys(b)),
            KEYS,
            present=(ka, kb),
        ),
        PlannedStep(
            "reserve_again",
            "RESERVE again, so the preempt takes a held reservation",
            TARGET,
            tuple(prout.reserve(a, ka)),
            PROUT_OK,
        ),
        PlannedStep(
            "preempt_abort",
            "PREEMPT AND ABORT the first key from the peer",
            PEER,
            tuple(prout.preempt(b, kb, ka, abort=True)),
            PROUT_OK,
        ),
        PlannedStep(
            "preempt",
            "PREEMPT the first key from the peer (PREEMPT AND ABORT refused)",
            PEER,
            tuple(prout.preempt(b, kb, ka, abort=False)),
            PROUT_OK,
            fallback_for="preempt_abort",
        ),
        PlannedStep(
            "peer_read_keys_preempted",
            "READ KEYS: the first key is gone",
            PEER,
            tuple(prout.read_keys(b)),
            KEYS,
            present=(kb,),
            absent=(ka,),
        ),
        PlannedStep(
            "peer_read_reservation",
            "READ RESERVATION: the peer holds it now, type 5",
            PEER,
            tuple(prout.read_reservation(b)),
            RESERVATION,
            holder=kb,
        ),
        PlannedStep(
            "fenced_path_register",
            "PR OUT from the fenced path: reservation conflict",
            TARGET,
            tuple(prout.reregister_stale(a, ka)),
            CONFLICT,
        ),
    ]
    return steps + proof_steps(holder=peer, fenced=target)


def proof_steps(holder: "PrPath", fenced: "PrPath") -> "list[PlannedStep]":
    """The fence proof, after ``holder`` preempted ``fenced`` (Write Exclusive held by holder)."""
    h, f = holder.device, fenced.device
    return [
        PlannedStep("proof_sync_cache_fenced",
                    "SYNCHRONIZE CACHE(10) from the preempted path, Write Exclusive held",
                    fenced.role, tuple(proof.synchronize_cache10(f)), WRITE_SIDE),
        PlannedStep("proof_sync_cache_holder", "SYNCHRONIZE CACHE(10) from the holder",
                    holder.role, tuple(proof.synchronize_cache10(h)), ACCEPTED),
        PlannedStep("proof_read_fenced_we",
                    "READ(10) from the preempted path under Write Exclusive: GOOD",
                    fenced.role, tuple(proof.read10(f, fenced.block_size)), ACCEPTED),
        PlannedStep("proof_release", "RELEASE Write Exclusive (to reserve Exclusive Access)",
                    holder.role, tuple(prout.release(h, holder.key)), PROUT_OK),
        PlannedStep("proof_reserve_ea", "RESERVE Exclusive Access - Registrants Only",
                    holder.role, tuple(prout.reserve(h, holder.key, EARO)), PROUT_OK),
        PlannedStep("proof_read_reservation_ea",
                    "READ RESERVATION: the holder holds it, type 6", holder.role,
                    tuple(prout.read_reservation(h)), RESERVATION, holder=holder.key,
                    reservation_type=EARO),
        PlannedStep("proof_read_fenced",
                    "READ(10) from the preempted path: reservation conflict",
                    fenced.role, tuple(proof.read10(f, fenced.block_size)), REFUSED),
        PlannedStep("proof_read_holder", "READ(10) from the holder: GOOD",
                    holder.role, tuple(proof.read10(h, holder.block_size)), ACCEPTED),
    ]  # fmt: skip


def fence_proof(steps: "Sequence[Step]") -> "FenceProof":
    """The proof's summary (:func:`guestprobe.fencing.proof.summarize`) from its steps."""
    answered = [step for step in steps if step.id.startswith("proof_") and step.exit_statuses]

    def answer(step_id: str) -> "str | None":  # (the last step of that id)
        found = [step for step in answered if step.id == step_id]
        return proof.answer(found[-1].exit_status) if found else None

    return FenceProof.from_dict(proof.summarize(
        fenced_read=answer("proof_read_fenced"),
        holder_read=answer("proof_read_holder"),
        fenced_read_we=answer("proof_read_fenced_we"),
        fenced_sync=answer("proof_sync_cache_fenced"),
        holder_sync=answer("proof_sync_cache_holder"),
    ))  # fmt: skip


def cleanup_commands(target: "PrPath", peer: "PrPath | None") -> "list[list[str]]":
    """The PR OUT commands cleanup may send (each only where needed)."""
    commands = []
    for path in (target, peer):
        if path is not None:
            commands.append(prout.release(path.device, path.key))
            commands.append(prout.unregister(path.device, path.key))
    return commands


def _expected(planned: "PlannedStep") -> str:
    if planned.check == PROUT_OK:
        return "exit 0"
    if planned.check in (CONFLICT, REFUSED):
        return f"exit {SG_LIB_CAT_RES_CONFLICT} (reservation conflict)"
    if planned.check == ACCEPTED:
        return "exit 0 (GOOD)"
    if planned.check == WRITE_SIDE:
        return f"exit {SG_LIB_CAT_RES_CONFLICT} proves the write side; exit 0: not checked"
    if planned.check == OBSERVE:
        return "exit 0"
    if planned.check == KEYS:
        wanted = [f"{sg_key(k)} registered" for k in planned.present]
        wanted += [f"{sg_key(k)} not registered" for k in planned.absent]
        return "exit 0; " + ", ".join(wanted)
    assert planned.holder is not None
    if planned.check == RESERVATION:
        return (
            f"exit 0; reservation held by {sg_key(planned.holder)}, type {planned.reservation_type}"
        )
    return f"exit 0; no reservation held by {sg_key(planned.holder)}"


_FAILURE_HINTS = {
    SG_LIB_CAT_INVALID_OP: "the disk (or the host on its way) does not implement the command",
    SG_LIB_CAT_ILLEGAL_REQ: "the disk refuses this service action or a field of it",
    SG_LIB_CAT_RES_CONFLICT: "another registration or reservation stands in the way",
    SG_LIB_OS_BASE_ERR + errno.ENOTTY: "no SCSI pass-through to this disk (ENOTTY: virtio-blk?)",
}


@dataclass
class FencingResult:
    steps: "list[Step]"
    keys_before: "list[int]"
    reservation_before: "dict[str, Any] | None"
    keys_after: "list[int] | None" = None
    reservation_after: "dict[str, Any] | None" = None
    reservation_after_known: bool = False
    interrupted: "str | None" = None  # "SIGINT", "SIGTERM"
    error: "str | None" = None  # a bug in guestprobe, caught so that cleanup still ran
    leftovers: "list[DiskLeftover]" = field(default_factory=list)
    cleanup_verified: bool = False
    pending_commands: int = 0  # timed-out commands that may still be in the kernel
    peer_other_lu: bool = False  # READ KEYS through the peer did not show the target's key
    keys_after_by_path: "dict[str, list[int] | None]" = field(default_factory=dict)
    fence_proof: "FenceProof | None" = None  # sequence.fence_proof(), after the test


class FencingTest:
    """Runs :func:`planned_steps` on ``target`` (and ``peer``) and always cleans up after it."""

    def __init__(
        self,
        target: "PrPath",
        peer: "PrPath | None",
        keys_before: "Sequence[int]",
        reservation_before: "dict[str, Any] | None",
        run: "Runner" = process.run,
        timeout_s: float = ProbeOptions.timeout_s,
        on_step: "Callable[[Step], None] | None" = None,
        guard: "SignalGuard | None" = None,
        peer_keys_before: "Sequence[int] | None" = None,
    ) -> None:
        self.target = target
        self.peer = peer
        self.runner = run
        self.timeout_s = timeout_s
        self.on_step = on_step
        self.guard = guard or SignalGuard()
        self.paths = {TARGET: target} if peer is None else {TARGET: target, PEER: peer}
        self.ours = {path.key: path for path in self.paths.values()}
        self.maybe_registered: "list[int]" = []  # keys a REGISTER was sent for, in order
        self.result = FencingResult([], list(keys_before), reservation_before)
        # what each path saw before (the peer's preflight READ KEYS; the same LU: the same keys)
        self.keys_before = {TARGET: list(keys_before)}
        if peer is not None:
            self.keys_before[PEER] = list(
                keys_before if peer_keys_before is None else peer_keys_before
            )
        self._abandoned_before = process.abandoned_processes()

    # -- sending and judging -----------------------------------------------------------------
    def _send(self, step: "Step", retry_killed: bool = False) -> "Step":
        """Send one command (once more after UNIT ATTENTION) and record its exit status.

        ``retry_killed`` (cleanup): a command killed by a signal is sent again, twice at most.
        """
        self.guard.check()
        self.result.steps.append(step)
        sent = send(
            self.runner,
            step.argv,
            self.timeout_s,
            retry_killed=2 if retry_killed else 0,
            around=self.guard.command,
        )
        step.attempts, step.duration_s = sent.attempts, sent.duration_s
        step.exit_status, step.exit_statuses = sent.exit_status, sent.exit_statuses
        step.stdout_hex, step.stderr = sent.stdout.hex(), sent.stderr
        step.outcome, step.exit_meaning = sent.outcome, sent.exit_meaning
        return step

    def _done(self, step: "Step") -> "Step":
        if self.on_step is not None:
            self.on_step(step)
        return step

    def _failed(self, step: "Step", what: str) -> None:
        step.status = FAIL
        hint = _FAILURE_HINTS.get(step.exit_status or 0, "")
        step.detail = what + (f": {hint}" if hint and step.exit_status else "")

    def _judge_prout(self, step: "Step", want_conflict: bool) -> None:
        if want_conflict:
            if step.exit_status == SG_LIB_CAT_RES_CONFLICT:
                step.status = PASS
                step.detail = "the preempted path is fenced off: its stale key is refused"
            elif step.exit_status == 0:
                step.status = FAIL
                step.detail = (
                    "the preempted path re-registered its old key: the target does not fence it off"
                )
            else:
                self._failed(
                    step,
                    f"expected a reservation conflict, got exit "
                    f"{step.exit_status} ({step.exit_meaning})",
                )
            return
        if step.exit_status == 0:
            step.status = PASS
        else:
            self._failed(step, f"exit {step.exit_status} ({step.exit_meaning})")

    def _decode(self, step: "Step", decoder: "Callable[[bytes], Any]") -> "Any":
        if step.exit_status != 0:
            self._failed(
                step, f"PERSISTENT RESERVE IN failed: exit {step.exit_status} ({step.exit_meaning})"
            )
            return None
        try:
            return decoder(pr_in_data_from_hexdump(bytes.fromhex(step.stdout_hex)))
        except DecodeError as exc:
            step.status = FAIL
            step.detail = f"the answer did not decode: {exc}"
            return None

    def _judge_keys(self, step: "Step", present: "Sequence[int]", absent: "Sequence[int]") -> None:
        decoded = self._decode(step, decode_read_keys)
        if decoded is None:
            return
        step.observed = decoded.to_dict()
        missing = [sg_key(k) for k in present if k not in decoded.keys]
        still = [sg_key(k) for k in absent if k in decoded.keys]
        if missing or still:
            step.status = FAIL
            step.detail = "; ".join(
                [f"{k} is not registered" for k in missing]
                + [f"{k} is still registered" for k in still]
            )
        else:
            step.status = PASS

    def _judge_proof(self, step: "Step", check: str) -> None:
        """A fence-proof command: what its answer proves (never a data change: see proof.py)."""
        got = proof.answer(step.exit_status)
        meaning = f"exit {step.exit_status} ({step.exit_meaning})"
        if check == REFUSED and got == GOOD_ANSWER:
            step.status = FAIL
            step.detail = (
                "the preempted path still reads under Exclusive Access - Registrants Only: it "
                "shares the holder's I_T nexus or bypasses the reservation; they cannot fence "
                "each other"
            )
        elif check == WRITE_SIDE and got == GOOD_ANSWER:
            step.status = NOT_CHECKED
            step.detail = "accepted: this target does not check it against Write Exclusive"
        elif got == (GOOD_ANSWER if check == ACCEPTED else proof.CONFLICT):
            step.status = PASS
            step.detail = "refused: reservation conflict" if got == proof.CONFLICT else "GOOD"
        else:
            step.status = NOT_PROVEN
            step.detail = f"{meaning}: proves nothing about the fence"

    def _judge_reservation(
        self, step: "Step", holder: int, held: bool, prout_type: int = WERO
    ) -> None:
        decoded = self._decode(step, decode_read_reservation)
        if decoded is None:
            return
        reservation = decoded.reservation
        step.observed = decoded.to_dict()
        if not held:
            if reservation is not None and reservation.key == holder:
                step.status = FAIL
                step.detail = f"{sg_key(holder)} still holds a reservation"
            else:
                step.status = PASS
            return
        if reservation is None:
            step.status = FAIL
            step.detail = "no reservation is held"
        elif reservation.key != holder or reservation.type_code != prout_type:
            step.status = FAIL
            step.detail = (
                f"held by {sg_key(reservation.key)}, type {reservation.type_code} "
                f"({reservation.type_name}); expected {sg_key(holder)}, type {prout_type}"
            )
        else:
            step.status = PASS

    # -- the test proper -----------------------------------------------------------------------
    def _run_planned(self, planned: "PlannedStep") -> "Step":
        step = Step(
            planned.id, planned.title, TEST, planned.role, list(planned.argv), _expected(planned)
        )
        path = self.paths[planned.role]
        registers = planned.check == PROUT_OK and "--register" in planned.argv
        if registers and path.key not in self.maybe_registered:
            self.maybe_registered.append(path.key)
        self._send(step)
        if planned.check in PROOF_CHECKS:
            self._judge_proof(step, planned.check)
        elif planned.check in (PROUT_OK, CONFLICT):
            self._judge_prout(step, want_conflict=planned.check == CONFLICT)
        elif planned.check == KEYS:
            self._judge_keys(step, planned.present, planned.absent)
            if planned.id == "peer_read_keys":
                self._check_same_lu(step)
        elif planned.check == OBSERVE:
            decoded = self._decode(step, decode_read_reservation)
            if decoded is not None:
                step.status, step.observed = PASS, decoded.to_dict()
        else:
            assert planned.holder is not None
            self._judge_reservation(
                step, planned.holder, planned.check == RESERVATION, planned.reservation_type
            )
        if planned.id == "preempt_abort" and step.exit_status == SG_LIB_CAT_ILLEGAL_REQ:
            step.status = UNSUPPORTED
            step.detail = (
                "the target refuses PREEMPT AND ABORT (ILLEGAL REQUEST); Veritas "
                "fencing needs it; plain PREEMPT is tried instead"
            )
        return self._done(step)

    def _check_same_lu(self, step: "Step") -> None:
        """After both REGISTERs, READ KEYS through the peer must show the target's key too: if it
        shows only its own, the peer reaches another LU with a colliding designator."""
        keys = step.record().observed_keys()
        if keys is None or self.peer is None:
            return
        if self.peer.key in keys and self.target.key not in keys:
            self.result.peer_other_lu = True
            step.status = FAIL
            step.detail = (
                f"--peer {self.peer.dev_path} reaches another LU: READ KEYS through it lists "
                f"{sg_key(self.peer.key)} but not {sg_key(self.target.key)}, registered through "
                f"{self.target.dev_path} (their LU designators collide; tgt gives every LUN 1 "
                "the same NAA); the test stops and both are cleaned up"
            )

    def _test(self) -> None:
        self.send_planned(planned_steps(self.target, self.peer))
        self.guard.check()

    def send_planned(self, plan: "Sequence[PlannedStep]") -> "dict[str, str]":
        """Send ``plan`` in order (a fallback only after its step was unsupported), stopping at
        the first failure; the statuses by step id."""
        answers: "dict[str, str]" = {}
        for planned in plan:
            fallback = planned.fallback_for
            if fallback is not None and answers.get(fallback) != UNSUPPORTED:
                continue
            step = self._run_planned(planned)
            answers[planned.id] = step.status
            if step.status == FAIL:
                break
        return answers

    def cleanup_only(self, registered: "Sequence[int]") -> "FencingResult":
        """Cleanup and verification alone, for keys a run of another process may have left."""
        self.maybe_registered = [key for key in registered if key in self.ours]
        self._cleanup_whatever_arrives()
        return self.result

    def run(self) -> "FencingResult":
        """The test, then cleanup and verification, whatever happens in the test."""
        try:
            try:
                self._test()
            except Exception as exc:  # a bug: still clean up, then report it
                self.result.error = f"{type(exc).__name__}: {exc}"
        except (Interrupted, KeyboardInterrupt) as exc:
            self.result.interrupted = exc.name if isinstance(exc, Interrupted) else "SIGINT"
        finally:
            self._cleanup_whatever_arrives()
        if self.peer is not None:
            self.result.fence_proof = fence_proof(self.result.steps)
        if self.result.interrupted is None and self.guard.signal_name is not None:
            self.result.interrupted = self.guard.signal_name
        return self.result

    def _cleanup_whatever_arrives(self) -> None:
        """Cleanup; a signal that lands before the guard holds signals only restarts it.

        The guard raises at most once, so the second attempt always runs to the end.
        """
        for _ in range(2):
            try:
                self.guard.hold()
                self._cleanup_and_verify()
                return
            except Interrupted as exc:
                self.result.interrupted = self.result.interrupted or exc.name

    # -- cleanup ---------------------------------------------------------------------------------
    def _cleanup_send(
        self, step_id: str, title: str, phase: str, path: "PrPath", argv: "list[str]", expected: str
    ) -> "Step":
        step = Step(step_id, title, phase, path.role, argv, expected)
        try:
            self._send(step, retry_killed=True)
        except Exception as exc:  # cleanup goes on; recorded
            step.status = FAIL
            step.detail = f"{type(exc).__name__}: {exc}"
        return step

    def _read_through(
        self,
        phase: str,
        path: "PrPath",
        step_id: str,
        title: str,
        argv: "Callable[[str], list[str]]",
        decoder: "Any",
    ) -> "Any":
        """A PR IN answer through ``path``, decoded; None when it gives none."""
        step = self._cleanup_send(step_id, title, phase, path, argv(path.device), "exit 0")
        decoded = self._decode(step, decoder) if step.status != FAIL else None
        if decoded is not None:
            step.status = PASS
            step.observed = decoded.to_dict()
        self._done(step)
        return decoded

    def _read_first(
        self, phase: str, name: str, title: str, argv: "Callable[[str], list[str]]", decoder: "Any"
    ) -> "Any":
        """A PR IN answer through the first of our paths that gives one; None if none does."""
        for path in self.paths.values():
            decoded = self._read_through(phase, path, f"{phase}_{name}", title, argv, decoder)
            if decoded is not None:
                return decoded
        return None

    def _read_path_keys(self, phase: str, path: "PrPath") -> "list[int] | None":
        decoded = self._read_through(
            phase,
            path,
            f"{phase}_read_keys_{path.role}",
            f"READ KEYS through the {path.role} path",
            prout.read_keys,
            decode_read_keys,
        )
        return None if decoded is None else list(decoded.keys)

    def _registered_elsewhere(self) -> "list[PrPath]":
        """Our paths other than the target that may hold a registration of ours."""
        return [
            path for path in self.paths.values() if path is not self.target
            and path.key in self.maybe_registered
        ]  # fmt: skip

    def _read_state(self, phase: str, label: str) -> "tuple[list[int] | None, Any, bool]":
        """(keys, reservation or None, whether the reservation is known) as the LU says now."""
        keys = self._read_first(
            phase, "read_keys", f"READ KEYS {label}", prout.read_keys, decode_read_keys
        )
        state = self._read_first(
            phase,
            "read_reservation",
            f"READ RESERVATION {label}",
            prout.read_reservation,
            decode_read_reservation,
        )
        return (
            None if keys is None else list(keys.keys),
            None if state is None else state.reservation,
            state is not None,
        )

    def _cleanup_and_verify(self) -> None:
        for step in self.result.steps:
            if step.status == NOT_RUN:
                step.status = FAIL
                step.detail = step.detail or f"interrupted ({self.result.interrupted or 'error'})"
        if not self.maybe_registered:
            self._verify()
            return
        keys, reservation, _ = self._read_state(CLEANUP, "before cleanup")
        if reservation is not None and reservation.key in self.ours:
            holder = self.ours[reservation.key]
            step = self._cleanup_send(
                "cleanup_release",
                "RELEASE the test reservation",
                CLEANUP,
                holder,
                prout.release(holder.device, holder.key, reservation.type_code),
                "exit 0",
            )
            self._judge_prout(step, want_conflict=False)
            self._done(step)
        failed: "list[int]" = []
        for key in self.maybe_registered:
            path = self.ours[key]
            if keys is not None and key not in keys:
                if path is self.target:
                    continue  # preempted, or the REGISTER never took
                # not seen through the target: its own path may reach another LU (colliding
                # designators); look there, and unregister there if it is there
                seen_there = self._read_path_keys(CLEANUP, path)
                if seen_there is not None and key not in seen_there:
                    continue
            step = self._cleanup_send(
                f"cleanup_unregister_{path.role}",
                f"unregister {sg_key(key)}",
                CLEANUP,
                path,
                prout.unregister(path.device, key),
                "exit 0",
            )
            self._judge_prout(step, want_conflict=False)
            if keys is None and step.exit_status == SG_LIB_CAT_RES_CONFLICT:
                step.status, step.detail = PASS, "not registered through this path"
            if step.status == FAIL:
                failed.append(key)
            self._done(step)
        if failed:
            self._clear_if_only_ours(failed)
        self._verify()

    def _clear_if_only_ours(self, failed: "list[int]") -> None:
        """CLEAR from a key of ours that is still registered, when every registration is ours."""
        keys, _, _ = self._read_state(CLEANUP, "after a failed unregister")
        if keys is None or any(k not in self.ours for k in keys) or self.result.keys_before:
            return  # CLEAR would remove registrations that are not ours: never
        for key in keys:
            path = self.ours[key]
            step = self._cleanup_send(
                "cleanup_clear",
                f"CLEAR from {sg_key(key)} (only our keys are left)",
                CLEANUP,
                path,
                prout.clear(path.device, key),
                "exit 0",
            )
            self._judge_prout(step, want_conflict=False)
            self._done(step)
            if step.status == PASS:
                return

    def _verify(self) -> None:
        """Read the registrations through the target and every other path that registered."""
        result = self.result
        keys, reservation, known = self._read_state(VERIFY, "after cleanup")
        result.keys_after = keys
        result.reservation_after = None if reservation is None else reservation.to_dict()
        result.reservation_after_known = known
        result.pending_commands = process.abandoned_processes() - self._abandoned_before
        views = {TARGET: (keys, reservation, known)}
        for path in self._registered_elsewhere():
            path_keys = self._read_path_keys(VERIFY, path)
            state = self._read_through(
                VERIFY,
                path,
                f"{VERIFY}_read_reservation_{path.role}",
                f"READ RESERVATION through the {path.role} path",
                prout.read_reservation,
                decode_read_reservation,
            )
            views[path.role] = (
                path_keys,
                None if state is None else state.reservation,
                state is not None,
            )
        result.keys_after_by_path = {role: view[0] for role, view in views.items()}
        leftovers: "list[DiskLeftover]" = []
        found: "set[tuple[str, int]]" = set()
        for role, (seen, held, held_known) in views.items():
            if held is not None and held.key in self.ours and ("res", held.key) not in found:
                found.add(("res", held.key))
                argv = prout.release(self.ours[held.key].device, held.key, held.type_code)
                leftovers.append(
                    self._leftover(held.key, f"reservation type {held.type_code}", argv)
                )
            for key in seen or []:
                if key in self.ours and ("key", key) not in found:
                    found.add(("key", key))
                    argv = prout.unregister(self.ours[key].device, key)
                    leftovers.append(self._leftover(key, "registration", argv))
            if not held_known and self.maybe_registered:
                argv = prout.read_reservation(self.paths[role].device)
                leftovers.append(self._leftover(None, "reservation state unknown", argv, role))
        if any(view[0] is None for view in views.values()):
            for key in self.maybe_registered:
                if ("key", key) not in found:
                    argv = prout.unregister(self.ours[key].device, key)
                    leftovers.append(self._leftover(key, "registration (unverified)", argv))
        result.leftovers = leftovers
        result.cleanup_verified = not leftovers and all(
            seen is not None and sorted(seen) == sorted(self.keys_before[role]) and held_known
            for role, (seen, _, held_known) in views.items()
        )

    def _leftover(
        self, key: "int | None", what: str, argv: "list[str]", role: str = TARGET
    ) -> "DiskLeftover":
        """What cleanup left (or could not check) and the command that removes (or checks) it."""
        path = self.paths[role] if key is None else self.ours[key]
        return DiskLeftover(
            None if key is None else key_hex(key), path.role, path.device, what,
            [shell_join(argv)],
        )
