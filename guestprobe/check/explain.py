"""A rule in words, for support staff and users (``guestprobe explain [FEATURE]``)."""


import textwrap
from collections.abc import Mapping
from typing import Any

from guestprobe.check.conditions import split_test
from guestprobe.check.rules import Clause, Rule

_OPERATOR_WORDS = {
    "eq": "is {}",
    "ne": "is not {}",
    "in": "is one of {}",
    "not_in": "is none of {}",
    "lt": "is below {}",
    "le": "is at most {}",
    "gt": "is above {}",
    "ge": "is at least {}",
    "contains": "contains {}",
    "lacks": "does not contain {}",
}


def _value_words(value: "Any") -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value_words(v) for v in value) + "]"
    return str(value)


def condition_words(condition: "Mapping[str, Any]") -> str:
    """``{"transport.kind": "virtio-blk"}`` -> ``transport.kind is virtio-blk``."""
    parts = []
    for path, test in condition.items():
        operator, operand = split_test(test)
        if operator in ("exists", "missing"):
            present = operand if operator == "exists" else not operand
            parts.append(f"{path} is {'present' if present else 'missing'}")
        else:
            parts.append(f"{path} {_OPERATOR_WORDS[operator].format(_value_words(operand))}")
    return " and ".join(parts)


def clause_condition_words(clause: "Clause") -> str:
    parts = []
    if clause.when is not None:
        parts.append(condition_words(clause.when))
    if clause.when_any is not None:
        alternatives = " OR ".join(f"({condition_words(c)})" for c in clause.when_any)
        parts.append(f"any of: {alternatives}")
    return " and ".join(parts) if parts else "otherwise"


def explain_rule(rule: "Rule") -> str:
    """A rule in words."""
    wrap = textwrap.TextWrapper(width=96, initial_indent="    ", subsequent_indent="    ")
    lines = [
        f"{rule.feature}: {rule.title} (per {rule.scope}; {rule.source})",
        f"  Guide section: {rule.guide_section}",
        "",
        *(wrap.fill(p) for p in rule.summary.split("\n\n")),
        "",
        f"  Needs: {', '.join(rule.needs) or 'nothing'} (missing -> unknown)",
        "  Cases, first that holds decides:",
    ]
    for number, case in enumerate(rule.cases, 1):
        skip = " [passed over when undecidable]" if case.skip_if_unknown else ""
        lines.append(f"  {number}. if {clause_condition_words(case)}{skip}")
        lines.append(f"     -> {case.status} [{case.code}] {case.text}")
        if case.remedies:
            lines.append(f"     remedies: {', '.join(case.remedies)}")
    if rule.notes:
        lines.append("  Notes, each added when it holds:")
        for note in rule.notes:
            lines.append(f"  - if {clause_condition_words(note)}: [{note.code}] {note.text}")
    used = {name for c in (*rule.cases, *rule.notes) for name in c.remedies}
    if used:
        lines.append("  Remedies:")
        for name in sorted(used):
            remedy = rule.remedies[name]
            where = ""
            if remedy.when is not None:
                where = f" (only where {condition_words(remedy.when)})"
            lines.append(f"  * {name} [{remedy.platform}]{where}:")
            lines.extend("      " + line for line in remedy.text.splitlines())
    return "\n".join(lines) + "\n"


def explain_code(rules: "list[Rule]", code: str) -> "str | None":
    """Where a reason code (``reserved_by_other``) comes from: each rule, case or note that
    gives it, with its condition, status, sentence and remedies; None when no rule has it."""
    wrap = textwrap.TextWrapper(width=96, initial_indent="    ", subsequent_indent="    ")
    lines: "list[str]" = []
    for rule in rules:
        for kind, clauses in (("case", rule.cases), ("note", rule.notes)):
            for number, clause in enumerate(clauses, 1):
                if clause.code != code:
                    continue
                status = clause.status if kind == "case" else "a note (the status stays)"
                lines += [
                    f"{code}: {rule.feature} ({rule.title}), {kind} {number} of {rule.source}",
                    f"  status: {status}",
                    f"  when: {clause_condition_words(clause)}",
                    "  says:",
                    wrap.fill(clause.text),
                ]
                if clause.remedies:
                    lines.append(f"  remedies: {', '.join(clause.remedies)}")
                lines += [f"  the whole rule: guestprobe explain {rule.feature}", ""]
    return "\n".join(lines) if lines else None
