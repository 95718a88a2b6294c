"""The cluster comparison: which LUs every node sees, and whether they can be coordinator disks.

Pure: typed reports in, one comparison record out (no file access, no printing). LUs are
matched across nodes by ``facts.identity.lu_designator``; whether a path, an LU and the shared
LUs are PR-capable enough for I/O fencing's coordinator disks is judged by the rules' cluster
scope, :mod:`guestprobe.check.cluster`.
"""


from dataclasses import dataclass, field
from typing import Any

from guestprobe.check.cluster import (
    FREE_USES,
    LU_VERITAS_KEYS_CLUSTER_UNKNOWN,
    NO,
    UNKNOWN,
    YES,
    ClusterVerdict,
    combine,
    holders,
    judge_coordinator_disks,
    judge_lu,
    path_pr_state,
    shared_host_initiators,
)
from guestprobe.document.compare import (
    ComparedNode,
    Comparison,
    CoordinatorDisks,
    JoinedHostDisk,
    LuRow,
    PathState,
    report_fingerprint,
)
from guestprobe.document.model import DiskReport, Report
from guestprobe.errors import BadInputError

__all__ = ["NodeReport", "compare_nodes", "holder_cell", "render_comparison",
           "report_fingerprint"]

PR_MARKS = {YES: "PR", NO: "noPR", UNKNOWN: "PR?"}


@dataclass
class NodeReport:
    """One node's report, as given on the command line."""

    source: str  # the file it came from
    report: "Report"  # judged with this machine's rules
    fingerprint: str = ""  # of the report as collected: the same report twice is refused
    notes: "list[str]" = field(default_factory=list)
    host: "str | None" = None  # compare --host: the host view its disks were joined with

    @property
    def hostname(self) -> "str | None":
        return self.report.platform.hostname

    @property
    def name(self) -> str:
        return self.hostname or self.source


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


def _host_disk(node: "NodeReport", disk: "DiskReport") -> "JoinedHostDisk | None":
    """The host disk (``--host``) this node's disk was joined with, and which host it is on."""
    join = node.report.host_join
    joined = None if join is None else join.disks.get(disk.name)
    if joined is None or not joined.disk or node.host is None:
        return None
    return JoinedHostDisk.of(node.host, joined.disk)


@dataclass
class _Unit:
    """One LU being gathered: each node's paths to it, the host disks they were joined with."""

    lu_designator: str
    identity: str
    size_bytes: "int | None"
    paths: "dict[str, list[PathState]]" = field(default_factory=dict)
    host_disks: "dict[str, list[JoinedHostDisk]]" = field(default_factory=dict)


def _units(nodes: "list[NodeReport]") -> "tuple[dict[str, _Unit], dict[str, list[str]]]":
    """Every LU by its designator, with each node's paths to it (two paths of one node stay
    that node's: never "shared"); and each node's disks that have no designator."""
    units: "dict[str, _Unit]" = {}
    no_designator: "dict[str, list[str]]" = {}
    for node in nodes:
        for disk in node.report.disks:
            if disk.transport.kind in ("device-mapper", "md"):
                continue  # a map above the paths carries their designator: not a path
            designator = disk.facts.identity.lu_designator
            if not designator:
                no_designator.setdefault(node.name, []).append(disk.name)
                continue
            unit = units.get(designator)
            if unit is None:
                unit = units[designator] = _Unit(
                    designator, disk.facts.identity.vendor_product, disk.size_bytes
                )
            unit.paths.setdefault(node.name, []).append(path_pr_state(disk))
            host_disk = _host_disk(node, disk)
            if host_disk is not None:
                unit.host_disks.setdefault(node.name, []).append(host_disk)
    return units, no_designator


def _row(unit: "_Unit", names: "list[str]", cluster_id: "int | None") -> "LuRow":
    """One LU's row: who sees it, whether PR-capable where seen, its holder, its verdicts."""
    paths = unit.paths
    missing = [name for name in names if name not in paths]
    pr_where_seen, verdicts, use = judge_lu(unit.lu_designator, paths, names, cluster_id)
    verdicts += shared_host_initiators(unit.lu_designator, unit.host_disks)
    seen_by_all = not missing
    return LuRow(
        lu_designator=unit.lu_designator,
        identity=unit.identity,
        size_bytes=unit.size_bytes,
        paths=paths,
        host_disks=unit.host_disks,
        seen_by=[name for name in names if name in paths],
        missing_from=missing,
        pr_capable_by_node={
            name: combine([path.pr_capable for path in paths[name]])
            for name in names
            if name in paths
        },
        seen_by_all=seen_by_all,
        pr_capable_where_seen=pr_where_seen,
        pr_capable_from_all=pr_where_seen if seen_by_all else NO,
        holders=holders(paths),
        use=use,
        verdicts=verdicts,
    )


def _candidate(row: "LuRow") -> str:
    """YES: a coordinator candidate; UNKNOWN: it may be one; NO: it is not."""
    if not row.seen_by_all or row.pr_capable_where_seen == NO:
        return NO
    if any(v.status == "not_usable" for v in row.verdicts):
        return NO
    use = None if row.use is None else row.use.code
    if row.pr_capable_where_seen == UNKNOWN or use == LU_VERITAS_KEYS_CLUSTER_UNKNOWN:
        return UNKNOWN
    return YES if use is None or use in FREE_USES else NO


def compare_nodes(nodes: "list[NodeReport]", cluster_id: "int | None" = None) -> "Comparison":
    """The comparison record (what ``guestprobe compare --json`` prints); ``cluster_id``: the
    Veritas cluster id of these nodes (``--cluster-id``), which tells its own keys apart."""
    check_distinct_nodes(nodes)
    names = [node.name for node in nodes]
    units, no_designator = _units(nodes)
    rows = [_row(unit, names, cluster_id) for unit in units.values()]
    rows.sort(key=lambda row: (not row.seen_by_all, row.lu_designator))
    candidates = [row.lu_designator for row in rows if _candidate(row) == YES]
    unconfirmed = [row.lu_designator for row in rows if _candidate(row) == UNKNOWN]
    coordinator = judge_coordinator_disks(candidates, unconfirmed)
    cluster_verdicts = [v for row in rows for v in row.verdicts]
    cluster_verdicts.append(ClusterVerdict(
        coordinator.code, "usable" if coordinator.enough else "not_usable", coordinator.text
    ))
    return Comparison(
        nodes=[
            ComparedNode(node.name, node.source, len(node.report.disks), node.notes, node.host)
            for node in nodes
        ],
        cluster_id=cluster_id,
        logical_units=rows,
        disks_without_designator=no_designator,
        missing_by_node={
            name: [row.lu_designator for row in rows if name in row.missing_from]
            for name in names
        },
        coordinator_disks=CoordinatorDisks(
            code=coordinator.code,
            candidates=coordinator.candidates,
            candidate_count=len(coordinator.candidates),
            largest_odd_set=coordinator.largest_odd_set,
            enough=coordinator.enough,
            unconfirmed=coordinator.unconfirmed,
            reason=coordinator.text,
        ),
        cluster_verdicts=cluster_verdicts,
    )


def holder_cell(row: "LuRow | dict[str, Any]", names: "list[str]") -> str:
    """The LU's reservation holder(s) for a table cell: ``VF1A2B03: cluster 6699, node 3``,
    with the nodes that saw it where not every node that read it did; ``none``; ``-``.
    ``row``: the LU's record (or its JSON form, as the HTML page has it)."""
    if isinstance(row, dict):
        row = LuRow.from_dict(row, "logical_unit")
    read = [n for n in names if any(p.reservation is not None for p in row.paths.get(n) or [])]
    if not row.holders:
        return "none" if read else "-"
    parts = []
    for holder in row.holders:
        seen = list(holder.seen_from)
        text = holder.holder_text
        parts.append(text if sorted(seen) == sorted(read) else f"{text} (from {', '.join(seen)})")
    return "; ".join(parts)


WHERE_SEEN_WORDS = {YES: "yes", NO: "NO", UNKNOWN: "?"}


def _cell(paths: "list[PathState] | None") -> str:
    """``sdb:PR``; ``sdf:noPR(not_supported)``; ``sdb:PR/held:VF1A2B03`` where that node reads
    a reservation (the HOLDER column decodes the key)."""
    from guestprobe.decode.persist import key_owner

    if not paths:
        return "-"
    cells = []
    for p in paths:
        cell = f"{p.disk}:{PR_MARKS[p.pr_capable]}"
        if p.read_keys_outcome not in (None, "ok"):
            cell += f"({p.read_keys_outcome})"
        held = p.held_key
        if held:
            cell += f"/held:{key_owner(int(held, 16)).label}"
        cells.append(cell)
    return ",".join(cells)


def render_comparison(result: "Comparison | dict[str, Any]") -> str:
    """The readable form: one row per LU, one column per node, then the conclusions.
    ``result``: the comparison (or its JSON form, read back)."""
    from guestprobe.report.escape import terminal_lines
    from guestprobe.report.findings import STATUS_WORDS
    from guestprobe.report.table import grid

    if isinstance(result, dict):
        result = Comparison.from_dict(result, "comparison")
    names = [node.name for node in result.nodes]
    header = ["LU DESIGNATOR", "IDENTITY", *names, "SEEN BY ALL", "PR WHERE SEEN", "HOLDER"]
    rows = [
        [
            row.lu_designator,
            row.identity or "-",
            *[_cell(row.paths.get(name)) for name in names],
            "yes" if row.seen_by_all else "NO",
            WHERE_SEEN_WORDS[row.pr_capable_where_seen],
            holder_cell(row, names),
        ]
        for row in result.logical_units
    ]
    parts = [
        "Nodes: "
        + ", ".join(f"{n.name} ({n.source}, {n.disk_count} disks)" for n in result.nodes),
        grid(header, rows) + "\nPR = PR-capable, noPR = not, PR? = PR IN answers but the "
        "fencing verdict is unknown (facts missing), held:KEY = that node reads a reservation "
        "by KEY, - = not seen; PR WHERE SEEN: from every node that sees the LU; HOLDER: the "
        "reservation's key and its owner"
        if rows
        else "No disk with an LU designator on any node.",
    ]
    for name, missing in result.missing_by_node.items():
        if missing:
            parts.append(f"{name} does not see: {', '.join(missing)}")
    for name, disks in result.disks_without_designator.items():
        parts.append(f"{name}: no LU designator (cannot be matched): {', '.join(disks)}")
    for node in result.nodes:
        parts.extend(f"{node.name}: {note}" for note in node.notes)
    findings = [v for v in result.cluster_verdicts if v.lu_designator]
    if findings:
        parts.append("\n".join(
            f"{STATUS_WORDS.get(v.status, v.status)} {v.lu_designator} {v.code}: {v.text}"
            for v in findings
        ))
    coordinator = result.coordinator_disks
    verdict = "OK" if coordinator.enough else "NOT ENOUGH"
    parts.append(f"Coordinator disks: {verdict}: {coordinator.reason}")
    # every name, path and note from a node's report is data: no control character gets through
    return terminal_lines("\n\n".join(parts)) + "\n"
