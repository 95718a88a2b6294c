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
    verify_key_option,
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
    _, document, manifest = pipeline.rejudge(report, input_key(redact_key))
    joined = _join_host(document, host_file) if host_file else None
    emit(document, as_json, output, brief=brief, html_output=html_output,
         redacted=bool(manifest and manifest.get("redaction")),
         narrow={"disks": disks, "features": features})
    if joined is not None and not as_json:
        from guestprobe.host.join import render_join

        click.echo(terminal_lines(render_join(joined)), nl=False)
    if fail_on_status(document, fail_on):
        sys.exit(ExitStatus.FAIL_ON)


def _join_host(document: "dict[str, Any]", host_file: str) -> "dict[str, Any]":
    """The join, or, for a domain XML given where the host's JSON is due, where to get it."""
    from guestprobe.errors import BadInputError

    try:
        return pipeline.join_host(document, host_file)
    except BadInputError:
        try:
            with open(host_file, "rb") as stream:
                xml = stream.read(256).lstrip().startswith(b"<")
        except OSError:
            xml = False
        if not xml:
            raise
        raise BadInputError(
            f"{host_file}: a domain XML, not the host's JSON: make that with 'guestprobe host "
            f"--xml {host_file} --json -o HOST.json' and give --host HOST.json") from None


def _load_node(path: str, key: "bytes | None", hosts: "list[Any] | None" = None) -> "Any":
    from guestprobe.bundle.compare import NodeReport, report_fingerprint

    notes = []
    original, document, manifest = pipeline.rejudge(path, key)
    if hosts:  # compare --host: judged with the host's facts of its own domain
        joined = pipeline.join_node_host(document, hosts)
        notes.append(
            f"host {joined['domain']}: {len(joined['matches'])} disk(s) joined, "
            f"{len(joined['conflicts'])} conflict(s)"
            if joined
            else "no --host domain matches this node's disks: judged without the host"
        )
    redaction = (manifest or {}).get("redaction") or {}
    if redaction.get("key") == "random":
        notes.append(
            "redacted with a per-bundle key: its LU designators cannot match other nodes' "
            "(collect with the same --redact-key on every node)"
        )
    elif redaction:
        notes.append("redacted: matches only reports redacted with the same --redact-key")
    return NodeReport(path, document, report_fingerprint(original), notes)


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
def compare(
    reports: "tuple[str, ...]",
    as_json: bool,
    html_output: "str | None",
    redact_key: "str | None",
    host_files: "tuple[str, ...]" = (),
) -> None:
    """Compare the reports (JSON or bundles) of several cluster nodes, LU by LU.

    Shows which LUs (matched by LU designator) every node sees, whether each is PR-capable
    from every node, which nodes miss which LU, and whether the LUs shared by all nodes can
    hold an odd number (at least 3) of I/O-fencing coordinator disks. Each report is judged
    again with this machine's rules.
    """
    from guestprobe.bundle.compare import compare_nodes, render_comparison
    from guestprobe.report.output import to_json, write_atomically

    if len(reports) < 2:
        raise click.UsageError("compare needs the reports of at least two nodes")
    key = input_key(redact_key)
    hosts = pipeline.host_domains(host_files) if host_files else None
    result = compare_nodes([_load_node(path, key, hosts) for path in reports])
    if html_output:
        from guestprobe.report.html import render_comparison_html

        write_atomically(html_output, render_comparison_html(result).encode())
    click.echo(to_json(result) if as_json else render_comparison(result), nl=False)
