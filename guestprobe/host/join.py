"""Join a guest's report to ``guestprobe host``'s document of the same machine: which host disk
is which guest disk, and the host facts each guest disk's rules then read (``host.*``).

Keys, tried in this order for every guest disk, each host disk matched once:

- ``serial``: the guest's serial (virtio-blk serial attribute, else VPD 0x80) = the XML's
  ``<serial>`` (virtio-blk keeps 20 bytes of it);
- ``lu_designator``: the guest's LU designator (VPD 0x83) = the XML's ``<wwn>`` or the WWID its
  source path names (``/dev/disk/by-id/wwn-0x…``, ``dm-uuid-mpath-3…``);
- ``scsi_address``: the virtio-scsi HBA's PCI slot and channel:target:lun in the guest =
  the controller's PCI address and ``<address type='drive' bus target unit>``;
- ``pci_slot``: a virtio-blk disk's PCI slot in the guest = its ``<address type='pci'>``.

The domain chosen is the one with the most matched disks. What the two views say differently
(the guest sees the LU's own identity but the host says device='disk', …) is listed as a
conflict, never resolved silently.
"""


import re
from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional, Tuple

from guestprobe.collect.discover import VIRTIO_BLK_SERIAL_BYTES
from guestprobe.document.host import (
    Change,
    Conflict,
    HostDisk,
    HostDomain,
    HostJoin,
    JoinedDisk,
    JoinKeys,
    JoinMatch,
    domain_facts,
    given_disks,
    host_document_domains,
    mark_redacted,
    without_verdicts,
)
from guestprobe.document.model import DiskReport, Report
from guestprobe.document.verdict import Verdict
from guestprobe.errors import BadInputError
from guestprobe.host.domain_xml import MAX_DISKS_PER_DOMAIN
from guestprobe.host.judge import HOST_SCHEMA_VERSION

_PCI = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
KEYS = JoinKeys._fields  # serial, lu_designator, scsi_address, pci_slot: tried in this order
MAX_JOIN_DISKS = 4096  # as many as one guestprobe host run writes



def _text(value: "Any") -> "Optional[str]":
    return value.strip() if isinstance(value, str) and value.strip() else None


def check_host_document(document: "Any", path: str) -> "List[Dict[str, Any]]":
    """The domains of a ``guestprobe host`` JSON document; BadInputError (exit 8) otherwise."""
    return host_document_domains(document, path, HOST_SCHEMA_VERSION, MAX_DISKS_PER_DOMAIN,
                                 MAX_JOIN_DISKS)


HOST_REDACTED_NOTE = ("host view redacted with the bundle's key: its serials, LU designators, "
                      "IQNs, portals, domain name and UUID and source paths carry the bundle's "
                      "tokens")


def host_view_for(domains: "List[Dict[str, Any]]", redaction: "Any", key: "Optional[bytes]",
                  report: str) -> "List[Dict[str, Any]]":
    """The host's domains as they may be joined to ``report``: as they are for a report that is
    not redacted; redacted with the bundle's own key (the same tokens, so the join still matches
    and no token stands beside the value it hides) when the key is given; else BadInputError,
    which says how to join: redact both with one key."""
    if not redaction:
        return domains
    if isinstance(redaction, dict) and redaction.get("key") == "given" and key:
        from guestprobe.bundle.redact import redact_host_domains

        return [mark_redacted(domain) for domain in redact_host_domains(domains, key)]
    how = ("collect the guest with --redact-key KEY and join with report BUNDLE --redact-key KEY "
           "--host HOST.json, which redacts the host view with the same key")
    if isinstance(redaction, dict) and redaction.get("key") == "given":
        raise BadInputError(f"{report}: a redacted bundle; give its key (--redact-key, or "
                            "GUESTPROBE_REDACT_KEY) to redact the host view with the same "
                            "tokens: joined as it is, each token would stand beside the value "
                            "it hides")
    raise BadInputError(f"{report}: redacted with a per-bundle random key, so the host view "
                        "cannot get the same tokens and joining would pair each token with the "
                        f"value it hides; {how}")


def _guest_pci(sysfs_path: "Optional[str]") -> "Optional[str]":
    """The PCI function nearest the disk on its sysfs path: the virtio device's own slot."""
    parts = [p for p in (sysfs_path or "").split("/") if _PCI.match(p)]
    return parts[-1] if parts else None


def guest_keys(disk: "DiskReport") -> "JoinKeys":
    inventory = disk.inventory
    identity = disk.facts.identity
    kind = disk.transport.kind
    serial = _text(identity.kernel_serial) or _text(inventory.serial)
    serial = serial or _text(identity.unit_serial_number)
    pci = _guest_pci(inventory.sysfs_path)
    scsi = None
    hctl = _text(inventory.hctl or disk.hctl)
    if kind == "virtio-scsi" and hctl and pci:
        scsi = pci + "/" + ":".join(hctl.split(":")[1:])
    lu = _text(identity.lu_designator) or _text(inventory.wwid)
    return JoinKeys(serial, lu.lower() if lu else None, scsi,
                    pci if kind == "virtio-blk" else None)


def host_keys(disk: "HostDisk") -> "JoinKeys":
    scsi = None
    address = _text(disk.scsi_address)
    if address and disk.controller_pci_slot:
        scsi = "{}/{}".format(disk.controller_pci_slot, ":".join(address.split(":")[1:]))
    lu = _text(disk.lu_designator)
    return JoinKeys(_text(disk.serial), lu.lower() if lu else None, scsi,
                    _text(disk.pci_slot) if disk.bus == "virtio" else None)


def _same(key: str, guest: str, host: str, guest_kind: "Any") -> bool:
    if key == "serial" and guest_kind == "virtio-blk":
        return guest == host[:VIRTIO_BLK_SERIAL_BYTES]
    return guest == host


def match_domain(report: "Report", domain: "Dict[str, Any]", typed: "Optional[HostDomain]" = None
                 ) -> "List[Tuple[DiskReport, Dict[str, Any], HostDisk, str, str]]":
    """(guest disk, host disk as given and typed, key, value) for every guest disk of
    ``report`` that matches a disk of ``domain`` (as given; ``typed``: its record)."""
    typed = typed or HostDomain.from_dict(domain, "domain")
    host_disks = [(given, disk, host_keys(disk))
                  for given, disk in zip(given_disks(domain), typed.disks)]
    used: "set" = set()
    out: "List[Tuple[DiskReport, Dict[str, Any], HostDisk, str, str]]" = []
    guests = [(g, guest_keys(g)) for g in report.disks
              if g.transport.kind not in ("device-mapper", "md")]
    for key in KEYS:
        for guest, gkeys in guests:
            value = getattr(gkeys, key)
            if any(m[0] is guest for m in out) or not value:
                continue
            for index, (given, typed, hkeys) in enumerate(host_disks):
                if index in used or not getattr(hkeys, key):
                    continue
                if _same(key, value, getattr(hkeys, key), guest.transport.kind):
                    used.add(index)
                    out.append((guest, given, typed, key, value))
                    break
    return out


def conflicts(guest: "DiskReport", host: "HostDisk") -> "List[Conflict]":
    """Where the guest's and the host's view of one disk disagree."""
    name = guest.name
    kind = guest.transport.kind
    mode = guest.transport.mode
    found = []

    def add(code: str, text: str) -> None:
        found.append(Conflict(name, host.target_dev, code, text))

    if kind == "virtio-blk" and host.bus != "virtio":
        add("bus_differs", f"The guest sees {name} as virtio-blk, the host's XML puts it on "
            f"bus='{host.bus}'.")
    if kind == "virtio-scsi" and mode == "passthrough" and host.device != "lun":
        add("guest_passthrough_host_disk",
            f"The guest sees the LU's own identity on {name} (pass-through), but the host's XML "
            f"says device='{host.device}' ({host.qemu_device}), which QEMU emulates.")
    if kind == "virtio-scsi" and mode == "emulated" and host.device == "lun":
        add("guest_emulated_host_lun",
            f"The guest sees QEMU's emulated disk on {name}, but the host's XML says "
            "device='lun' (pass-through).")
    pr_ok = guest.facts.persistent_reservations.read_keys_outcome == "ok"
    if pr_ok and host.device != "lun":
        add("guest_pr_works_host_disk",
            f"PERSISTENT RESERVE IN works on {name} in the guest, but the host's XML says "
            f"device='{host.device}', where QEMU implements no reservations.")
    gserial = guest_keys(guest).serial
    hserial = _text(host.serial)
    if gserial and hserial and not _same("serial", gserial, hserial, kind):
        add("serial_differs", f"The guest reads serial {gserial!r} on {name}, the host's XML "
            f"gives {hserial!r}.")
    cache = guest.inventory.write_cache
    if (cache == "write through" and mode != "passthrough" and kind in ("virtio-blk", "virtio-scsi")
            and host.cache_effective in ("none", "writeback", "unsafe")):
        add("write_cache_differs", f"The guest sees a write-through cache on {name}, but the "
            f"host's cache='{host.cache_effective}' gives it a write-back cache.")
    return found


STRONG_KEYS = ("serial", "lu_designator")  # name the disk itself, not a place on a bus


def attach(report: "Report", domains: "List[Dict[str, Any]]", source: str,
           require_strong: bool = False) -> bool:
    """Put the best-matching domain's facts into ``report.host_join`` (before the rules run):
    most disks matched by serial or LU designator, then most matched at all. False (nothing
    attached) when no disk matches; with ``require_strong`` (compare, where several nodes' hosts
    are given) also when none matches by serial or LU designator, since SCSI addresses and PCI
    slots repeat from machine to machine."""
    best: "Tuple[Tuple[int, int], Any, Any]" = ((0, 0), None, None)
    for index, given in enumerate(domains):
        typed = HostDomain.from_dict(given, f"domains[{index}]")
        matches = match_domain(report, given, typed)
        score = (sum(1 for m in matches if m[3] in STRONG_KEYS), len(matches))
        if score > best[0] and (score[0] or not require_strong):
            best = (score, (given, typed), matches)
    if best[1] is None:
        return False
    _, (given_domain, domain), matches = best
    joined = {}
    matched = []
    found_conflicts: "List[Conflict]" = []
    for guest, given, host, key, value in matches:
        joined[guest.name] = JoinedDisk(without_verdicts(given), key, value)
        matched.append(JoinMatch(guest.name, host.target_dev, key, value))
        found_conflicts.extend(conflicts(guest, host))
    matched_hosts = {m.host_disk for m in matched}
    report.host_join = HostJoin(
        source=source,
        host_redacted=bool(domain.host_redacted),
        domain=domain.name,
        domain_facts=domain_facts(given_domain),
        weak_only=not any(m.matched_by in STRONG_KEYS for m in matched),
        matches=matched,
        unmatched_guest_disks=[d.name for d in report.disks if d.name not in joined],
        unmatched_host_disks=[d.target_dev for d in domain.disks
                              if d.target_dev not in matched_hosts],
        conflicts=found_conflicts,
        disks=joined,
    )
    return True


def _statuses(report: "Report") -> "Dict[Tuple[str, str], Verdict]":
    out = {}
    for disk in report.disks:
        for verdict in disk.verdicts:
            out[(disk.name, verdict.feature)] = verdict
    for verdict in report.guest_verdicts:
        out[("guest", verdict.feature)] = verdict
    return out


def join_report(report: "Report", host_document: "Any", path: str,
                checker: "Callable[[Report], None]", redaction: "Any" = None,
                key: "Optional[bytes]" = None, label: str = "the report") -> "HostJoin":
    """Judge ``report`` (already judged without the host) again with the host's facts and
    record every verdict that changed. BadInputError when nothing matches, or when ``label``
    is redacted (its manifest's ``redaction``) and the host view cannot be (``host_view_for``)."""
    domains = host_view_for(check_host_document(host_document, path), redaction, key, label)
    joined = join_domains(report, domains, path, checker)
    if joined is None:
        names = ", ".join(str(HostDomain.from_dict(d, f"domains[{i}]").name)
                          for i, d in enumerate(domains))
        raise BadInputError(
            f"{path}: no disk of this report matches a disk of the host's domains "
            f"({names or 'none'}) by serial, LU designator, SCSI address or PCI slot"
        )
    return joined


def read_host_json(path: str) -> "Any":
    """A ``guestprobe host --json`` file, read bounded; a domain XML given in its place is
    refused with where to get the JSON from."""
    from guestprobe.document.inputs import load_json, read_input_file

    data = read_input_file(path)
    if data.lstrip()[:1] == b"<":
        raise BadInputError(
            f"{path}: a domain XML, not the host's JSON: make that with 'guestprobe host "
            f"--xml {path} --json -o HOST.json' and give --host HOST.json")
    return load_json(data, path)


def load_host_file(path: str) -> "List[Dict[str, Any]]":
    """The domains of a host document file (read bounded; BadInputError when foreign)."""
    return check_host_document(read_host_json(path), path)


def join_domains(report: "Report", domains: "List[Dict[str, Any]]", source: str,
                 checker: "Callable[[Report], None]", require_strong: bool = False
                 ) -> "Optional[HostJoin]":
    """:func:`join_report` over domains already read; None when no disk matches."""
    before = _statuses(report)
    if not attach(report, domains, source, require_strong):
        return None
    checker(report)
    changes = []
    for where, verdict in _statuses(report).items():
        old = before.get(where)
        old_codes = old.codes if old else []
        if old is None or old.status != verdict.status or old_codes != verdict.codes:
            changes.append(Change(where[0], where[1], old.status if old else None, old_codes,
                                  verdict.status, verdict.codes))
    report.host_join = replace(report.host_join, changes=changes)
    return report.host_join


def render_join(join: "HostJoin") -> str:
    """The join's summary for the terminal (escaped by the caller)."""
    from guestprobe.report.table import grid

    lines = [f"HOST JOIN: domain {join.domain} ({join.source})", ""]
    if join.host_redacted:
        lines += [HOST_REDACTED_NOTE[0].upper() + HOST_REDACTED_NOTE[1:] + ".", ""]
    if join.weak_only:
        lines += ["Matched by SCSI address or PCI slot only (no serial or LU designator in "
                  "common): check that this is the guest's own domain.", ""]
    lines.append(grid(["GUEST DISK", "HOST DISK", "MATCHED BY", "KEY"],
                      [[m.guest_disk, str(m.host_disk), m.matched_by, m.key]
                       for m in join.matches]))
    if join.unmatched_guest_disks:
        lines.append("guest disks without a host disk: " + ", ".join(
            str(n) for n in join.unmatched_guest_disks))
    if join.unmatched_host_disks:
        lines.append("host disks the guest did not report: " + ", ".join(
            str(n) for n in join.unmatched_host_disks))
    lines.append("")
    if join.conflicts:
        lines.append("CONFLICTS between the guest's and the host's view:")
        lines.extend(f"  - {c.disk}: {c.code}: {c.text}" for c in join.conflicts)
        lines.append("")
    if join.changes:
        lines.append("VERDICTS THE HOST'S FACTS CHANGED (before -> after):")
        lines.append(grid(["DISK", "FEATURE", "BEFORE", "AFTER", "REASONS NOW"], [
            [c.disk, c.feature, str(c.before), c.after, ", ".join(c.after_codes)]
            for c in join.changes
        ]))
        lines.append("")
    return "\n".join(lines) + "\n"
