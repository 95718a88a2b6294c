"""``guestprobe collect``: scan like ``scan`` and write a support bundle.

``collect`` takes the scan's own options (the same click parameters as ``scan``, reused, so the
two never drift apart).
"""


import sys
from typing import Any

import click

from guestprobe import pipeline
from guestprobe.cli.common import progress_printer, warn_unprobed, write_out
from guestprobe.cli.scan import scan, scan_request, signals_end_the_scan
from guestprobe.errors import ExitStatus
from guestprobe.report.escape import terminal_text

SCAN_PARAMS_REUSED = (
    "devices", "include_all", "no_write_probes", "timeout_s", "workers", "live_vpd", "engine"
)


def _collect(params: "dict[str, Any]") -> None:
    from guestprobe.report.output import write_atomically

    request = scan_request(*(params[name] for name in SCAN_PARAMS_REUSED))
    with signals_end_the_scan("bundle"):
        collection = pipeline.collect(request, progress_printer(sys.stderr.isatty()))
        bundle = pipeline.bundle(collection, params["redact"], params["redact_key"])
        output = params["output"] or bundle.default_name
        write_atomically(output, bundle.data, mode=0o600)
    write_out(
        terminal_text(
            f"{output}: {len(bundle.document['disks'])} disks, {len(bundle.data) / 1024:.1f} KiB"
            + (", redacted" if bundle.redacted else "")
        )
        + "\n"
    )
    warn_unprobed(bundle.document)
    if not bundle.document["scan"]["complete"]:
        sys.exit(ExitStatus.PARTIAL)


def _collect_command() -> "click.Command":
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


collect_command = _collect_command()
