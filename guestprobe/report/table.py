"""The readable table: one row per disk, and a disk x feature matrix once verdicts exist."""


from typing import Any

STATUS_SYMBOLS = {"usable": "yes", "degraded": "degr", "not_usable": "NO", "unknown": "?"}


def _short(outcome: "str | None") -> str:
    return {
        None: "-",
        "ok": "ok",
        "not_supported": "unsupp",
        "lba_out_of_range": "impl",
        "passthrough_unavailable": "blocked",
        "timed_out": "TIMEOUT",
        "skipped": "skip",
        "device_gone": "gone",
    }.get(outcome, outcome or "-")


def grid(header: "list[str]", rows: "list[list[str]]") -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def render_table(document: "dict[str, Any]") -> str:
    rows = []
    for disk in document["disks"]:
        facts = disk["facts"]
        identity = facts["identity"]
        ws = facts["write_same"]
        rows.append(
            [
                disk["name"],
                disk["transport"]["kind"]
                + (f"/{disk['transport']['mode']}" if disk["transport"]["mode"] else ""),
                " ".join(filter(None, [identity["vendor"], identity["product"]])) or "-",
                identity["lu_designator"] or "-",
                _short(facts["passthrough"]["inquiry_outcome"]),
                _short(facts["persistent_reservations"]["read_keys_outcome"]),
                _short(ws["write_same16_oor"]["outcome"]),
                disk["status"],
            ]
        )
    header = [
        "DISK",
        "TRANSPORT",
        "IDENTITY",
        "LU DESIGNATOR",
        "INQUIRY",
        "PR IN",
        "WS16",
        "STATUS",
    ]
    parts = [grid(header, rows) if rows else "No disks found."]
    matrix = _verdict_matrix(document)
    if matrix:
        parts.append(matrix)
    for group in document.get("logical_units", []):
        if group["path_count"] > 1:
            parts.append(
                f"{group['lu_designator']}: one LU through {group['path_count']} paths "
                f"({', '.join(group['disks'])})"
            )
    for verdict in document.get("guest_verdicts", []):
        parts.append(
            f"[{verdict['status']}] {verdict['title']}: {verdict['reasons'][0]['text']}"
            if verdict.get("reasons")
            else f"[{verdict['status']}] {verdict['title']}"
        )
    scan = document["scan"]
    parts.append(
        f"{scan['disk_count']} disks in {scan['duration_s']:.1f} s, "
        f"{scan['processes_started']} processes"
        + ("" if scan["complete"] else " — INCOMPLETE: a disk timed out or vanished")
    )
    return "\n\n".join(parts) + "\n"


def _verdict_matrix(document: "dict[str, Any]") -> str:
    features: "list[str]" = []
    for disk in document["disks"]:
        for verdict in disk.get("verdicts", []):
            if verdict["feature"] not in features:
                features.append(verdict["feature"])
    if not features:
        return ""
    rows = []
    for disk in document["disks"]:
        by_feature = {v["feature"]: v["status"] for v in disk.get("verdicts", [])}
        rows.append(
            [disk["name"], *[STATUS_SYMBOLS.get(by_feature.get(f, ""), "-") for f in features]]
        )
    legend = "yes = usable, degr = degraded, NO = not usable, ? = unknown (facts missing)"
    return grid(["DISK", *features], rows) + "\n" + legend
