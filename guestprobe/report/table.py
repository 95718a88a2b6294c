"""The readable table: one row per disk, and a disk x feature matrix once verdicts exist.

Every cell is escaped (:func:`guestprobe.report.escape.terminal_text`): a vendor string that
carries an escape sequence is shown, never obeyed.
"""


from collections.abc import Callable
from typing import Any

from guestprobe.report.escape import terminal_text
from guestprobe.report.findings import ReportView, build_report_view

STATUS_SYMBOLS = {"usable": "yes", "degraded": "degr", "not_usable": "NO", "unknown": "?"}
SYMBOL_STATUS = {symbol: status for status, symbol in STATUS_SYMBOLS.items()}
LEGEND = "yes = usable, degr = degraded, NO = not usable, ? = unknown (facts missing)"


def _short(outcome: "str | None") -> str:
    return {
        None: "-",
        "": "-",
        "ok": "ok",
        "not_supported": "unsupp",
        "lba_out_of_range": "impl",
        "passthrough_unavailable": "blocked",
        "timed_out": "TIMEOUT",
        "skipped": "skip",
        "device_gone": "gone",
    }.get(outcome, outcome or "-")


def grid(
    header: "list[str]",
    rows: "list[list[str]]",
    style: "Callable[[str, Any], str] | None" = None,
    statuses: "list[list[Any]] | None" = None,
) -> str:
    """Columns padded to their widest cell; ``style(padded cell, its status)`` colours a body
    cell by the status in ``statuses`` at the same place (on a TTY)."""
    header = [terminal_text(cell) for cell in header]
    rows = [[terminal_text(cell) for cell in row] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]

    def line(cells: "list[str]", marks: "list[Any] | None") -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths)]
        if style is not None and marks is not None:
            padded = [style(cell, mark) for cell, mark in zip(padded, marks)]
        return "  ".join(padded).rstrip()

    lines = [line(header, None)]
    lines.append("  ".join("-" * width for width in widths))
    for index, row in enumerate(rows):
        lines.append(line(row, statuses[index] if statuses else None))
    return "\n".join(lines)


def render_tables(view: "ReportView", style: "Callable[[str, Any], str] | None" = None) -> str:
    """The disk table, the verdict matrix, LU groups, guest-wide verdicts and the scan line."""
    rows = [
        [
            disk.name,
            disk.transport.split(" (", 1)[0],
            disk.identity or "-",
            disk.lu_designator or "-",
            _short(disk.outcomes.get("inquiry")),
            _short(disk.outcomes.get("pr_in")),
            _short(disk.outcomes.get("ws16")),
            disk.status,
        ]
        for disk in view.disks
    ]
    header = ["DISK", "TRANSPORT", "IDENTITY", "LU DESIGNATOR", "INQUIRY", "PR IN", "WS16",
              "STATUS"]
    parts = [grid(header, rows) if rows else "No disks found."]
    if view.features:
        matrix_rows, statuses = [], []
        for disk in view.disks:
            cells = [disk.verdicts[f].status if f in disk.verdicts else None
                     for f in view.features]
            matrix_rows.append([disk.name, *[STATUS_SYMBOLS.get(c or "", "-") for c in cells]])
            statuses.append([None, *cells])
        parts.append(grid(["DISK", *view.features], matrix_rows, style, statuses) + "\n" + LEGEND)
    for group in view.lu_groups:
        if len(group.disks) > 1:
            parts.append(terminal_text(
                f"{group.lu_designator}: one LU through {len(group.disks)} paths "
                f"({', '.join(group.disks)})"
            ))
    for verdict in view.guest_verdicts:
        first = f": {verdict.reasons[0].text}" if verdict.reasons else ""
        parts.append(terminal_text(f"[{verdict.status}] {verdict.title}{first}"))
    if view.sg3_note:
        parts.append(terminal_text(view.sg3_note))
    parts.append(
        terminal_text(view.scan_summary)
        + ("" if view.complete else " — INCOMPLETE: a disk timed out or vanished")
    )
    return "\n\n".join(parts) + "\n"


def render_table(document: "dict[str, Any]") -> str:
    """The tables alone, uncoloured (what ``--brief`` prints)."""
    return render_tables(build_report_view(document))
