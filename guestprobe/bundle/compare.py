"""The cluster comparison: which LUs every node sees, and whether they can be coordinator disks.

Pure: report documents in, one comparison record out (no file access, no printing). LUs are
matched across nodes by ``facts.identity.lu_designator``. Whether a path is PR-capable is
``yes``, ``no`` or ``unknown``: ``no`` when PERSISTENT RESERVE IN / READ KEYS failed
(``read_keys_outcome`` not ``ok``) or its I/O-fencing verdict (``pr_fencing``) is ``not_usable``;
``unknown`` when READ KEYS answered but the verdict is ``unknown`` (facts missing); else ``yes``.
An LU is PR-capable from a node when every path of that node to it is. I/O fencing needs an odd
number, at least three, of coordinator disks seen and PR-capable from every node: the check
engineers otherwise do by hand with ``vxfenadm -i`` on each node.
"""


import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from guestprobe.errors import BadInputError

MIN_COORDINATOR_DISKS = 3
# the disk verdict about SCSI-3 PR I/O fencing (checks/pr_fencing.toml)
FENCING_FEATURES = ("pr_fencing",)
PR_OK_VERDICTS = ("usable", "degraded")
YES, NO, UNKNOWN = "yes", "no", "unknown"
PR_MARKS = {YES: "PR", NO: "noPR", UNKNOWN: "PR?"}


@dataclass
class NodeReport:
    """One node's report, as given on the command line."""

    source: str  # the file it came from
    document: "dict[str, Any]"  # judged with this machine's rules
    fingerprint: str = ""  # of the report as collected: the same report twice is refused
    notes: "list[str]" = field(default_factory=list)

    @property
    def hostname(self) -> "str | None":
        return (self.document.get("platform") or {}).get("hostname")

    @property
    def name(self) -> str:
        return self.hostname or self.source


def report_fingerprint(document: "dict[str, Any]") -> str:
    """What makes two reports the same collection: host, start time, every disk's raw record."""
    scan = document.get("scan") or {}
    basis = {
        "platform": document.get("platform"),
        "started_at": scan.get("started_at"),
        "disks": [(d.get("inventory"), d.get("probes")) for d in document.get("disks") or []],
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()


def check_distinct_nodes(nodes: "list[NodeReport]") -> None:
    """BadInputError when a node's report is given twice (same host name, or the same report)."""
    seen_hosts: "dict[str, str]" = {}
    seen_reports: "dict[str, str]" = {}
    for node in nodes:
        if node.fingerprint and node.fingerprint in seen_reports:
            raise BadInputError(
                f"{node.source} and {seen_reports[node.fingerprint]} are the same report: "
                "give each node's report once"
            )
        seen_reports[node.fingerprint] = node.source
        if node.hostname and node.hostname in seen_hosts:
            raise BadInputError(
                f"{node.source} and {seen_hosts[node.hostname]} both come from node "
                f"{node.hostname}: give each node's report once"
            )
        if node.hostname:
            seen_hosts[node.hostname] = node.source


def _fencing_verdicts(disk: "dict[str, Any]") -> "list[dict[str, Any]]":
    return [v for v in disk.get("verdicts") or [] if v.get("feature") in FENCING_FEATURES]


def path_pr_state(disk: "dict[str, Any]") -> "dict[str, Any]":
    """One path's PR answer: its READ KEYS outcome, its fencing verdict, and the conclusion."""
    pr = (disk.get("facts") or {}).get("persistent_reservations") or {}
    outcome = pr.get("read_keys_outcome")
    statuses = [v.get("status") for v in _fencing_verdicts(disk)]
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


def _combine(states: "list[str]") -> str:
    if NO in states:
        return NO
    return UNKNOWN if UNKNOWN in states else YES


def _identity(disk: "dict[str, Any]") -> str:
    identity = (disk.get("facts") or {}).get("identity") or {}
    return " ".join(filter(None, [identity.get("vendor"), identity.get("product")]))


def compare_nodes(nodes: "list[NodeReport]") -> "dict[str, Any]":
    """The comparison record (what ``guestprobe compare --json`` prints)."""
    check_distinct_nodes(nodes)
    names = [node.name for node in nodes]
    units: "dict[str, dict[str, Any]]" = {}
    no_designator: "dict[str, list[str]]" = {}
    for node in nodes:
        for disk in node.document.get("disks") or []:
            designator = ((disk.get("facts") or {}).get("identity") or {}).get("lu_designator")
            if not designator:
                no_designator.setdefault(node.name, []).append(disk.get("name"))
                continue
            unit = units.setdefault(
                designator,
                {
                    "lu_designator": designator,
                    "identity": _identity(disk),
                    "size_bytes": disk.get("size_bytes"),
                    "paths": {},
                },
            )
            unit["paths"].setdefault(node.name, []).append(path_pr_state(disk))
    rows = []
    for unit in units.values():
        paths = unit["paths"]
        missing = [name for name in names if name not in paths]
        pr_by_node = {
            name: _combine([path["pr_capable"] for path in paths[name]])
            for name in names
            if name in paths
        }
        shared = not missing
        rows.append(
            {
                **unit,
                "seen_by": [name for name in names if name in paths],
                "missing_from": missing,
                "pr_capable_by_node": pr_by_node,
                "seen_by_all": shared,
                "pr_capable_from_all": _combine(list(pr_by_node.values())) if shared else NO,
            }
        )
    rows.sort(key=lambda row: (not row["seen_by_all"], row["lu_designator"]))
    candidates = [row["lu_designator"] for row in rows if row["pr_capable_from_all"] == YES]
    unconfirmed = [row["lu_designator"] for row in rows if row["pr_capable_from_all"] == UNKNOWN]
    count = len(candidates)
    usable = count if count % 2 else count - 1
    enough = usable >= MIN_COORDINATOR_DISKS
    return {
        "nodes": [
            {
                "name": node.name,
                "source": node.source,
                "disk_count": len(node.document.get("disks") or []),
                "notes": node.notes,
            }
            for node in nodes
        ],
        "logical_units": rows,
        "disks_without_designator": no_designator,
        "missing_by_node": {
            name: [row["lu_designator"] for row in rows if name in row["missing_from"]]
            for name in names
        },
        "coordinator_disks": {
            "candidates": candidates,
            "candidate_count": count,
            "largest_odd_set": max(usable, 0),
            "enough": enough,
            "unconfirmed": unconfirmed,
            "reason": _coordinator_reason(count, enough, len(unconfirmed)),
        },
    }


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


def _cell(paths: "list[dict[str, Any]] | None") -> str:
    if not paths:
        return "-"
    return ",".join(
        f"{p['disk']}:{PR_MARKS[p['pr_capable']]}"
        + ("" if p["read_keys_outcome"] in (None, "ok") else f"({p['read_keys_outcome']})")
        for p in paths
    )


def render_comparison(result: "dict[str, Any]") -> str:
    """The readable form: one row per LU, one column per node, then the conclusions."""
    from guestprobe.report.escape import terminal_lines
    from guestprobe.report.table import grid

    names = [node["name"] for node in result["nodes"]]
    header = ["LU DESIGNATOR", "IDENTITY", *names, "ALL NODES", "PR FROM ALL"]
    rows = [
        [
            row["lu_designator"],
            row["identity"] or "-",
            *[_cell(row["paths"].get(name)) for name in names],
            "yes" if row["seen_by_all"] else "NO",
            {YES: "yes", NO: "NO", UNKNOWN: "?"}[row["pr_capable_from_all"]],
        ]
        for row in result["logical_units"]
    ]
    parts = [
        "Nodes: "
        + ", ".join(
            f"{n['name']} ({n['source']}, {n['disk_count']} disks)" for n in result["nodes"]
        ),
        grid(header, rows) + "\nPR = PR-capable, noPR = not, PR? = PR IN answers but the "
        "fencing verdict is unknown (facts missing), - = not seen"
        if rows
        else "No disk with an LU designator on any node.",
    ]
    for name, missing in result["missing_by_node"].items():
        if missing:
            parts.append(f"{name} does not see: {', '.join(missing)}")
    for name, disks in result["disks_without_designator"].items():
        parts.append(f"{name}: no LU designator (cannot be matched): {', '.join(disks)}")
    for node in result["nodes"]:
        parts.extend(f"{node['name']}: {note}" for note in node["notes"])
    coordinator = result["coordinator_disks"]
    verdict = "OK" if coordinator["enough"] else "NOT ENOUGH"
    parts.append(f"Coordinator disks: {verdict}: {coordinator['reason']}")
    # every name, path and note from a node's report is data: no control character gets through
    return terminal_lines("\n\n".join(parts)) + "\n"
