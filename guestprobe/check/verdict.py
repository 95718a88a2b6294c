"""The one verdict type: a feature's status, its reasons (a stable code and a sentence each),
the evidence (probe ids) and the fixes. The engine builds these; the report carries
``Verdict.to_dict()`` (``$defs/verdict`` of report/schema.json), and readers of a judged
document get them back with ``Verdict.from_dict``.
"""


from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

STATUSES = ("usable", "degraded", "not_usable", "unknown")


@dataclass(frozen=True)
class Reason:
    code: str  # stable, for machines: [a-z0-9_.-]
    text: str  # the sentence, for people

    def to_dict(self) -> "Dict[str, str]":
        return {"code": self.code, "text": self.text}

    @classmethod
    def from_dict(cls, data: "Dict[str, Any]") -> "Reason":
        return cls(data["code"], data["text"])


@dataclass(frozen=True)
class Remediation:
    platform: str  # libvirt, kubevirt, ovirt, guest, ...
    text: str

    def to_dict(self) -> "Dict[str, str]":
        return {"platform": self.platform, "text": self.text}

    @classmethod
    def from_dict(cls, data: "Dict[str, Any]") -> "Remediation":
        return cls(data["platform"], data["text"])


@dataclass(frozen=True)
class Verdict:
    feature: str
    title: str
    status: str  # one of STATUSES
    reasons: "List[Reason]"
    evidence: "List[str]"  # probe ids (``sdb/pr_read_keys``) or ``<disk>/<fact path>``
    remediation: "List[Remediation]" = field(default_factory=list)
    guide_section: "Optional[str]" = None
    missing: "List[str]" = field(default_factory=list)  # facts whose absence made it unknown
    details: "Optional[Dict[str, Any]]" = None  # facts a rule shows; None: none shown

    def to_dict(self) -> "Dict[str, Any]":
        out: "Dict[str, Any]" = {
            "feature": self.feature,
            "title": self.title,
            "status": self.status,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "evidence": list(self.evidence),
            "remediation": [entry.to_dict() for entry in self.remediation],
            "guide_section": self.guide_section,
            "missing": list(self.missing),
        }
        if self.details:
            out["details"] = self.details
        return out

    @classmethod
    def from_dict(cls, data: "Dict[str, Any]") -> "Verdict":
        return cls(
            feature=data["feature"],
            title=data["title"],
            status=data["status"],
            reasons=[Reason.from_dict(r) for r in data["reasons"]],
            evidence=list(data["evidence"]),
            remediation=[Remediation.from_dict(r) for r in data.get("remediation") or []],
            guide_section=data.get("guide_section"),
            missing=list(data.get("missing") or []),
            details=data.get("details"),
        )

    @property
    def codes(self) -> "List[str]":
        return [reason.code for reason in self.reasons]


def verdicts_of(records: "Any") -> "List[Verdict]":
    """A judged document's verdict list (``disk["verdicts"]``, ``guest_verdicts``), typed."""
    return [Verdict.from_dict(record) for record in records or []]
