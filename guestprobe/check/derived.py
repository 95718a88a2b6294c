"""Facts the rules read that are computed from the report rather than collected.

Each disk rule sees one context: the disk's own ``name``, ``status``, ``transport``, ``facts``
and ``inventory``; ``platform`` (the report's, plus ``hypervisor``: kubevirt, ovirt, kvm, …);
``derived`` (below, for that disk); and ``guest`` (below, for the whole guest); with
``report --host``, ``host`` (the matched host disk and its domain, see
:mod:`guestprobe.host.join`; null otherwise). A guest rule sees ``platform`` and ``guest``
(and ``host.domain``). Everything here is a pure function of the report document.

``derived`` (per disk):
  serial                    the disk's serial: virtio/NVMe serial attribute, else VPD 0x80
  serial_length             its length in characters
  virtio_serial_truncated   virtio-blk only: the serial is 20 characters, virtio-blk's limit,
                            so the host's serial was probably cut there
  has_by_id_link            udev made a /dev/disk/by-id link (null when udev's database was not
                            readable at scan time)
  vpd83_designator_count    designators on VPD 0x83 (null when the page was not read)
  vpd83_lu_designator_count designators there whose association is the logical unit
  vpd83_target_port_only    0x83 has designators, but none names the logical unit
  paths                     the disks (paths) that share this disk's LU designator
  path_count                how many; 1 for a disk without an LU designator (device-mapper
                            and md devices that carry the same designator are not paths)
  fs_types                  file system types mounted from the disk (or its partitions) and
                            udev's ID_FS_TYPE
  vxfs_found                "vxfs" is among them
  multipath_map             the guest's dm-multipath map that holds this disk, if any
  reservation_held          PR IN READ RESERVATION shows a reservation (null: not read)
  reservation_by_veritas_key  that reservation's key is in a Veritas format
  reservation_text          "write_exclusive_registrants_only by key 0x… (…)" for sentences
  registrations_present     READ KEYS lists at least one registered key (null: not read)
  registered_keys_text      every registered key, Veritas ones decoded, for sentences
  reservation_holder        the holder in a few words: "VF1A2B03: cluster 6699, node 3"
  reservation_cluster       the Veritas cluster id in the holder's key (null: not Veritas)
  raw_io_denied             a probe of this disk was refused with EPERM/EACCES although the
                            scan ran as root: no raw I/O capability (a container, a confined
                            service), so the disk's answers are not the disk's

``guest``:
  disk_count, virtio_device_count (every VirtIO PCI function: disks, NICs, consoles, …),
  virtio_blk_count, virtio_net_count, virtio_scsi_controller_count,
  virtio_blk_disk_count (disks the guest classified as virtio-blk),
  pr_capable_lu_count / pr_capable_lus (distinct LUs, paths counted once, whose PR IN READ
  KEYS worked), pr_undecided_disk_count (disks whose PR support is unknown: timed out,
  vanished, or PR IN not sent), multipath_in_use (a dm-multipath map exists),
  coordinator_key_lu_count (LUs holding Veritas coordinator keys),
  raw_io_denied_disks / raw_io_denied_disk_count (disks whose probes met EPERM/EACCES while
  root, see ``derived.raw_io_denied``).
"""


from collections.abc import Mapping
from typing import Any, Optional

from guestprobe.collect.discover import VIRTIO_BLK_SERIAL_BYTES
from guestprobe.document.host import HostJoin
from guestprobe.document.model import DiskReport, PersistentReservations, Report

LU_ASSOCIATION = "logical_unit"
PR_DECIDED_OUTCOMES = {"ok", "not_supported", "passthrough_unavailable"}
STACKED_KINDS = ("device-mapper", "md")  # not paths: a map shares its paths' LU designator


# The collected facts a derived fact is computed from: an ``unknown`` verdict names these.
DERIVED_SOURCES = {
    "derived.serial": "inventory.serial",
    "derived.virtio_serial_truncated": "inventory.serial",
    "derived.has_by_id_link": "inventory.udev_links",
    "derived.vpd83_designator_count": "facts.identity.designators",
    "derived.vpd83_lu_designator_count": "facts.identity.designators",
    "derived.vpd83_target_port_only": "facts.identity.designators",
    "derived.reservation_held": "facts.persistent_reservations.reservation",
    "derived.reservation_by_veritas_key": "facts.persistent_reservations.reservation",
    "derived.reservation_text": "facts.persistent_reservations.reservation",
    "derived.registrations_present": "facts.persistent_reservations.keys",
    "derived.registered_keys_text": "facts.persistent_reservations.keys",
    "derived.reservation_holder": "facts.persistent_reservations.reservation",
    "derived.reservation_cluster": "facts.persistent_reservations.reservation",
    "guest.virtio_device_count": "platform.virtio_devices",
    "guest.virtio_blk_count": "platform.virtio_devices",
    "guest.virtio_net_count": "platform.virtio_devices",
    "guest.virtio_scsi_controller_count": "platform.virtio_devices",
}


def source_facts(paths: "list[str] | tuple[str, ...]") -> "list[str]":
    """Fact paths with derived ones replaced by the collected facts they come from."""
    out: "list[str]" = []
    for path in paths:
        source = DERIVED_SOURCES.get(path, path)
        if source not in out:
            out.append(source)
    return out


def _key_words(key: int) -> str:
    from guestprobe.decode.persist import describe_key

    return describe_key(key)


def _pr_facts(pr: "PersistentReservations") -> "dict[str, Any]":
    from guestprobe.decode.persist import decode_veritas_key, holder_words

    keys = None if pr.keys is None else pr.keys.keys
    held = None if pr.reservation is None else pr.reservation.reservation
    veritas = None if held is None else decode_veritas_key(held.key)
    return {
        "registrations_present": None if keys is None else bool(keys),
        "registered_keys_text": None
        if keys is None
        else ", ".join(_key_words(k) for k in keys) or "none",
        "reservation_held": None if pr.reservation is None else held is not None,
        "reservation_by_veritas_key": None if held is None else veritas is not None,
        "reservation_text": None
        if held is None
        else f"{held.type_name} by key {_key_words(held.key)}",
        "reservation_holder": None if held is None else holder_words(held.key_hex),
        "reservation_cluster": None if veritas is None else veritas.cluster_id,
    }


def _fs_types(disk: "DiskReport") -> "list[str]":
    inventory = disk.inventory
    types = [m.get("fs_type") for m in inventory.mounts]
    udev_type = inventory.udev_properties.get("ID_FS_TYPE")
    types.append(udev_type)
    return sorted(set(filter(None, types)))


def _multipath_maps(report: "Report") -> "dict[str, str]":
    """disk name -> the dm-multipath map above it."""
    maps = {}
    for disk in report.disks:
        if disk.transport.detail == "dm-multipath":
            for slave in disk.inventory.slaves:
                maps[slave] = disk.name
    return maps


def _lu_paths(report: "Report") -> "dict[str, list[str]]":
    """LU designator -> the disks that are its paths (maps and md arrays left out)."""
    stacked = {d.name for d in report.disks if d.transport.kind in STACKED_KINDS}
    paths = {}
    for group in report.logical_units:
        members = [n for n in group.disks if n not in stacked]
        if group.lu_designator and members:
            paths[group.lu_designator] = members
    return paths


def raw_io_denied(disk: "DiskReport", report: "Report") -> bool:
    """A probe met EPERM/EACCES although the scan ran as root (see the module docstring)."""
    if report.platform.euid not in (0, None):
        return False
    return any(p.outcome == "permission_denied" for p in disk.probes)


def disk_derived(
    disk: "DiskReport",
    report: "Report",
    maps: "Mapping[str, str]",
    lu_paths: "Mapping[str, list[str]] | None" = None,
) -> "dict[str, Any]":
    """The ``derived`` facts of one disk (see the module docstring); ``lu_paths`` is
    :func:`_lu_paths` of ``report``, made once for all its disks."""
    identity, inventory = disk.facts.identity, disk.inventory
    kind = disk.transport.kind
    serial = identity.kernel_serial or inventory.serial or identity.unit_serial_number
    links = inventory.udev_links
    vpd_read = identity.vpd_0x83_outcome == "ok"
    designators = identity.designators
    lu_count = sum(1 for d in designators if d.association.value == LU_ASSOCIATION)
    if lu_paths is None:
        lu_paths = _lu_paths(report)
    lu_designator = identity.lu_designator
    paths = list((lu_designator and lu_paths.get(lu_designator)) or [disk.name])
    fs_types = _fs_types(disk)
    derived: "dict[str, Any]" = {
        "serial": serial,
        "serial_length": None if serial is None else len(serial),
        "virtio_serial_truncated": None
        if kind != "virtio-blk" or serial is None
        else len(serial) >= VIRTIO_BLK_SERIAL_BYTES,
        "has_by_id_link": any(link.startswith("/dev/disk/by-id/") for link in links)
        if report.platform.udev_database_populated
        else None,
        "vpd83_designator_count": len(designators) if vpd_read else None,
        "vpd83_lu_designator_count": lu_count if vpd_read else None,
        "vpd83_target_port_only": bool(designators) and lu_count == 0 if vpd_read else None,
        "paths": paths,
        "path_count": len(paths),
        "fs_types": fs_types,
        "vxfs_found": "vxfs" in fs_types,
        "multipath_map": maps.get(disk.name),
        "raw_io_denied": raw_io_denied(disk, report),
    }
    derived.update(_pr_facts(disk.facts.persistent_reservations))
    return derived


def _pr_lu_key(disk: "DiskReport") -> str:
    return disk.facts.identity.lu_designator or f"disk:{disk.name}"


def guest_derived(report: "Report") -> "dict[str, Any]":
    """The ``guest`` facts (see the module docstring)."""
    disks = report.disks
    virtio = report.platform.virtio_devices
    capable: "dict[str, list[str]]" = {}
    coordinator: "set[str]" = set()
    undecided = 0
    for disk in disks:
        if disk.transport.detail == "dm-multipath":
            continue  # its paths are counted
        pr = disk.facts.persistent_reservations
        outcome = pr.read_keys_outcome
        if outcome == "ok" and disk.transport.kind != "virtio-blk":
            capable.setdefault(_pr_lu_key(disk), []).append(disk.name)
            if any(v.kind == "coordinator" for v in pr.veritas_keys):
                coordinator.add(_pr_lu_key(disk))
        elif outcome not in PR_DECIDED_OUTCOMES and disk.transport.kind != "virtio-blk":
            undecided += 1

    denied = [d.name for d in disks if raw_io_denied(d, report)]

    def count(kind: str) -> int:
        return sum(1 for d in virtio if d.kind == kind)

    return {
        "disk_count": len(disks),
        "virtio_device_count": len(virtio),
        "virtio_blk_count": count("block"),
        "virtio_net_count": count("net"),
        "virtio_scsi_controller_count": count("scsi"),
        "virtio_blk_disk_count": sum(1 for d in disks if d.transport.kind == "virtio-blk"),
        "pr_capable_lu_count": len(capable),
        "pr_capable_lus": [
            f"{lu} ({', '.join(names)})" if not lu.startswith("disk:") else names[0]
            for lu, names in sorted(capable.items())
        ],
        "pr_undecided_disk_count": undecided,
        "multipath_in_use": bool(_multipath_maps(report)),
        "coordinator_key_lu_count": len(coordinator),
        "raw_io_denied_disks": denied,
        "raw_io_denied_disk_count": len(denied),
    }


def host_context(join: "Optional[HostJoin]", disk_name: "str | None"
                 ) -> "dict[str, Any] | None":
    """What the rules see as ``host``: for a disk ``{disk, domain, matched_by}``, for the guest
    (``disk_name`` None) ``{domain}``; None without a join (or for an unmatched disk)."""
    if join is None:
        return None
    if disk_name is None:
        return {"domain": join.domain_facts}
    entry = join.disks.get(disk_name)
    if entry is None:
        return None
    return {"disk": entry.disk, "domain": join.domain_facts, "matched_by": entry.matched_by}


def contexts(report: "Report") -> "tuple[dict[str, Any], list[dict[str, Any]]]":
    """(guest context, one context per disk, in the report's order): the parts of the typed
    report the rules read, in their JSON form, each made once."""
    platform = report.platform.to_dict()
    platform["hypervisor"] = report.platform.hypervisor
    guest = guest_derived(report)
    maps = _multipath_maps(report)
    lu_paths = _lu_paths(report)
    join = report.host_join
    guest_context = {"platform": platform, "guest": guest}
    if host_context(join, None) is not None:
        guest_context["host"] = host_context(join, None)
    disk_contexts = []
    for disk in report.disks:
        disk_contexts.append(
            {
                "host": host_context(join, disk.name),
                "name": disk.name,
                "status": disk.status,
                "transport": disk.transport.to_dict(),
                "facts": disk.facts.to_dict(),
                "inventory": disk.inventory.to_dict(),
                "platform": platform,
                "guest": guest,
                "derived": disk_derived(disk, report, maps, lu_paths),
            }
        )
    return guest_context, disk_contexts
