"""The terminal report, made to be read at 80x24. Pure: returns text.

First the header (node, when collected, kernel, sg3_utils release, platform, redacted or not),
the matrix (a row per disk, I/O fencing first), the guest-wide verdicts, then per LU the I/O
fencing verdict in one line with the reservation's holder and the one fix that matters, and the
disk table. Under them (unless brief), I/O fencing first and then worst first, every verdict
that is not ``usable`` (per disk, or per LU where its paths agree) with its status, reason codes
and sentences, the facts it rests on (transport, identity, the probes' outcomes, the
reservation holder's key decoded) and the fix by number; usable
verdicts with a caveat get one line each; then each fix once, with whom it is for.

Colour only when asked (the CLI asks on a TTY without ``NO_COLOR``), and never alone: every
status is also a word. Prose wraps to ``width``; the lines of a fix that are indented (domain
XML, YAML, commands) are kept as they are, so that they can be copied. Every text taken from
the report is escaped (:mod:`.escape`) before it is laid out.
"""


from typing import TYPE_CHECKING, Any

from guestprobe.report.escape import terminal_text
from guestprobe.report.findings import (
    NOT_USABLE,
    STATUS_WORDS,
    USABLE,
    DiskRow,
    Finding,
    Fix,
    ReportView,
    build_report_view,
    narrow_report,
)
from guestprobe.report.table import (
    MIN_WIDTH,
    SYMBOL_STATUS,
    feature_name,
    matrix_features,
    render_disks,
    render_matrix,
    wrap,
)

if TYPE_CHECKING:  # pragma: no cover
    from guestprobe.document.model import Report

DEFAULT_WIDTH = 100
_COLOURS = {"not_usable": "31", "degraded": "33", "unknown": "35", "usable": "32"}
_BOLD = "1"
SHORT_TITLES = {"pr_fencing": "I/O fencing"}


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
        lines = wrap(text, width, "", "") if width else [text]
        return "\n".join(self.sgr(line, _BOLD) for line in lines)

    def cell(self, padded: str, status: "Any") -> str:
        """A matrix cell: colour the symbol, not its padding."""
        if not self.enabled or status is None:
            return padded
        symbol = padded.rstrip()
        return self.status(symbol, status) + padded[len(symbol):]


def fix_text(text: str, width: int, indent: str) -> "list[str]":
    """A remedy's text: prose paragraphs reflowed, indented lines (XML, YAML) kept verbatim."""
    out: "list[str]" = []
    prose: "list[str]" = []

    def flush() -> None:
        if prose:
            out.extend(wrap(" ".join(prose), width, indent))
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
    lines = wrap(head, width, "    ", "")
    lines[0] = style.status(word, verdict.status) + lines[0][len(word):]
    for number, reason in enumerate(verdict.reasons):
        label = "" if number == 0 else "note "
        lines += wrap(terminal_text(f"{label}{reason.code}: {reason.text}"), width, "    ",
                       "  - ")
    for label, value in verdict.facts:
        lines += wrap(terminal_text(f"{label}: {value}"), width, "    ", "  ")
    if verdict.missing:
        lines += wrap(terminal_text("missing facts: " + ", ".join(verdict.missing)), width,
                       "    ", "  ")
    lines += wrap(_fix_refs(finding), width, "    ", "  ")
    return lines


def _caveat(finding: "Finding", width: int, style: "Style") -> "list[str]":
    verdict = finding.verdict
    caveats = verdict.reasons[1:] or verdict.reasons[:1]
    refs = "".join(f" [{i + 1}]" for i in verdict.remedies)
    text = terminal_text(
        f"usable  {finding.subject}  {verdict.feature}, but "
        + "; ".join(f"{r.code}: {r.text.rstrip('.')}" for r in caveats) + "."
        + (f" (fix{refs})" if refs else "")
    )
    lines = wrap(text, width, "    ", "  ")
    lines[0] = "  " + style.status("usable", "usable") + lines[0][len("  usable"):]
    return lines


def _remedy(number: int, remedy: "Fix", width: int, style: "Style") -> "list[str]":
    whom: "dict[str, list[str]]" = {}
    for who, feature in remedy.applies_to:
        whom.setdefault(who, []).append(feature)
    audience = "; ".join(f"{who}: {', '.join(features)}" for who, features in whom.items())
    head = terminal_text(f"[{number}] {remedy.platform_words} — for {audience}")
    lines = wrap(head, width, "    ", "")
    lines[0] = style.heading(f"[{number}]") + lines[0][len(f"[{number}]"):]
    return lines + fix_text(remedy.text, width, "    ")


def render_findings(view: "ReportView", width: int = DEFAULT_WIDTH, color: bool = False) -> str:
    """The findings, caveats and fixes under the matrix ("" when every verdict is usable)."""
    style = Style(color)
    parts: "list[str]" = []
    if view.findings:
        count = len(view.findings)
        title = (f"FINDINGS: {count} {'verdict' if count == 1 else 'verdicts'} not usable, "
                 "degraded or unknown (I/O fencing first, then the worst first)")
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
        title = "FIXES (each once, with the disks it is for"
        if _platform_known(view):
            title += f"; the guest runs on {terminal_text(_runs_on(view))})"
        else:
            title += "; the hypervisor is unknown, so no hypervisor's own fixes are given)"
        parts.append(style.heading(title, width) + "\n"
                     + "\n\n".join(fixes))
    return "\n\n".join(parts) + ("\n" if parts else "")


def _runs_on(view: "ReportView") -> str:
    hypervisor, dmi = view.platform.hypervisor, view.platform.dmi
    return f"{hypervisor} ({dmi})" if hypervisor and dmi else hypervisor or dmi or "unknown"


def _platform_known(view: "ReportView") -> bool:
    return view.platform.hypervisor not in ("", "unknown")


def render_header(view: "ReportView", width: int) -> "list[str]":
    """Whose report it is: node and time, then kernel, sg3_utils, platform, redaction."""
    platform = view.platform
    first = (f"node {view.hostname or '(unknown)'}, collected "
             f"{platform.scan_started or view.generated_at or '(unknown)'}")
    second = ", ".join([
        f"kernel {platform.kernel or '(unknown)'}",
        f"sg3_utils {platform.sg3_utils or '(not found)'}",
        f"platform {_runs_on(view)}",
        "REDACTED (host names, serials, WWIDs, LU designators replaced)" if view.redacted
        else "not redacted",
    ])
    return wrap(terminal_text(first), width, "  ", "") + wrap(terminal_text(second), width,
                                                               "  ", "")


def _guest_lines(view: "ReportView", width: int, style: "Style") -> "list[str]":
    """The guest-wide verdicts: the usable ones on one line, each other with its reason."""
    lines = []
    usable = [v.title for v in view.guest_verdicts if v.status == USABLE]
    if usable:
        word = style.status("usable", USABLE)
        lines += wrap(terminal_text(f"guest  usable: {', '.join(usable)}"), width, "    ", "")
        lines[0] = lines[0].replace("usable", word, 1)
    for verdict in view.guest_verdicts:
        if verdict.status == USABLE:
            continue
        word = STATUS_WORDS.get(verdict.status, verdict.status.upper())
        reason = verdict.reasons[0] if verdict.reasons else None
        text = f"guest  {verdict.title}: {word}"
        if reason is not None:
            text += f" ({reason.code}): {reason.text}"
        out = wrap(terminal_text(text), width, "    ", "")
        out[0] = out[0].replace(word, style.status(word, verdict.status), 1)
        lines += out
    return lines


def _lu_subjects(view: "ReportView") -> "list[tuple[str, list[DiskRow]]]":
    """(subject, its disks) per LU: the paths of one LU together, each other disk alone."""
    by_name = {disk.name: disk for disk in view.disks}
    grouped: "dict[str, list[DiskRow]]" = {}
    for group in view.lu_groups:
        paths = [by_name[n] for n in group.disks if n in by_name]
        if len(paths) > 1:
            for disk in paths:
                grouped[disk.name] = paths
    out, seen = [], set()
    for disk in view.disks:
        if disk.name in seen:
            continue
        paths = grouped.get(disk.name, [disk])
        seen.update(p.name for p in paths)
        names = ", ".join(p.name for p in paths)
        out.append((names if len(paths) == 1 else f"{names} (one LU)", paths))
    return out


def render_answers(view: "ReportView", width: int, style: "Style") -> "list[str]":
    """Per LU, the lead feature's verdict (I/O fencing where judged) in one line with its
    holder and the one fix that matters, then the other features that are not usable."""
    features = matrix_features(view)
    if not features or not view.disks:
        return []
    lead = features[0]
    title = SHORT_TITLES.get(lead) or view.feature_titles.get(lead, lead)
    lines = [style.heading(f"PER LU: {title} first, then what else is not usable", width)]
    for subject, paths in _lu_subjects(view):
        verdict = paths[0].verdicts.get(lead)
        if verdict is None:
            continue
        word = STATUS_WORDS.get(verdict.status, verdict.status.upper())
        text = f"{subject}  {title}: {word}"
        if verdict.reasons:
            text += f" ({verdict.reasons[0].code})"
        if any(p.verdicts.get(lead) is None or p.verdicts[lead].status != verdict.status
               for p in paths):
            text += " on the first path; the paths disagree"
        if paths[0].holder:
            text += f", held by {paths[0].holder}"
        out = wrap(terminal_text(text), width, "    ", "")
        out[0] = out[0].replace(word, style.status(word, verdict.status), 1)
        if verdict.remedies:
            index = verdict.remedies[0]
            out += wrap(terminal_text(f"fix [{index + 1}]: {view.remedies[index].headline}"), width,
                        "      ", "    ")
        others: "dict[str, list[str]]" = {}
        for feature in features[1:]:
            other = paths[0].verdicts.get(feature)
            if other is not None and other.status != USABLE:
                others.setdefault(other.status, []).append(feature_name(feature, other.title))
        if others:
            text = "; ".join(f"{STATUS_WORDS.get(status, status)}: {', '.join(titles)}"
                             for status, titles in sorted(others.items(),
                                                          key=lambda s: s[0] != NOT_USABLE))
            out += wrap(terminal_text(f"also {text}"), width, "      ", "    ")
        lines += out
    return lines


def render_report(
    report: "Report",
    brief: bool = False,
    color: bool = False,
    width: int = DEFAULT_WIDTH,
    redacted: bool = False,
    disks: "tuple[str, ...]" = (),
    features: "tuple[str, ...]" = (),
) -> str:
    """What ``guestprobe scan`` and ``report`` print: the first screen (header, matrix,
    guest-wide verdicts, the answer per LU, the disk table), then (unless ``brief``) the
    findings. ``disks`` and ``features`` narrow it (ValueError: not in the report)."""
    if disks or features:
        report = narrow_report(report, disks, features)
    view = build_report_view(report, redacted)
    style = Style(color)
    width = max(width, MIN_WIDTH)
    parts = ["\n".join(render_header(view, width))]
    if view.features:
        parts.append(render_matrix(view, style.cell, width))
    guest = _guest_lines(view, width, style)
    if guest:
        parts.append("\n".join(guest))
    answers = render_answers(view, width, style)
    if answers:
        parts.append("\n".join(answers))
    parts.append(render_disks(view, width))
    for group in view.lu_groups:
        if len(group.disks) > 1:
            parts.append("\n".join(wrap(terminal_text(
                f"{group.lu_designator}: one LU through {len(group.disks)} paths "
                f"({', '.join(group.disks)})"), width, "  ", "")))
    if view.sg3_note:
        parts.append("\n".join(wrap(terminal_text(view.sg3_note), width, "  ", "")))
    parts.append(terminal_text(view.scan_summary)
                 + ("" if view.complete else " \u2014 INCOMPLETE: a disk timed out or vanished"))
    text = "\n\n".join(parts) + "\n"
    if brief:
        return text
    findings = render_findings(view, width, color)
    return text + ("\n" + findings if findings else "")


def render_table(report: "Report") -> str:
    """The first screen alone, uncoloured (what ``--brief`` prints)."""
    return render_report(report, brief=True)


__all__ = ["SYMBOL_STATUS", "Style", "render_findings", "render_report", "render_table", "wrap"]
