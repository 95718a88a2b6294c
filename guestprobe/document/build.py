"""Build the typed report from a collection, and read a saved one back.

The document carries the raw collection (inventory, every probe's argv, exit status and bytes)
beside the decoded facts, so ``guestprobe report`` can decode and judge it again elsewhere.
"""


from datetime import datetime, timezone
from typing import Any, Callable, List

from guestprobe import __version__
from guestprobe.classify.paths import group_paths
from guestprobe.collect.scan import DISK_PROBED, Collection
from guestprobe.document.codec import load
from guestprobe.document.model import DiskReport, LogicalUnit, Report, ScanSummary, Tool
from guestprobe.errors import BadInputError

# What one report read back may hold and expand into (a guest of more disks is not a KVM guest
# guestprobe is made for; 14 rules give at most 16 verdicts a disk): BadInputError past them.
MAX_DISKS = 4096
MAX_VERDICTS = 64 * MAX_DISKS
SCHEMA_VERSION = "1.1"
SCHEMA_MAJOR = SCHEMA_VERSION.split(".", 1)[0]

# A checker adds verdicts: (report) -> None. Set by the rule engine; None = facts only.
Checker = Callable[[Report], None]


def build_report(
    collection: "Collection", disks: "List[DiskReport]", checker: "Checker | None" = None
) -> "Report":
    """The typed report of a collection whose ``disks`` are decoded and classified
    (:func:`guestprobe.facts.disk_report`): their paths grouped into LUs, then judged by
    ``checker``."""
    groups = group_paths((d.name, d.facts.identity.lu_designator) for d in disks)
    processes = collection.processes_started
    report = Report(
        schema_version=SCHEMA_VERSION,
        tool=Tool("guestprobe", __version__),
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        scan=ScanSummary(
            collected_by_version=collection.tool_version,
            started_at=collection.started_at,
            duration_s=round(collection.duration_s, 3),
            options=collection.options,
            complete=all(d.status == DISK_PROBED for d in disks),
            disk_count=len(disks),
            processes_started=processes,
            processes_per_disk=round(processes / len(disks), 2) if disks else 0,
            abandoned_processes=collection.abandoned_processes,
            # which engine sent the probes, and the start-up time (None in reports collected
            # before guestprobe had them: a report judged again keeps its own shape)
            engine=collection.engine,
            startup_s=collection.startup_s,
        ),
        platform=collection.platform,
        disks=disks,
        logical_units=[LogicalUnit(**group) for group in groups],
    )
    if checker is not None:
        checker(report)
    return report


def check_expansion(report: "Report") -> None:
    """BadInputError when a report judged again holds more verdicts than :data:`MAX_VERDICTS`."""
    count = len(report.guest_verdicts) + sum(len(disk.verdicts) for disk in report.disks)
    if count > MAX_VERDICTS:
        raise BadInputError(
            f"report judged again gives {count:,} verdicts, more than {MAX_VERDICTS:,}; refused"
        )


def check_schema_version(document: "Any") -> None:
    """BadInputError unless ``document`` is a report of a schema major this guestprobe reads."""
    if not isinstance(document, dict) or "schema_version" not in document:
        raise BadInputError("not a guestprobe report (no schema_version)")
    version = document["schema_version"]
    if not isinstance(version, str):
        raise BadInputError("not a guestprobe report (schema_version is not a string)")
    if version.split(".", 1)[0] != SCHEMA_MAJOR:
        raise BadInputError(
            f"report schema version {version[:20]} is not readable by this guestprobe "
            f"(reads {SCHEMA_MAJOR}.x)"
        )


def collection_from_document(document: "Any") -> "Collection":
    """Rebuild the raw collection from a report document; BadInputError when it is not one."""
    check_schema_version(document)
    scan = document.get("scan")
    if not isinstance(scan, dict):
        raise BadInputError("report is damaged or incomplete: scan is not an object")
    raw = {
        "tool_version": scan.get("collected_by_version", "unknown"),
        "started_at": scan.get("started_at", ""),
        "duration_s": scan.get("duration_s", 0.0),
        "options": scan.get("options", {}),
        "processes_started": scan.get("processes_started", 0),
        "abandoned_processes": scan.get("abandoned_processes", 0),
        "engine": scan.get("engine"),
        "startup_s": scan.get("startup_s"),
    }
    for name in ("platform", "disks"):
        if name not in document:
            raise BadInputError(f"report is damaged or incomplete: no {name}")
        raw[name] = document[name]
    if isinstance(raw["disks"], list) and len(raw["disks"]) > MAX_DISKS:
        raise BadInputError(
            f"report has {len(raw['disks']):,} disks, more than the {MAX_DISKS:,} guestprobe "
            "judges; refused"
        )
    return read_collection(raw, "report")


def read_collection(raw: "Any", where: str = "collection") -> "Collection":
    """The raw collection (a bundle's collection.json, a report's parts) as typed records,
    checked in the same walk: BadInputError naming the field otherwise."""
    return load(Collection, raw, where)
