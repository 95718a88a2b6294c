"""The readable table: one row per disk, and a disk x feature matrix once verdicts exist.

Every cell is escaped (:func:`guestprobe.report.escape.terminal_text`): a vendor string that
carries an escape sequence is shown, never obeyed.
"""


import re
import textwrap
from collections.abc import Callable
from typing import Any

from guestprobe.report.escape import terminal_text
from guestprobe.report.findings import ReportView

MIN_WIDTH = 40
STATUS_SYMBOLS = {"usable": "yes", "degraded": "degr", "not_usable": "NO", "unknown": "?"}
SYMBOL_STATUS = {symbol: status for status, symbol in STATUS_SYMBOLS.items()}
LEGEND = "yes = usable, degr = degraded, NO = not usable, ? = unknown (facts missing)"


def wrap(text: str, width: int, indent: str, first: "str | None" = None) -> "list[str]":
    return textwrap.wrap(
        text,
        width=max(width, MIN_WIDTH),
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


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


# the matrix's column heads, four letters each, and the short names the legend gives them
FEATURE_HEADS = {
    "pr_fencing": ("FENC", "I/O fencing"),
    "discovery": ("DISC", "discovery"),
    "naming": ("NAME", "naming"),
    "fast_recovery": ("FAST", "fast recovery"),
    "thin_reclaim": ("THIN", "thin reclamation"),
    "resize": ("RSIZ", "online resize"),
    "hot_plug": ("HPLG", "hot plug"),
    "host_cache": ("CACH", "host cache"),
    "vxfs": ("VXFS", "VxFS integrity"),
}
_TRANSPORT_SHORT = (("virtio-scsi/", "vscsi/"), ("passthrough", "lun"), ("emulated", "emu"),
                    ("virtio-blk", "vblk"), ("device-mapper", "dm"))


def feature_name(feature: str, title: str = "") -> str:
    """A feature's short name ("fast recovery"), else its title."""
    return FEATURE_HEADS.get(feature, ("", ""))[1] or title or feature


def feature_head(feature: str) -> str:
    return FEATURE_HEADS.get(feature, (feature[:4].upper(), ""))[0]


def matrix_features(view: "ReportView") -> "list[str]":
    """The matrix's features, I/O fencing first."""
    return sorted(view.features, key=lambda f: f != "pr_fencing")


def _short_transport(transport: str) -> str:
    for long, short in _TRANSPORT_SHORT:
        transport = transport.replace(long, short)
    return transport


_SGR = re.compile("\x1b\\[[0-9;]*m")


def _widest(text: str) -> int:
    return max((len(_SGR.sub("", line)) for line in text.split("\n")), default=0)


def fitted(variants: "list[Callable[[], str]]", width: int) -> str:
    """The first variant whose lines fit ``width`` columns, else the last."""
    text = ""
    for variant in variants:
        text = variant()
        if _widest(text) <= width:
            break
    return text


def _words_legend(pairs: "list[tuple[str, str]]", width: int) -> str:
    return "\n".join(wrap(", ".join(f"{head} {name}" for head, name in pairs), width, "  ", ""))


def render_matrix(
    view: "ReportView", style: "Callable[[str, Any], str] | None" = None, width: int = 100
) -> str:
    """One row per disk: its transport and a cell per feature (I/O fencing first), then the
    legend of the column heads and symbols; the transport shortened, or left out, to fit."""
    features = matrix_features(view)
    cells = [[d.verdicts[f].status if f in d.verdicts else None for f in features]
             for d in view.disks]
    symbols = [[STATUS_SYMBOLS.get(c or "", "-") for c in row] for row in cells]
    heads = [feature_head(f) for f in features]

    def table(transport: "Callable[[str], str] | None") -> str:
        if transport is None:
            return grid(["DISK", *heads], [[d.name, *row] for d, row in zip(view.disks, symbols)],
                        style, [[None, *row] for row in cells])
        rows = [[d.name, transport(d.transport.split(" (", 1)[0]), *row]
                for d, row in zip(view.disks, symbols)]
        return grid(["DISK", "TRANSPORT", *heads], rows, style,
                    [[None, None, *row] for row in cells])

    text = fitted([lambda: table(str), lambda: table(_short_transport), lambda: table(None)],
                  width)
    legend = _words_legend(
        [(feature_head(f), feature_name(f, view.feature_titles.get(f, ""))) for f in features],
        width)
    return text + "\n" + legend + "\n" + _words_legend(
        [(symbol, STATUS_WORDS_LOWER[status]) for status, symbol in STATUS_SYMBOLS.items()],
        width)


STATUS_WORDS_LOWER = {"usable": "usable", "degraded": "degraded", "not_usable": "not usable",
                      "unknown": "unknown (facts missing)"}


def _short_designator(designator: str) -> str:
    if len(designator) <= 20:
        return designator
    return designator[:8] + "\u2026" + designator[-8:]


def render_disks(view: "ReportView", width: int = 100) -> str:
    """The disk table: identity, LU designator, the first probes' outcomes (and the status
    where a disk was not probed to the end); the designator shortened, or stacked, to fit."""
    if not view.disks:
        return "No disks found."
    status = any(d.status != "probed" for d in view.disks)

    def table(designator: "Callable[[str], str] | None") -> str:
        header = ["DISK", "IDENTITY", "LU DESIGNATOR", "INQUIRY", "PR IN", "WS16"]
        header += ["STATUS"] if status else []
        if designator is None:
            header.remove("IDENTITY")
            header.remove("LU DESIGNATOR")
        rows = []
        for disk in view.disks:
            row = [disk.name]
            if designator is not None:
                row += [disk.identity or "-", designator(disk.lu_designator) or "-"]
            row += [_short(disk.outcomes.get(k)) for k in ("inquiry", "pr_in", "ws16")]
            rows.append(row + ([disk.status] if status else []))
        text = grid(header, rows)
        if designator is None:
            for disk in view.disks:
                text += "\n" + "\n".join(wrap(terminal_text(
                    f"{disk.name}: {disk.identity or '-'}, LU {disk.lu_designator or '-'}"),
                    width, "    ", "  "))
        return text

    return fitted([lambda: table(str), lambda: table(_short_designator), lambda: table(None)],
                  width)


def render_tables(
    view: "ReportView", style: "Callable[[str, Any], str] | None" = None, width: int = 100
) -> str:
    """The matrix and the disk table (the header, guest-wide lines and LU answers are
    :mod:`.terminal`'s)."""
    parts = []
    if view.features:
        parts.append(render_matrix(view, style, width))
    parts.append(render_disks(view, width))
    return "\n\n".join(parts) + "\n"
