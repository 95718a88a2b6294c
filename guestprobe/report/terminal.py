"""The terminal report: the tables, then the findings and their fixes. Pure: returns text.

Under the matrix, every verdict that is not ``usable`` (per disk, or per LU where its paths
agree) with its status, reason codes and sentences, the facts it rests on (transport, identity,
the probes' outcomes, the reservation holder's key decoded) and the fix by number; usable
verdicts with a caveat get one line each; then each fix once, with whom it is for.

Colour only when asked (the CLI asks on a TTY without ``NO_COLOR``), and never alone: every
status is also a word. Prose wraps to ``width``; the lines of a fix that are indented (domain
XML, YAML, commands) are kept as they are, so that they can be copied. Every text taken from
the report is escaped (:mod:`.escape`) before it is laid out.
"""


import textwrap
from typing import Any

from guestprobe.report.escape import terminal_text
from guestprobe.report.findings import (
    STATUS_WORDS,
    Finding,
    Remedy,
    ReportView,
    build_report_view,
)
from guestprobe.report.table import SYMBOL_STATUS, render_tables

DEFAULT_WIDTH = 100
MIN_WIDTH = 40
_COLOURS = {"not_usable": "31", "degraded": "33", "unknown": "35", "usable": "32"}
_BOLD = "1"


class Style:
    """ANSI SGR colours when ``enabled``, else the text unchanged."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def sgr(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled and text else text

    def status(self, text: str, status: "str | None") -> str:
        code = _COLOURS.get(status or "")
        return self.sgr(text, code) if code else text

    def heading(self, text: str, width: int = 0) -> str:
        """A section title, bold, wrapped to ``width`` when given."""
        lines = _wrap(text, width, "", "") if width else [text]
        return "\n".join(self.sgr(line, _BOLD) for line in lines)

    def cell(self, padded: str, status: "Any") -> str:
        """A matrix cell: colour the symbol, not its padding."""
        if not self.enabled or status is None:
            return padded
        symbol = padded.rstrip()
        return self.status(symbol, status) + padded[len(symbol):]


def _wrap(text: str, width: int, indent: str, first: "str | None" = None) -> "list[str]":
    return textwrap.wrap(
        text,
        width=max(width, MIN_WIDTH),
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def _fix_text(text: str, width: int, indent: str) -> "list[str]":
    """A remedy's text: prose paragraphs reflowed, indented lines (XML, YAML) kept verbatim."""
    out: "list[str]" = []
    prose: "list[str]" = []

    def flush() -> None:
        if prose:
            out.extend(_wrap(" ".join(prose), width, indent))
            prose.clear()

    for raw_line in text.split("\n"):
        line = terminal_text(raw_line)
        if not line.strip():
            flush()
        elif line[:1].isspace():
            flush()
            out.append(indent + line)
        else:
            prose.append(line.strip())
    flush()
    return out


def _fix_refs(finding: "Finding") -> str:
    refs = ", ".join(f"[{i + 1}]" for i in finding.verdict.remedies)
    if refs:
        return f"fix: {refs} below"
    return "fix: none in the rules (the reason says what it takes)"


def _finding(finding: "Finding", width: int, style: "Style") -> "list[str]":
    verdict = finding.verdict
    word = STATUS_WORDS.get(verdict.status, verdict.status.upper())
    head = terminal_text(f"{word}  {finding.subject}  {verdict.feature} ({verdict.title})")
    lines = _wrap(head, width, "    ", "")
    lines[0] = style.status(word, verdict.status) + lines[0][len(word):]
    for number, reason in enumerate(verdict.reasons):
        label = "" if number == 0 else "note "
        lines += _wrap(terminal_text(f"{label}{reason.code}: {reason.text}"), width, "    ",
                       "  - ")
    for label, value in verdict.facts:
        lines += _wrap(terminal_text(f"{label}: {value}"), width, "    ", "  ")
    if verdict.missing:
        lines += _wrap(terminal_text("missing facts: " + ", ".join(verdict.missing)), width,
                       "    ", "  ")
    lines += _wrap(_fix_refs(finding), width, "    ", "  ")
    return lines


def _caveat(finding: "Finding", width: int, style: "Style") -> "list[str]":
    verdict = finding.verdict
    caveats = verdict.reasons[1:] or verdict.reasons[:1]
    refs = "".join(f" [{i + 1}]" for i in verdict.remedies)
    text = terminal_text(
        f"usable  {finding.subject}  {verdict.feature}, but "
        + "; ".join(f"{r.code}: {r.text}" for r in caveats)
        + (f" (fix{refs})" if refs else "")
    )
    lines = _wrap(text, width, "    ", "  ")
    lines[0] = "  " + style.status("usable", "usable") + lines[0][len("  usable"):]
    return lines


def _remedy(number: int, remedy: "Remedy", width: int, style: "Style") -> "list[str]":
    whom: "dict[str, list[str]]" = {}
    for who, feature in remedy.applies_to:
        whom.setdefault(who, []).append(feature)
    audience = "; ".join(f"{who}: {', '.join(features)}" for who, features in whom.items())
    head = terminal_text(f"[{number}] {remedy.platform_words} — for {audience}")
    lines = _wrap(head, width, "    ", "")
    lines[0] = style.heading(f"[{number}]") + lines[0][len(f"[{number}]"):]
    return lines + _fix_text(remedy.text, width, "    ")


def render_findings(view: "ReportView", width: int = DEFAULT_WIDTH, color: bool = False) -> str:
    """The findings, caveats and fixes under the matrix ("" when every verdict is usable)."""
    style = Style(color)
    parts: "list[str]" = []
    if view.findings:
        title = (f"FINDINGS: {len(view.findings)} verdict(s) not usable, degraded or unknown"
                 " (worst first)")
        blocks = ["\n".join(_finding(f, width, style)) for f in view.findings]
        parts.append(style.heading(title, width) + "\n" + "\n\n".join(blocks))
    if view.caveats:
        parts.append("\n".join([style.heading("USABLE, WITH A CAVEAT", width),
                                *("\n".join(_caveat(f, width, style)) for f in view.caveats)]))
    if view.remedies:
        fixes = [
            "\n".join(_remedy(i + 1, remedy, width, style))
            for i, remedy in enumerate(view.remedies)
            if remedy.applies_to
        ]
        platform = dict(view.platform)
        runs_on = ", ".join(filter(None, [platform.get("hypervisor"), platform.get("DMI")]))
        title = "FIXES (each once, with the disks it is for"
        title += f"; the guest runs on {terminal_text(runs_on)})" if runs_on else ")"
        parts.append(style.heading(title, width) + "\n"
                     + "\n\n".join(fixes))
    return "\n\n".join(parts) + ("\n" if parts else "")


def render_report(
    document: "dict[str, Any]",
    brief: bool = False,
    color: bool = False,
    width: int = DEFAULT_WIDTH,
) -> str:
    """What ``guestprobe scan`` and ``report`` print: the tables, then (unless ``brief``) the
    findings."""
    view = build_report_view(document)
    style = Style(color)
    text = render_tables(view, style.cell)
    if brief:
        return text
    findings = render_findings(view, width, color)
    return text + ("\n" + findings if findings else "")


__all__ = ["SYMBOL_STATUS", "Style", "render_findings", "render_report"]
