"""``guestprobe report`` and ``guestprobe compare``: saved reports and bundles judged again."""


import sys
from typing import Any

import click

from guestprobe import pipeline
from guestprobe.cli.common import (
    brief_option,
    emit,
    fail_on_option,
    fail_on_status,
    html_option,
    input_key,
    json_option,
    narrow_options,
    output_option,
    refuse_brief_json,
    statuses_fail,
    verify_key_option,
    write_out,
)
from guestprobe.errors import ExitStatus
from guestprobe.report.escape import terminal_lines


@click.command()
@click.argument("report")
@json_option
@output_option
@fail_on_option
@verify_key_option
@brief_option
@html_option
@click.option(
    "--host",
    "host_file",
    metavar="HOST.json",
    help="Join the KVM host's view (guestprobe host --json on the host): each guest disk is "
    "matched to its host disk and judged with the host's facts too.",
)
@narrow_options
def report(report, as_json, output, fail_on, redact_key, brief, html_output, host_file, disks,
           features):
    """Decode and judge a saved report again, with this machine's guestprobe and rules."""
    refuse_brief_json(as_json, brief)
    _, judged, manifest = pipeline.rejudge(report, input_key(redact_key))
    redaction = (manifest or {}).get("redaction")
    joined = (pipeline.join_host(judged, host_file, redaction, input_key(redact_key), report)
              if host_file else None)
    document = emit(judged, as_json, output, brief=brief, html_output=html_output,
                    redacted=bool(manifest and manifest.get("redaction")),
                    narrow={"disks": disks, "features": features})
    if joined is not None and not as_json:
        from guestprobe.host.join import render_join

        write_out(terminal_lines(render_join(joined)))
    if fail_on_status(document, fail_on):
        sys.exit(ExitStatus.FAIL_ON)


def _load_node(path: str, key: "bytes | None", hosts: "list[Any] | None" = None,
               host_files: "dict[int, str] | None" = None) -> "Any":
    from guestprobe.bundle.compare import NodeReport, report_fingerprint
    from guestprobe.host.join import HOST_REDACTED_NOTE

    notes = []
    host = None
    original, judged, manifest = pipeline.rejudge(path, key)
    redaction = (manifest or {}).get("redaction") or {}
    if hosts:  # compare --host: judged with the host's facts of its own domain
        joined = pipeline.join_node_host(judged, hosts, redaction, key, path)
        domain = joined.domain if joined else None
        found = {(host_files or {}).get(id(d)) for d in hosts if d.get("name") == domain}
        host = found.pop() if joined and len(found) == 1 else None
        notes.append(
            f"host {joined.domain}: {len(joined.matches)} disk(s) joined, "
            f"{len(joined.conflicts)} conflict(s)"
            if joined
            else "no --host domain matches this node's disks: judged without the host"
        )
        if joined and joined.host_redacted:
            notes.append(HOST_REDACTED_NOTE)
    if redaction.get("key") == "random":
        notes.append(
            "redacted with a per-bundle key: its LU designators cannot match other nodes' "
            "(collect with the same --redact-key on every node)"
        )
    elif redaction:
        notes.append("redacted: matches only reports redacted with the same --redact-key")
    return NodeReport(path, judged, report_fingerprint(original), notes, host)


def _host_views(host_files: "tuple[str, ...]") -> "tuple[list[Any] | None, dict[int, str]]":
    """compare --host: every domain of the host files, and which file each came from."""
    if not host_files:
        return None, {}
    hosts: "list[Any]" = []
    host_of: "dict[int, str]" = {}
    for host_file in host_files:
        domains = pipeline.host_domains([host_file])
        host_of.update((id(domain), host_file) for domain in domains)
        hosts.extend(domains)
    return hosts, host_of


@click.command("compare")
@click.argument("reports", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option(
    "--html",
    "html_output",
    metavar="FILE",
    help="Also write the comparison as one self-contained HTML page to FILE.",
)
@verify_key_option
@click.option(
    "--host",
    "host_files",
    multiple=True,
    metavar="HOST.json",
    help="Join each node with its KVM host's view (guestprobe host --json); may be given "
    "once per host.",
)
@click.option(
    "--cluster-id",
    type=click.IntRange(0, 65535),
    metavar="N",
    help="The nodes' Veritas cluster id (LLT): its own keys on an LU are then told apart from "
    "another cluster's (for redacted bundles: the redacted id compare shows).",
)
@fail_on_option
def compare(
    reports: "tuple[str, ...]",
    as_json: bool,
    html_output: "str | None",
    redact_key: "str | None",
    host_files: "tuple[str, ...]" = (),
    cluster_id: "int | None" = None,
    fail_on: "str | None" = None,
) -> None:
    """Compare the reports (JSON or bundles) of several cluster nodes, LU by LU.

    Shows which LUs (matched by LU designator) every node sees, whether each is PR-capable
    from every node that sees it, who holds it (the reservation key decoded), which nodes miss
    which LU, which nodes cannot fence each other (one initiator), and whether the LUs shared by
    all nodes can hold an odd number (at least 3) of I/O-fencing coordinator disks. Each report
    is judged again with this machine's rules. --fail-on reads the cluster verdicts.
    """
    from guestprobe.bundle.compare import compare_nodes, render_comparison
    from guestprobe.report.output import to_json, write_atomically

    if len(reports) < 2:
        raise click.UsageError("compare needs the reports of at least two nodes")
    key = input_key(redact_key)
    hosts, host_of = _host_views(host_files)
    nodes = [_load_node(path, key, hosts, host_of) for path in reports]
    result = compare_nodes(nodes, cluster_id)
    if html_output:
        from guestprobe.report.html import render_comparison_html

        write_atomically(html_output, render_comparison_html(result))
    write_out(to_json(result.to_dict()) if as_json else render_comparison(result))
    if statuses_fail([v.status for v in result.cluster_verdicts], fail_on):
        sys.exit(ExitStatus.FAIL_ON)
