"""The cluster comparison's records: what ``guestprobe compare --json`` prints.

Built by :func:`guestprobe.bundle.compare.compare_nodes` from several nodes' typed reports and
judged by :mod:`guestprobe.check.cluster`; ``Comparison.to_dict()`` is the JSON (its key names
are spelled here only), ``Comparison.from_dict()`` reads it back, checked.

Comparison
├── nodes: [ComparedNode]
├── logical_units: [LuRow]          one per LU designator
│   ├── paths: {node: [PathState]}  each node's paths to it, their PR answers
│   ├── host_disks: {node: [JoinedHostDisk]}  compare --host: the host disks they were joined with
│   ├── holders: [Holder], use: ClusterVerdict | None, verdicts: [ClusterVerdict]
├── coordinator_disks: CoordinatorDisks
└── cluster_verdicts: [ClusterVerdict]
"""


import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from guestprobe.decode.persist import KeyOwner, Reservation
from guestprobe.document.codec import Record, load


@dataclass(frozen=True)
class ClusterVerdict(Record):
    """One cluster-scope finding: a stable code, a status on the disk verdicts' scale."""

    code: str
    status: str  # usable | degraded | not_usable | unknown
    text: str
    lu_designator: "Optional[str]" = None  # None: about the whole cluster
    nodes: "Tuple[str, ...]" = ()


@dataclass(frozen=True)
class ReservationRead:
    """READ RESERVATION as one path read it: the reservation held, or none (JSON ``{}``)."""

    held: "Optional[Reservation]" = None

    def to_dict(self) -> "Dict[str, Any]":
        return {} if self.held is None else self.held.to_dict()

    @classmethod
    def from_dict(cls, data: "Any", where: str = "reservation") -> "ReservationRead":
        if not data:
            return cls(None)
        return cls(load(Reservation, data, where))


@dataclass(frozen=True)
class PathRegistration(Record):
    """One READ FULL STATUS registration as compare shows it (the initiator without its
    session: an iSCSI name without the ISID)."""

    key_hex: str
    reservation_holder: bool
    relative_target_port: "Optional[int]"
    all_tg_pt: bool
    initiator: "Optional[str]"  # "<protocol> <initiator>"
    isid: "Optional[str]"


@dataclass(frozen=True)
class PathState(Record):
    """One path's PR answer: its READ KEYS outcome, its fencing verdicts, the conclusion."""

    disk: str
    read_keys_outcome: "Optional[str]"
    fencing_verdicts: "List[str]"
    pr_capable: str  # yes | no | unknown
    reservation: "Optional[ReservationRead]"  # None: not read
    keys: "Optional[List[str]]"  # READ KEYS' keys in hex, None: not read
    full_status_outcome: "Optional[str]"  # None: not collected
    registrations: "Optional[List[PathRegistration]]"

    @property
    def held_key(self) -> "Optional[str]":
        """The key of the reservation this path reads held, if any."""
        held = self.reservation.held if self.reservation is not None else None
        return held.key_hex if held is not None else None


@dataclass(frozen=True)
class JoinedHostDisk(Record):
    """compare --host: the host disk a node's disk was joined with, and which host view."""

    host: str
    target_dev: "Optional[str]"
    kind: "Optional[str]"
    passthrough: bool
    reservations: "Optional[Dict[str, Any]]"  # the host disk's <reservations>, as joined

    @classmethod
    def of(cls, host: str, disk: "Dict[str, Any]") -> "JoinedHostDisk":
        """From the host join's disk record."""
        return cls(host, disk.get("target_dev"), disk.get("kind"),
                   bool(disk.get("passthrough")), disk.get("reservations"))

    @property
    def pr_helper_socket(self) -> "Optional[str]":
        """The qemu-pr-helper socket given for this disk (not the one libvirt manages)."""
        reservations = self.reservations or {}
        return None if reservations.get("managed") else reservations.get("socket_path")


@dataclass(frozen=True)
class Holder(Record):
    """Who holds an LU (its READ RESERVATION key decoded), by each node's reading."""

    key_hex: str
    scheme: str
    cluster: "Optional[str]"
    node: "Optional[str]"
    label: str
    text: str
    holder_text: str
    type_name: "Optional[str]"  # the reservation type
    seen_from: "Tuple[str, ...]"  # the nodes whose PR IN showed it

    @classmethod
    def of(cls, owner: "KeyOwner", type_name: "Optional[str]", nodes: "Tuple[str, ...]"
           ) -> "Holder":
        return cls(owner.key_hex, owner.scheme, owner.cluster, owner.node, owner.label,
                   owner.text, owner.holder_text, type_name, tuple(nodes))


@dataclass(frozen=True)
class LuRow(Record):
    """One LU: who sees it, whether PR-capable where seen, its holder, its verdicts."""

    lu_designator: str
    identity: str
    size_bytes: "Optional[int]"
    paths: "Dict[str, List[PathState]]"
    host_disks: "Dict[str, List[JoinedHostDisk]]"
    seen_by: "List[str]"
    missing_from: "List[str]"
    pr_capable_by_node: "Dict[str, str]"
    seen_by_all: bool
    pr_capable_where_seen: str
    pr_capable_from_all: str
    holders: "List[Holder]"
    use: "Optional[ClusterVerdict]"
    verdicts: "List[ClusterVerdict]"


@dataclass(frozen=True)
class ComparedNode(Record):
    name: str
    source: str
    disk_count: int
    notes: "List[str]"
    host: "Optional[str]"


@dataclass(frozen=True)
class CoordinatorDisks(Record):
    """Whether the LUs shared by every node can hold the coordinator disks."""

    code: str
    candidates: "List[str]"  # LU designators seen and PR-capable from every node
    candidate_count: int
    largest_odd_set: int
    enough: bool
    unconfirmed: "List[str]"  # seen by all, PR IN answers, verdict unknown
    reason: str


@dataclass(frozen=True)
class Comparison(Record):
    """The cluster comparison (``guestprobe compare --json``)."""

    nodes: "List[ComparedNode]"
    cluster_id: "Optional[int]"
    logical_units: "List[LuRow]"
    disks_without_designator: "Dict[str, List[str]]"
    missing_by_node: "Dict[str, List[str]]"
    coordinator_disks: "CoordinatorDisks"
    cluster_verdicts: "List[ClusterVerdict]" = field(default_factory=list)


def report_fingerprint(document: "Dict[str, Any]") -> str:
    """What makes two reports the same collection (the report as saved, its JSON): host, start
    time, every disk's raw record."""
    scan = document.get("scan") or {}
    basis = {
        "platform": document.get("platform"),
        "started_at": scan.get("started_at"),
        "disks": [(d.get("inventory"), d.get("probes")) for d in document.get("disks") or []],
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()

