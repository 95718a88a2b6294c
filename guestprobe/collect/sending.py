"""Send one sg3_utils command: the one place that retries a UNIT ATTENTION.

Used by the scan (collect/probe.py) and by fencing-test (fencing/sequence.py), whichever engine
runs the command (the executable, or libsgutils2 through collect/lib_engine.py). A UNIT ATTENTION
(reset, power on, reservations preempted by another host) is reported once per condition, so the
same command is sent once more; the record says so. ``retry_killed`` (fencing-test's cleanup): a
command killed by a signal is sent again, that many times at most.
"""


import contextlib
import typing
from dataclasses import dataclass, field

from guestprobe.collect.process import CommandResult
from guestprobe.collect.sg3 import SG_LIB_CAT_UNIT_ATTENTION, interpret_command

Runner = typing.Callable[[typing.Sequence[str], float], CommandResult]
STDERR_LIMIT = 4000  # characters of a command's stderr kept in a record (the last ones)
UNIT_ATTENTION_RETRIES = 1


@dataclass
class Sent:
    """What sending one command (with its retries) showed; the last attempt's answer."""

    attempts: int = 0
    duration_s: float = 0.0
    exit_status: "int | None" = None
    exit_statuses: "list[int | None]" = field(default_factory=list)  # one per attempt
    stdout: bytes = b""
    stderr: str = ""
    outcome: str = "other_error"
    exit_meaning: "str | None" = None


def send(
    run: "Runner",
    argv: "typing.Sequence[str]",
    timeout_s: float,
    response_due: bool = False,
    retry_killed: int = 0,
    around: "typing.Callable[[], typing.ContextManager[typing.Any]] | None" = None,
) -> "Sent":
    """Run ``argv`` through ``run``; again after a UNIT ATTENTION (once) or a kill signal.

    ``around`` wraps each attempt (fencing-test's signal guard).
    """
    sent = Sent()
    unit_attention_retries = UNIT_ATTENTION_RETRIES
    while True:
        with around() if around is not None else contextlib.ExitStack():
            command = run(argv, timeout_s)
        sent.attempts += 1
        sent.duration_s += command.duration_s
        sent.exit_status = command.exit_status
        sent.exit_statuses.append(command.exit_status)
        sent.stdout = command.stdout
        sent.stderr = command.stderr_text[-STDERR_LIMIT:]
        outcome, sent.exit_meaning = interpret_command(command, timeout_s, response_due)
        sent.outcome = outcome.value
        if command.exit_status == SG_LIB_CAT_UNIT_ATTENTION and unit_attention_retries:
            unit_attention_retries -= 1
            continue
        killed = command.exit_status is not None and command.exit_status < 0
        if killed and retry_killed:
            retry_killed -= 1
            continue
        break
    if SG_LIB_CAT_UNIT_ATTENTION in sent.exit_statuses[:-1]:
        sent.exit_meaning = f"{sent.exit_meaning} (after a UNIT ATTENTION, sent again)"
    if any(status is not None and status < 0 for status in sent.exit_statuses[:-1]):
        sent.exit_meaning = f"{sent.exit_meaning} (sent again after it was killed by a signal)"
    return sent
