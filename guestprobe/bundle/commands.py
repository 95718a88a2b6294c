"""The ``collect`` and ``compare`` commands (the CLI loads them on first use).

``collect`` takes the scan's own options (the same click parameters as ``scan``, reused, so the
two never drift apart).
"""


import re
import sys
from typing import Any

import click

from guestprobe.errors import ExitStatus
from guestprobe.report.escape import terminal_text

SCAN_PARAMS_REUSED = (
    "devices", "include_all", "no_write_probes", "timeout_s", "workers", "live_vpd", "engine"
)


def _default_bundle_name(document: "dict[str, Any]") -> str:
    host = (document.get("platform") or {}).get("hostname") or "guest"
    host = re.sub(r"[^A-Za-z0-9._-]", "_", host).lstrip(".")[:64] or "guest"  # a name, no path
    stamp = (document.get("generated_at") or "").replace(":", "").replace("-", "")[:15]
    return f"guestprobe-{host}-{stamp or 'now'}.tar.gz"


def _collect(params: "dict[str, Any]") -> None:
    from guestprobe.bundle.archive import build_bundle, describe_versions
    from guestprobe.bundle.redact import new_key, redact_collection
    from guestprobe.cli import checker, require_root, require_sg3_utils, resolve_targets
    from guestprobe.collect.probe import ProbeOptions
    from guestprobe.collect.scan import Collection, collect
    from guestprobe.report.document import build_document
    from guestprobe.report.output import write_atomically

    require_root()
    require_sg3_utils()
    names = resolve_targets(params["devices"])
    options = ProbeOptions(
        timeout_s=params["timeout_s"],
        write_probes=not params["no_write_probes"],
        use_sysfs_pages=not params["live_vpd"],
        engine=params["engine"],
    )
    progress = None
    if sys.stderr.isatty():

        def progress(done: int, total: int) -> None:
            click.echo(f"\rprobed {done}/{total} disks", err=True, nl=done == total)

    collection = collect(
        options,
        names=names,
        include_all=params["include_all"],
        max_workers=params["workers"],
        progress=progress,
    )
    redaction = None
    if params["redact"] or params["redact_key"]:
        key_text = params["redact_key"]
        key = key_text.encode() if key_text else new_key()
        collection = Collection.from_dict(redact_collection(collection.to_dict(), key))
        redaction = {"method": "hmac-sha256", "key": "given" if key_text else "random"}
    document = build_document(collection, checker())
    from guestprobe.report.html import render_html

    mac_key = params["redact_key"].encode() if params["redact_key"] else None
    page = render_html(document, redacted=redaction is not None).encode()
    data = build_bundle(
        document, describe_versions(document), redaction, key=mac_key, report_html=page
    )
    output = params["output"] or _default_bundle_name(document)
    write_atomically(output, data, mode=0o600)
    click.echo(
        terminal_text(
            f"{output}: {len(document['disks'])} disks, {len(data) / 1024:.1f} KiB"
            + (", redacted" if redaction else "")
        )
    )
    for disk in document["disks"]:
        if disk["status"] != "probed":
            what = disk["status"].replace("_", " ")
            click.echo(
                terminal_text(f"guestprobe: {disk['dev_path']}: {what} during the scan"), err=True
            )
    if not document["scan"]["complete"]:
        sys.exit(ExitStatus.PARTIAL)


def _load_node(path: str, key: "bytes | None") -> "Any":
    from guestprobe.bundle.compare import NodeReport, report_fingerprint
    from guestprobe.cli import rejudge

    notes = []
    original, document, manifest = rejudge(path, key)
    redaction = (manifest or {}).get("redaction") or {}
    if redaction.get("key") == "random":
        notes.append(
            "redacted with a per-bundle key: its LU designators cannot match other nodes' "
            "(collect with the same --redact-key on every node)"
        )
    elif redaction:
        notes.append("redacted: matches only reports redacted with the same --redact-key")
    return NodeReport(path, document, report_fingerprint(original), notes)


def _compare_command() -> "click.Command":
    from guestprobe.cli import verify_key_option

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
    def compare(
        reports: "tuple[str, ...]",
        as_json: bool,
        html_output: "str | None",
        redact_key: "str | None",
    ) -> None:
        """Compare the reports (JSON or bundles) of several cluster nodes, LU by LU.

        Shows which LUs (matched by LU designator) every node sees, whether each is PR-capable
        from every node, which nodes miss which LU, and whether the LUs shared by all nodes can
        hold an odd number (at least 3) of I/O-fencing coordinator disks. Each report is judged
        again with this machine's rules.
        """
        from guestprobe.bundle.compare import compare_nodes, render_comparison
        from guestprobe.cli import input_key
        from guestprobe.report.output import to_json, write_atomically

        if len(reports) < 2:
            raise click.UsageError("compare needs the reports of at least two nodes")
        key = input_key(redact_key)
        result = compare_nodes([_load_node(path, key) for path in reports])
        if html_output:
            from guestprobe.report.html import render_comparison_html

            write_atomically(html_output, render_comparison_html(result).encode())
        click.echo(to_json(result) if as_json else render_comparison(result), nl=False)

    return compare


compare_command = _compare_command()


def collect_command(scan: "click.Command") -> "click.Command":
    reused = [param for param in scan.params if param.name in SCAN_PARAMS_REUSED]
    own = [
        click.Option(
            ["-o", "--output"],
            metavar="FILE",
            help="The bundle file [default: guestprobe-HOST-TIME.tar.gz here]; a new file or a "
            "regular file replaced, never a device, FIFO or directory.",
        ),
        click.Option(
            ["--redact"],
            is_flag=True,
            help="Replace host names, serials, WWIDs, designators, device-mapper names, IQNs, "
            "NQNs, portal addresses and PR keys with keyed hashes (a random key per bundle).",
        ),
        click.Option(
            ["--redact-key"],
            envvar="GUESTPROBE_REDACT_KEY",
            metavar="TEXT",
            help="Redact with this key instead (implies --redact); use the same key on every "
            "node so that 'guestprobe compare' can match their LUs. The manifest then carries "
            "an HMAC-SHA256 that 'report'/'compare --redact-key' verify. "
            "Env: GUESTPROBE_REDACT_KEY.",
        ),
    ]
    return click.Command(
        "collect",
        callback=lambda **params: _collect(params),
        params=[*own, *reused],
        help="Scan like 'scan' and write a support bundle: one .tar.gz (mode 0600) with the "
        "JSON report (every probe's argv, exit status, raw answer and timing, the sysfs and "
        "udev facts), the versions and a manifest with checksums. No data block and no file "
        "content is ever included.",
        short_help="Scan and write a support bundle (.tar.gz) to attach to a support case.",
    )
