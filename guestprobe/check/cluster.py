"""Cluster-scope judgement: whether a path, an LU and the cluster's shared LUs can carry SCSI-3
I/O fencing's coordinator disks. Pure; used by ``guestprobe compare``
(:mod:`guestprobe.bundle.compare` matches the LUs across nodes, this module judges them).

Whether a path is PR-capable is ``yes``, ``no`` or ``unknown``: ``no`` when PERSISTENT RESERVE
IN / READ KEYS failed (``read_keys_outcome`` not ``ok``) or its I/O-fencing verdict
(``pr_fencing``) is ``not_usable``; ``unknown`` when READ KEYS answered but the verdict is
``unknown`` (facts missing); else ``yes``. An LU is PR-capable from a node when every path of that
node to it is. I/O fencing needs an odd number, at least three, of coordinator disks seen and
PR-capable from every node: the check engineers otherwise do by hand with ``vxfenadm -i``.

Stable codes of the coordinator-disk judgement: ``coordinator_disks_enough``,
``too_few_coordinator_disks``.
"""


from dataclasses import dataclass
from typing import Any

from guestprobe.check.verdict import Verdict, verdicts_of

MIN_COORDINATOR_DISKS = 3
# the disk verdict about SCSI-3 PR I/O fencing (checks/pr_fencing.toml)
FENCING_FEATURES = ("pr_fencing",)
PR_OK_VERDICTS = ("usable", "degraded")
YES, NO, UNKNOWN = "yes", "no", "unknown"

COORDINATOR_DISKS_ENOUGH = "coordinator_disks_enough"
TOO_FEW_COORDINATOR_DISKS = "too_few_coordinator_disks"


def _fencing_verdicts(disk: "dict[str, Any]") -> "list[Verdict]":
    return [v for v in verdicts_of(disk.get("verdicts")) if v.feature in FENCING_FEATURES]


def path_pr_state(disk: "dict[str, Any]") -> "dict[str, Any]":
    """One path's PR answer: its READ KEYS outcome, its fencing verdict, and the conclusion."""
    pr = (disk.get("facts") or {}).get("persistent_reservations") or {}
    outcome = pr.get("read_keys_outcome")
    statuses = [v.status for v in _fencing_verdicts(disk)]
    if outcome != "ok" or any(s not in (*PR_OK_VERDICTS, "unknown") for s in statuses):
        state = NO
    elif "unknown" in statuses:
        state = UNKNOWN
    else:
        state = YES
    return {
        "disk": disk.get("name"),
        "read_keys_outcome": outcome,
        "fencing_verdicts": statuses,
        "pr_capable": state,
    }


def combine(states: "list[str]") -> str:
    """PR-capable over several paths (or nodes): ``no`` if any is, else ``unknown`` if any is."""
    if NO in states:
        return NO
    return UNKNOWN if UNKNOWN in states else YES


@dataclass(frozen=True)
class CoordinatorJudgement:
    """Whether the LUs shared by every node can hold the coordinator disks."""

    code: str
    candidates: "list[str]"  # LU designators seen and PR-capable from every node
    unconfirmed: "list[str]"  # seen by all, PR IN answers, verdict unknown
    largest_odd_set: int
    enough: bool
    text: str


def judge_coordinator_disks(
    candidates: "list[str]", unconfirmed: "list[str]"
) -> "CoordinatorJudgement":
    """``candidates``: the LUs seen and PR-capable from every node; an odd number, at least 3."""
    count = len(candidates)
    usable = count if count % 2 else count - 1
    enough = usable >= MIN_COORDINATOR_DISKS
    return CoordinatorJudgement(
        COORDINATOR_DISKS_ENOUGH if enough else TOO_FEW_COORDINATOR_DISKS,
        candidates,
        unconfirmed,
        max(usable, 0),
        enough,
        _coordinator_reason(count, enough, len(unconfirmed)),
    )


def _coordinator_reason(count: int, enough: bool, unconfirmed: int) -> str:
    lus = "LU is" if count == 1 else "LUs are"
    if enough:
        odd = count if count % 2 else count - 1
        return (
            f"{count} {lus} seen and PR-capable from every node: "
            f"enough for {odd} coordinator disks (an odd number, at least 3)"
        )
    text = (
        f"only {count} {lus} seen and PR-capable from every node: SCSI-3 I/O fencing needs an "
        "odd number of coordinator disks, at least 3"
    )
    if unconfirmed:
        text += f" ({unconfirmed} more seen by all answer PR IN but their verdict is unknown)"
    return text
