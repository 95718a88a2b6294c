"""The one place that wires the stages: collect -> decode -> classify -> judge.

``scan``, ``collect``, fencing-test's preflight and ``report``/``compare`` all come here; nothing
else joins the stages. Collectors return raw results (:mod:`guestprobe.collect`), the decoders
read them into typed facts (:mod:`guestprobe.facts`), the typed report holds them
(:mod:`guestprobe.document`) and the rules judge it (:mod:`guestprobe.check`). Saved reports and
bundles come back in through one bounded reader (:mod:`guestprobe.document.inputs`), checked and
built by :mod:`guestprobe.document.codec`.
"""


from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

from guestprobe.collect.probe import ProbeOptions
from guestprobe.errors import BadInputError

Document = Dict[str, Any]


def judge(report: "Any") -> None:
    """Add the rules' verdicts to a report (the rule engine, loaded on first use)."""
    from guestprobe.check.rule_engine import apply_checks

    apply_checks(report)


def load_input(path: str, key: "bytes | None" = None) -> "Tuple[Any, Optional[Document]]":
    """(the report as saved, the bundle's manifest or None) of a JSON report or a bundle.

    The one reader of ``report`` and ``compare``: regular files only, bounded in size and JSON
    depth (``document.inputs``); bundles verified against their manifest, and against its MAC when
    ``key`` is given. BadInputError (one line, exit 8) for anything else.
    """
    from guestprobe.bundle.archive import is_bundle, read_bundle
    from guestprobe.document.inputs import load_json, read_input_file

    data = read_input_file(path)
    if is_bundle(data):  # a support bundle (guestprobe collect): verified against its manifest
        bundle = read_bundle(data, path, key)
        return bundle.report, bundle.manifest
    if key is not None:
        raise BadInputError(
            f"{path}: a JSON report carries no MAC, so the key cannot verify it; refused"
        )
    return load_json(data, path), None


def rejudge(
    path: str, key: "bytes | None" = None
) -> "Tuple[Any, Any, Optional[Document]]":
    """(the report as saved, decoded and judged again here as a typed
    :class:`~guestprobe.document.model.Report`, the bundle's manifest or None)."""
    from guestprobe.document.build import check_expansion, collection_from_document

    original, manifest = load_input(path, key)
    try:
        collection = collection_from_document(original)
        report = report_of(collection)
        check_expansion(report)
    except BadInputError as exc:
        raise BadInputError(f"{path}: {exc}") from None
    return original, report, manifest


@dataclass(frozen=True)
class ScanRequest(ProbeOptions):
    """What a scan (or ``collect``) is asked to do: which disks, and how to probe them (the
    fields of :class:`~guestprobe.collect.probe.ProbeOptions`, whose defaults they keep). The one
    record from the command line down to each probe."""

    names: "Optional[Sequence[str]]" = None  # kernel names; None = every disk found
    include_all: bool = False  # loop, ram, zram, fd and sr devices too
    workers: int = 8  # worker processes at most


def collect(
    request: "ScanRequest",
    progress: "Optional[Callable[[int, int], None]]" = None,
    **machine: "Any",
) -> "Any":
    """Discover and probe the disks (``machine``: sys, udev, run for tests); the raw
    :class:`~guestprobe.collect.scan.Collection`."""
    from guestprobe.collect import scan as scan_module

    return scan_module.collect(
        request,
        names=request.names,
        include_all=request.include_all,
        max_workers=request.workers,
        progress=progress,
        **machine,
    )


def report_of(collection: "Any", judged: bool = True) -> "Any":
    """Decode, classify and (unless ``judged`` is false) judge a collection: the typed report."""
    from guestprobe.document.build import build_report
    from guestprobe.facts import disk_report

    disks = [disk_report(disk) for disk in collection.disks]
    return build_report(collection, disks, judge if judged else None)


def scan(
    request: "ScanRequest",
    progress: "Optional[Callable[[int, int], None]]" = None,
    **machine: "Any",
) -> "Any":
    """collect -> decode -> classify -> judge: the typed report of this machine's disks."""
    return report_of(collect(request, progress, **machine))


@dataclass(frozen=True)
class BuiltBundle:
    """A support bundle ready to write: its bytes and the report inside."""

    data: bytes
    document: "Document"
    redacted: bool
    default_name: str


def bundle(
    collection: "Any", redact: bool = False, redact_key: "Optional[str]" = None
) -> "BuiltBundle":
    """A collection (redacted first with ``redact``, or with ``redact_key``, which also keys the
    manifest's MAC) judged and packed as a support bundle with its HTML page."""
    from guestprobe.bundle.archive import build_bundle, default_bundle_name, describe_versions
    from guestprobe.bundle.redact import new_key, redact_collection
    from guestprobe.report.escape import output_bytes
    from guestprobe.report.html import render_html

    redaction = None
    if redact or redact_key:
        key = redact_key.encode() if redact_key else new_key()
        collection = redact_collection(collection, key)
        redaction = {"method": "hmac-sha256", "key": "given" if redact_key else "random"}
    report = report_of(collection)
    document = report.to_dict()
    mac_key = redact_key.encode() if redact_key else None
    page = output_bytes(render_html(document, redacted=redaction is not None))
    versions = describe_versions(report.platform, report.schema_version)
    data = build_bundle(document, versions, redaction, key=mac_key, report_html=page)
    name = default_bundle_name(report.platform.hostname, report.generated_at)
    return BuiltBundle(data, document, redaction is not None, name)


def join_host(report: "Any", host_path: str, redaction: "Any" = None,
              key: "Optional[bytes]" = None, label: str = "the report") -> "Any":
    """Judge the typed ``report`` again with the facts of its KVM host (``guestprobe host
    --json``): each guest disk matched to its host disk; the join's record (matches, conflicts,
    changes: ``report.host_join``, returned). A redacted bundle's host view is redacted with its
    key, or refused (``host_view_for``)."""
    from guestprobe.host.join import join_report, read_host_json

    host = read_host_json(host_path)
    return join_report(report, host, host_path, judge, redaction, key, label)


def join_node_host(report: "Any", hosts: "list[Any]", redaction: "Any" = None,
                   key: "Optional[bytes]" = None, label: str = "the report") -> "Any":
    """``compare --host``: judge one node's typed report again with the host domain whose disks
    match it by serial or LU designator (addresses repeat between machines); None when none
    does."""
    from guestprobe.host.join import host_view_for, join_domains

    domains = host_view_for(hosts, redaction, key, label)
    return join_domains(report, domains, "--host", judge, require_strong=True)


def host_domains(paths: "Sequence[str]") -> "list[Any]":
    """The domains of every ``guestprobe host --json`` file given."""
    from guestprobe.host.join import load_host_file

    return [domain for path in paths for domain in load_host_file(path)]

