"""The cluster comparison: which LUs every node sees, and whether they can be coordinator disks.

Pure: report documents in, one comparison record out (no file access, no printing). LUs are
matched across nodes by ``facts.identity.lu_designator``; whether a path, an LU and the shared
LUs are PR-capable enough for I/O fencing's coordinator disks is judged by the rules' cluster
scope, :mod:`guestprobe.check.cluster`.
"""


import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from guestprobe.check.cluster import (
    NO,
    UNKNOWN,
    YES,
    combine,
    judge_coordinator_disks,
    path_pr_state,
)
from guestprobe.errors import BadInputError

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


def _identity(disk: "dict[str, Any]") -> str:
    identity = (disk.get("facts") or {}).get("identity") or {}
    return " ".join(filter(None, [identity.get("vendor"), identity.get("product")]))


def _units(nodes: "list[NodeReport]") -> "tuple[dict[str, dict[str, Any]], dict[str, list]]":
    """Every LU by its designator, with each node's paths to it; and each node's disks that have
    no designator (they cannot be matched)."""
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
    return units, no_designator


def _row(unit: "dict[str, Any]", names: "list[str]") -> "dict[str, Any]":
    """One LU's row: who sees it, who misses it, and whether it is PR-capable from each."""
    paths = unit["paths"]
    missing = [name for name in names if name not in paths]
    pr_by_node = {
        name: combine([path["pr_capable"] for path in paths[name]])
        for name in names
        if name in paths
    }
    shared = not missing
    return {
        **unit,
        "seen_by": [name for name in names if name in paths],
        "missing_from": missing,
        "pr_capable_by_node": pr_by_node,
        "seen_by_all": shared,
        "pr_capable_from_all": combine(list(pr_by_node.values())) if shared else NO,
    }


def compare_nodes(nodes: "list[NodeReport]") -> "dict[str, Any]":
    """The comparison record (what ``guestprobe compare --json`` prints)."""
    check_distinct_nodes(nodes)
    names = [node.name for node in nodes]
    units, no_designator = _units(nodes)
    rows = [_row(unit, names) for unit in units.values()]
    rows.sort(key=lambda row: (not row["seen_by_all"], row["lu_designator"]))
    candidates = [row["lu_designator"] for row in rows if row["pr_capable_from_all"] == YES]
    unconfirmed = [row["lu_designator"] for row in rows if row["pr_capable_from_all"] == UNKNOWN]
    coordinator = judge_coordinator_disks(candidates, unconfirmed)
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
            "candidates": coordinator.candidates,
            "candidate_count": len(coordinator.candidates),
            "largest_odd_set": coordinator.largest_odd_set,
            "enough": coordinator.enough,
            "unconfirmed": coordinator.unconfirmed,
            "reason": coordinator.text,
        },
    }


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
