"""The one verdict type: a feature's status, its reasons (a stable code and a sentence each),
the evidence (probe ids) and the fixes. The rule engine builds these; the report carries them
(``$defs/verdict`` of document/schema.json) and every reader of a judged report gets them typed.
"""


from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from guestprobe.document.codec import Record

STATUSES = ("usable", "degraded", "not_usable", "unknown")


@dataclass(frozen=True)
class Reason(Record):
    code: str  # stable, for machines: [a-z0-9_.-]
    text: str  # the sentence, for people


@dataclass(frozen=True)
class Remedy(Record):
    platform: str  # libvirt, kubevirt, ovirt, guest, ...
    text: str


@dataclass(frozen=True)
class Verdict(Record):
    OMIT_EMPTY = ("details",)

    feature: str
    title: str
    status: str  # one of STATUSES
    reasons: "List[Reason]"
    evidence: "List[str]"  # probe ids (``sdb/pr_read_keys``) or ``<disk>/<fact path>``
    remediation: "List[Remedy]" = field(default_factory=list)
    guide_section: "Optional[str]" = None
    missing: "List[str]" = field(default_factory=list)  # facts whose absence made it unknown
    details: "Optional[Dict[str, Any]]" = None  # facts a rule shows; None: none shown

    @property
    def codes(self) -> "List[str]":
        return [reason.code for reason in self.reasons]


def verdicts_of(records: "Any") -> "List[Verdict]":
    """A verdict list as records (those of a judged report, or their JSON form)."""
    return [r if isinstance(r, Verdict) else Verdict.from_dict(r) for r in records or []]
