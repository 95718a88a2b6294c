"""Facts into verdicts: evaluate the rules of ``checks/`` over a report document. Pure.

A verdict (one per feature, per disk or for the guest)::

    {"feature": "pr_fencing", "title": "...", "status": "not_usable",
     "reasons": [{"code": "virtio_blk_no_pr", "text": "..."}, ...],
     "evidence": ["vda/inquiry", ...], "remediation": [{"platform": "libvirt", "text": "..."}],
     "guide_section": "...", "missing": [], "details": {...}}

How a rule is judged: its ``needs`` must all be present (else ``unknown``, naming them); then its
cases are tried in order and the first that holds decides status and first reason. A case that
can be neither confirmed nor ruled out because a fact is missing ends the judgement with
``unknown`` naming the missing facts, unless the case says ``if_unknown = "skip"`` (a
refinement that a later case covers); otherwise the engine never skips an undecidable case.
Then every note that holds adds its reason (and remedies); notes never change the status.
"""


import os
from collections.abc import Mapping, Sequence
from typing import Any

from guestprobe.check.conditions import (
    MISSING,
    Truth,
    evaluate_all,
    evaluate_any,
    render,
    resolve,
)
from guestprobe.check.derived import contexts, source_facts
from guestprobe.check.rules import Clause, RemedyTemplate, Rule, load_rules
from guestprobe.document.model import Report
from guestprobe.document.verdict import Reason, Remedy, Verdict

__all__ = ["apply_checks", "evaluate", "judge_report"]

FACTS_MISSING = "facts_missing"
NO_CASE = "no_case_matched"


def _holds(context: "Mapping[str, Any]", when: "Any", when_any: "Any") -> "Truth":
    parts = []
    if when is not None:
        parts.append(evaluate_all(context, when))
    if when_any is not None:
        parts.append(evaluate_any(context, when_any))
    missing: "list[str]" = []
    for truth in parts:
        if truth.value is False:
            return Truth(False)
        missing.extend(p for p in truth.missing if p not in missing)
    return Truth(None, tuple(missing)) if missing else Truth(True)


def _evidence_ids(context: "Mapping[str, Any]", path: str) -> "list[str]":
    """Probe ids behind a fact path: the ``evidence`` list of the nearest enclosing fact group.

    A path outside any probed group (sysfs inventory, transport, platform, derived facts) is
    cited as ``<disk>/<path>`` (or ``guest/<path>``): the place in the report that holds it.
    """
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        group = resolve(context, ".".join(parts[:end]))
        if isinstance(group, Mapping) and isinstance(group.get("evidence"), list):
            if parts[0] == "facts":
                return [e for e in group["evidence"] if isinstance(e, str)]
            break
    return [f"{context.get('name') or 'guest'}/{path}"]


def _remediation(
    rule: "Rule", context: "Mapping[str, Any]", names: "Sequence[str]"
) -> "list[Remedy]":
    out: "list[Remedy]" = []
    for name in names:
        remedy: "RemedyTemplate" = rule.remedies[name]
        if _holds(context, remedy.when, remedy.when_any).value is not True:
            continue  # offered only where its condition holds (and no condition always holds)
        entry = Remedy(remedy.platform, render(remedy.text, context))
        if entry not in out:
            out.append(entry)
    return out


def _unknown(
    rule: "Rule", context: "Mapping[str, Any]", paths: "Sequence[str]", why: str
) -> "Verdict":
    missing = source_facts(list(paths))
    listed = ", ".join(missing)
    return _verdict(
        rule,
        context,
        "unknown",
        [Reason(FACTS_MISSING, f"Cannot judge {why}: the report lacks {listed}.")],
        list(missing),
        [],
        list(missing),
        {},
    )


def _verdict(
    rule: "Rule",
    context: "Mapping[str, Any]",
    status: str,
    reasons: "list[Reason]",
    evidence_paths: "list[str]",
    remedies: "list[str]",
    missing: "list[str]",
    details: "dict[str, Any]",
) -> "Verdict":
    evidence: "list[str]" = []
    for path in [*rule.evidence, *evidence_paths]:
        for probe_id in _evidence_ids(context, path):
            if probe_id not in evidence:
                evidence.append(probe_id)
    return Verdict(
        rule.feature,
        rule.title,
        status,
        reasons,
        evidence,
        _remediation(rule, context, remedies),
        rule.guide_section,
        missing,
        details or None,
    )


def _show(context: "Mapping[str, Any]", paths: "Sequence[str]", into: "dict[str, Any]") -> None:
    for path in paths:
        value = resolve(context, path)
        if value is not MISSING and value is not None and value != []:
            into[path] = value


def _reason(clause: "Clause", context: "Mapping[str, Any]") -> "Reason":
    return Reason(clause.code, render(clause.text, context))


def evaluate(rule: "Rule", context: "Mapping[str, Any]") -> "Verdict":
    """One rule over one context (a disk's or the guest's; see :mod:`.derived`)."""
    absent = [p for p in rule.needs if resolve(context, p) in (MISSING, None)]
    if absent:
        return _unknown(rule, context, absent, rule.title)
    for clause in rule.cases:
        truth = _holds(context, clause.when, clause.when_any)
        if truth.value is None and clause.skip_if_unknown:
            continue
        if truth.value is None:
            return _unknown(rule, context, truth.missing, f"{rule.title} (at case {clause.code})")
        if truth.value:
            break
    else:
        return _verdict(
            rule,
            context,
            "unknown",
            [Reason(NO_CASE, "No case of the rule matched these facts.")],
            [],
            [],
            [],
            {},
        )
    reasons = [_reason(clause, context)]
    evidence = list(clause.evidence)
    remedies = list(clause.remedies)
    details: "dict[str, Any]" = {}
    _show(context, clause.show, details)
    for note in rule.notes:
        if _holds(context, note.when, note.when_any).value is True:
            reasons.append(_reason(note, context))
            evidence.extend(note.evidence)
            remedies.extend(r for r in note.remedies if r not in remedies)
            _show(context, note.show, details)
    return _verdict(
        rule, context, clause.status or "unknown", reasons, evidence, remedies,
        source_facts(list(clause.missing)), details,
    )


def judge_report(report: "Report", rules: "Sequence[Rule]") -> None:
    """Fill every disk's ``verdicts`` and the report's ``guest_verdicts`` (in place). The rules
    read their fact paths in contexts made once per disk from the report's JSON form."""
    guest_context, disk_contexts = contexts(report)
    for disk, context in zip(report.disks, disk_contexts):
        disk.verdicts = [evaluate(r, context) for r in rules if r.scope == "disk"]
    report.guest_verdicts = [evaluate(r, guest_context) for r in rules if r.scope == "guest"]


def apply_checks(
    report: "Report", rules_dir: "str | os.PathLike[str] | None" = None
) -> None:
    """The report's checker: judge ``report`` with the rules of ``rules_dir`` (see
    :func:`guestprobe.check.rules.rules_dir` for where they come from)."""
    judge_report(report, load_rules(rules_dir))
