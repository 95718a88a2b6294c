"""The KVM host's documents as typed records: what ``guestprobe host`` writes (one
:class:`HostDocument` of :class:`HostDomain` s of :class:`HostDisk` s, schema:
guestprobe/host/schema.json) and the join that ``report --host`` / ``compare --host`` add to a
report as ``host_join`` (:class:`HostJoin`). The field names are the JSON keys, spelled only here.

The host disk's and the domain's facts the rules read (``host.disk.*``, ``host.domain.*``) are
carried into the join as they were given (``JoinedDisk.disk``, ``HostJoin.domain_facts``): they
are the rules' data, like a verdict's ``details``. A domain of a host document is read
with ``HostDomain.from_dict`` (checked; a key absent is None, as in a host document of an older
guestprobe, and keys this guestprobe does not know are left out of the record).
"""


from dataclasses import dataclass, field
from typing import Any, Dict, List, NamedTuple, Optional

from guestprobe.document.codec import Record
from guestprobe.document.verdict import Verdict
from guestprobe.errors import BadInputError

__all__ = [
    "Change", "Conflict", "HostDisk", "HostDocument", "HostDomain", "HostJoin", "JoinKeys",
    "JoinMatch", "JoinedDisk", "Reservations", "Tool",
]


@dataclass(frozen=True)
class Reservations(Record):
    """A disk's ``<reservations>``: persistent reservations through qemu-pr-helper."""

    enabled: "Optional[bool]" = None
    managed: "Optional[bool]" = None
    socket_path: "Optional[str]" = None


@dataclass(frozen=True)
class HostDisk(Record):
    """One disk of a domain as the host's XML (or KubeVirt VMI) gives it, with its verdicts."""

    target_dev: "Optional[str]" = None
    bus: "Optional[str]" = None
    device: "Optional[str]" = None
    type: "Optional[str]" = None
    qemu_device: "Optional[str]" = None
    passthrough: "Optional[bool]" = None
    driver_name: "Optional[str]" = None
    driver_type: "Optional[str]" = None
    cache: "Optional[str]" = None
    cache_effective: "Optional[str]" = None
    host_cache_off: "Optional[bool]" = None
    io: "Optional[str]" = None
    discard: "Optional[str]" = None
    discard_effective: "Optional[str]" = None
    discard_unmap: "Optional[bool]" = None
    detect_zeroes: "Optional[str]" = None
    error_policy: "Optional[str]" = None
    error_policy_effective: "Optional[str]" = None
    rerror_policy: "Optional[str]" = None
    rerror_policy_effective: "Optional[str]" = None
    sgio: "Optional[str]" = None
    sgio_effective: "Optional[str]" = None
    rawio: "Optional[bool]" = None
    reservations: "Reservations" = field(default_factory=Reservations)
    pr_helper_running: "Optional[bool]" = None
    shareable: "Optional[bool]" = None
    readonly: "Optional[bool]" = None
    source: "Dict[str, Any]" = field(default_factory=dict)  # kind, path, protocol, name, ...
    serial: "Optional[str]" = None
    wwn: "Optional[str]" = None
    vendor: "Optional[str]" = None
    product: "Optional[str]" = None
    lu_designator: "Optional[str]" = None
    pci_slot: "Optional[str]" = None
    scsi_address: "Optional[str]" = None
    address: "Optional[str]" = None
    controller_model: "Optional[str]" = None
    controller_pci_slot: "Optional[str]" = None
    alias: "Optional[str]" = None
    verdicts: "List[Verdict]" = field(default_factory=list)

    @property
    def source_kind(self) -> "Any":
        return self.source.get("kind")

    @property
    def source_where(self) -> "Any":
        """The source's path, else its name (an iSCSI target, a pool's volume)."""
        return self.source.get("path") or self.source.get("name")


@dataclass(frozen=True)
class HostDomain(Record):
    """One domain (or KubeVirt VMI) of the host: its facts, its disks, its own verdicts."""

    OMIT_NONE = ("host_redacted",)

    name: "Optional[str]" = None
    uuid: "Optional[str]" = None
    domain_type: "Optional[str]" = None
    state: "Optional[str]" = None
    machine: "Optional[str]" = None
    machine_family: "Optional[str]" = None
    emulator: "Optional[str]" = None
    controllers: "List[Dict[str, Any]]" = field(default_factory=list)
    pci_buses: "List[Dict[str, Any]]" = field(default_factory=list)
    pci_addresses_complete: "Optional[bool]" = None
    free_pci_slots: "Optional[int]" = None
    free_hotplug_slots: "Optional[int]" = None
    virtio_devices: "List[Dict[str, Any]]" = field(default_factory=list)
    virtio_device_count: "Optional[int]" = None
    virtio_blk_count: "Optional[int]" = None
    virtio_net_count: "Optional[int]" = None
    virtio_scsi_controller_count: "Optional[int]" = None
    disk_count: "Optional[int]" = None
    disks: "List[HostDisk]" = field(default_factory=list)
    source: "Dict[str, Any]" = field(default_factory=dict)  # libvirt uri, or the file read
    domain_verdicts: "List[Verdict]" = field(default_factory=list)
    host_redacted: "Optional[bool]" = None  # set by a join of a redacted bundle


@dataclass(frozen=True)
class Tool(Record):
    """The program that wrote a document (a report, a host document): its name and version."""

    name: str
    version: str


@dataclass(frozen=True)
class HostDocument(Record):
    """The JSON document of ``guestprobe host``."""

    schema_version: str
    kind: str
    tool: "Tool"
    generated_at: str
    host: "Dict[str, Any]"  # hostname and where the domains were read
    domains: "List[HostDomain]"


class JoinKeys(NamedTuple):
    """The keys one disk is joined by, on either side (host.join.KEYS, in the order tried)."""

    serial: "Optional[str]"
    lu_designator: "Optional[str]"
    scsi_address: "Optional[str]"
    pci_slot: "Optional[str]"


@dataclass(frozen=True)
class JoinMatch(Record):
    """A guest disk and the host disk it is, and the key that says so."""

    guest_disk: "Optional[str]"
    host_disk: "Optional[str]"
    matched_by: str  # one of host.join.KEYS
    key: str


@dataclass(frozen=True)
class JoinedDisk(Record):
    """What the rules of one guest disk see as ``host``: the host disk's facts as given."""

    disk: "Dict[str, Any]"
    matched_by: str
    key: str


@dataclass(frozen=True)
class Conflict(Record):
    """Where the guest's and the host's view of one disk disagree."""

    disk: "Optional[str]"
    host_disk: "Optional[str]"
    code: str
    text: str


@dataclass(frozen=True)
class Change(Record):
    """A verdict the host's facts changed."""

    disk: "Optional[str]"  # a guest disk's name, or "guest"
    feature: str
    before: "Optional[str]"
    before_codes: "List[str]"
    after: str
    after_codes: "List[str]"


@dataclass(frozen=True)
class HostJoin(Record):
    """A report's join to its KVM host's domain (``report --host``, ``compare --host``)."""

    source: str
    host_redacted: bool
    domain: "Optional[str]"
    domain_facts: "Dict[str, Any]"  # the domain without its disks and verdicts: host.domain
    weak_only: bool
    matches: "List[JoinMatch]"
    unmatched_guest_disks: "List[Optional[str]]"
    unmatched_host_disks: "List[Optional[str]]"
    conflicts: "List[Conflict]"
    disks: "Dict[str, JoinedDisk]"  # by guest disk name
    changes: "List[Change]" = field(default_factory=list)


# -- a host document as it is given: the domains' facts the rules read, checked first --------

_HOST_KIND = "guestprobe-host"
MISSING_FACT = object()
_TEXT_KEYS = ("serial", "lu_designator", "scsi_address", "pci_slot", "controller_pci_slot",
              "target_dev")


def host_document_domains(document: "Any", path: str, schema_version: str, max_per_domain: int,
                          max_disks: int) -> "List[Dict[str, Any]]":
    """The domains of a ``guestprobe host`` JSON document (as given); BadInputError (exit 8)
    unless it is one of ``schema_version``'s major version, within the bounds a join reads."""
    if not isinstance(document, dict) or document.get("kind") != _HOST_KIND:
        raise BadInputError(f"{path}: not a guestprobe host document (guestprobe host --json)")
    version = document.get("schema_version")
    major = schema_version.split(".", maxsplit=1)[0]
    if not isinstance(version, str) or version.split(".")[0] != major:
        raise BadInputError(f"{path}: host document schema {version!r}, this guestprobe reads "
                            f"{major}.x")
    domains = document.get("domains")
    if not isinstance(domains, list) or not all(
        isinstance(d, dict) and isinstance(d.get("disks"), list)
        and all(isinstance(x, dict) for x in d["disks"]) for d in domains
    ):
        raise BadInputError(f"{path}: domains[].disks[] must be lists of objects")
    counts = [len(d["disks"]) for d in domains]
    if max(counts, default=0) > max_per_domain or sum(counts) > max_disks:
        raise BadInputError(f"{path}: {sum(counts)} host disks (at most {max(counts)} in one "
                            f"domain), more than the {max_disks} (and "
                            f"{max_per_domain} per domain) a join reads")
    for d in domains:
        for disk in d["disks"]:
            for key in _TEXT_KEYS:
                if disk.get(key) is not None and not isinstance(disk.get(key), str):
                    raise BadInputError(f"{path}: domains[].disks[].{key} must be a string")
    return domains


def given_disks(domain: "Dict[str, Any]") -> "List[Dict[str, Any]]":
    """A domain's disks as given."""
    return domain["disks"]


def domain_facts(domain: "Dict[str, Any]") -> "Dict[str, Any]":
    """The domain without its disks and verdicts: what rules see as ``host.domain``."""
    return {k: v for k, v in domain.items() if k not in ("disks", "domain_verdicts")}


def without_verdicts(disk: "Dict[str, Any]") -> "Dict[str, Any]":
    """A host disk's facts as given, without its verdicts: what rules see as ``host.disk``."""
    return {k: v for k, v in disk.items() if k != "verdicts"}


def mark_redacted(domain: "Dict[str, Any]") -> "Dict[str, Any]":
    """A domain (as given) marked as redacted with the bundle's key."""
    return dict(domain, host_redacted=True)


def with_facts(domain: "Dict[str, Any]", state: "Any" = MISSING_FACT,
               source: "Any" = MISSING_FACT,
               disks_running: "Optional[List[Optional[bool]]]" = None) -> "Dict[str, Any]":
    """A domain as decoded (the XML's or the VMI's dicts), with what the host adds: its
    ``state`` (libvirt's), its ``source`` (where it was read) and each disk's
    ``pr_helper_running``; the keys stay where the decoder put them."""
    out = dict(domain)
    if state is not MISSING_FACT:
        out["state"] = state
    if source is not MISSING_FACT:
        out["source"] = source
    if disks_running is not None:
        out["disks"] = [dict(disk, pr_helper_running=running)
                        for disk, running in zip(domain["disks"], disks_running)]
    return out
