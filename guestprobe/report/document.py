"""Build the JSON report document from a collection, and read one back.

The document carries the raw collection (inventory, every probe's argv, exit status and bytes)
beside the decoded facts, so ``guestprobe report`` can decode and judge it again elsewhere.
"""


from datetime import datetime, timezone
from typing import Any, Callable, Dict

from guestprobe import __version__
from guestprobe.classify.paths import group_paths
from guestprobe.collect.scan import DISK_PROBED, Collection, DiskCollection
from guestprobe.errors import BadInputError
from guestprobe.facts import disk_facts
from guestprobe.report.validate import check_record

# What one report read back may hold and expand into (a guest of more disks is not a KVM guest
# guestprobe is made for; 14 rules give at most 16 verdicts a disk): BadInputError past them.
MAX_DISKS = 4096
MAX_VERDICTS = 64 * MAX_DISKS
SCHEMA_VERSION = "1.1"
SCHEMA_MAJOR = SCHEMA_VERSION.split(".", 1)[0]

# A checker adds verdicts: (document) -> None. Set by the check engine; None = facts only.
Checker = Callable[[Dict[str, Any]], None]


def _disk_document(collected: "DiskCollection") -> "dict[str, Any]":
    facts, transport = disk_facts(collected)
    disk = collected.disk
    probes = []
    for probe in collected.probes:
        entry = {"id": f"{disk.name}/{probe.name}"}
        entry.update(probe.to_dict())
        probes.append(entry)
    return {
        "name": disk.name,
        "dev_path": disk.dev_path,
        "sg_path": disk.sg_path,
        "hctl": disk.hctl,
        "by_id": disk.by_id,
        "by_path": disk.by_path,
        "size_bytes": disk.size_bytes,
        "status": collected.status,
        "transport": transport.to_dict(),
        "facts": facts,
        "processes": collected.processes,
        "inventory": disk.to_dict(),
        "probes": probes,
        "verdicts": [],
    }


def build_document(collection: "Collection", checker: "Checker | None" = None) -> "dict[str, Any]":
    disks = [_disk_document(d) for d in collection.disks]
    groups = group_paths((d["name"], d["facts"]["identity"]["lu_designator"]) for d in disks)
    complete = all(d["status"] == DISK_PROBED for d in disks)
    document: "dict[str, Any]" = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "guestprobe", "version": __version__},
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "scan": {
            "collected_by_version": collection.tool_version,
            "started_at": collection.started_at,
            "duration_s": round(collection.duration_s, 3),
            "options": collection.options,
            "complete": complete,
            "disk_count": len(disks),
            "processes_started": collection.processes_started,
            "processes_per_disk": round(collection.processes_started / len(disks), 2)
            if disks
            else 0,
            "abandoned_processes": collection.abandoned_processes,
            # which engine sent the probes, and the start-up time (absent from reports collected
            # before guestprobe had them: a report judged again keeps its own shape)
            **{k: v for k, v in (("engine", collection.engine),
                                 ("startup_s", collection.startup_s)) if v is not None},
        },
        "platform": collection.platform.to_dict(),
        "disks": disks,
        "logical_units": groups,
        "guest_verdicts": [],
    }
    if checker is not None:
        checker(document)
    return document


def check_expansion(document: "dict[str, Any]") -> None:
    """BadInputError when a report judged again holds more verdicts than :data:`MAX_VERDICTS`."""
    count = len(document.get("guest_verdicts") or []) + sum(
        len(disk.get("verdicts") or []) for disk in document.get("disks") or []
    )
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
    check_record(Collection, raw, "report")
    return Collection.from_dict(raw)
