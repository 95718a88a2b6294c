"""The fencing test's JSON records: one node's step record (``fencing-node``, what a node sends
the controller) and the cross-node verdict (``fencing-cluster``), see docs/fencing.md and
docs/cluster.md. Their key names are spelled here only: ``to_dict()`` gives the JSON, and
``from_dict()`` reads another node's record as data from outside (one line naming the field).
"""


from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from guestprobe.document.codec import Record
from guestprobe.document.model import Tool

NODE_KIND = "fencing-node"
CLUSTER_KIND = "fencing-cluster"


def is_node_record(data: "Any") -> bool:
    """Whether JSON ``data`` is a fencing-node step record (by its ``kind``)."""
    return isinstance(data, dict) and data.get("kind") == NODE_KIND


@dataclass(frozen=True)
class RefusalRecord(Record):
    """Why the test (or one node's preflight) sends nothing to the LU."""

    code: str
    role: str
    text: str


@dataclass
class StepRecord(Record):
    """One command sent, and what it showed (a step of fencing-test or of a fencing-node)."""

    id: str
    title: str = ""
    phase: str = ""
    path: str = ""  # the path's role: target or peer
    argv: "List[str]" = field(default_factory=list)
    command: str = ""
    expected: str = ""
    status: str = "not_run"
    exit_status: "Optional[int]" = None
    exit_meaning: "Optional[str]" = None
    outcome: "Optional[str]" = None
    attempts: int = 0
    exit_statuses: "List[Optional[int]]" = field(default_factory=list)
    duration_s: float = 0.0
    detail: str = ""
    observed: "Optional[Dict[str, Any]]" = None  # the decoded PR IN answer (decode.persist)
    stdout_hex: str = ""
    stderr: str = ""

    def keys_hex(self) -> "Optional[List[str]]":
        """READ KEYS' keys as hex (None: not observed)."""
        if self.observed is None:
            return None
        return list(self.observed.get("keys_hex") or [])

    def observed_keys(self) -> "Optional[List[int]]":
        """READ KEYS' keys (None: not observed)."""
        if self.observed is None:
            return None
        return list(self.observed.get("keys") or [])

    def held(self) -> "Optional[Held]":
        """READ RESERVATION's reservation (None: none held, or not observed)."""
        reservation = (self.observed or {}).get("reservation")
        if not isinstance(reservation, dict):
            return None
        return Held(reservation.get("key_hex"), reservation.get("type_code"))


@dataclass(frozen=True)
class Held:
    """A reservation as READ RESERVATION showed it: the holder's key and the type."""

    key_hex: "Optional[str]"
    type_code: "Optional[int]"


@dataclass(frozen=True)
class PathRecord(Record):
    """What the preflight scan found out about one path (fencing.preflight.PathFacts)."""

    role: str
    name: str
    dev_path: str
    device: str
    status: str = "probed"
    transport: "Optional[str]" = None
    vendor_product: "Optional[str]" = None
    lu_designator: "Optional[str]" = None
    holders: "List[str]" = field(default_factory=list)
    mounts: "List[Dict[str, str]]" = field(default_factory=list)
    swaps: "List[str]" = field(default_factory=list)
    pr_in_outcome: "Optional[str]" = None
    pr_in_exit_status: "Optional[int]" = None
    pr_in_meaning: "Optional[str]" = None
    keys: "Optional[List[str]]" = None  # hex; None: READ KEYS did not work
    reservation: "Optional[Dict[str, Any]]" = None
    evidence: "List[Dict[str, Any]]" = field(default_factory=list)


@dataclass
class NodeRecord(Record):
    """One node's record of one step (``guestprobe fencing-node STEP``): a JSON line."""

    kind: str
    step: str
    node: int
    schema_version: int = 1
    run_id: "Optional[str]" = None
    lu: "Optional[str]" = None
    nodes: "Optional[int]" = None
    holder: "Optional[int]" = None
    victim: "Optional[int]" = None
    role: "Optional[str]" = None
    key: "Optional[str]" = None
    host: "Optional[str]" = None
    device: "Optional[str]" = None
    dev_path: "Optional[str]" = None
    other_paths: "List[str]" = field(default_factory=list)
    preflight: "Optional[PathRecord]" = None
    refusals: "List[RefusalRecord]" = field(default_factory=list)
    steps: "List[StepRecord]" = field(default_factory=list)
    status: "Optional[str]" = None
    error: "Optional[str]" = None
    interrupted: "Optional[str]" = None
    cleanup: "Optional[Dict[str, Any]]" = None
    duration_s: float = 0.0

    def preflight_keys(self) -> "Optional[List[str]]":
        """The keys (hex) the preflight read on this node (None: not read)."""
        return None if self.preflight is None else self.preflight.keys


@dataclass(frozen=True)
class FenceProof(Record):
    """The fence proof (:func:`guestprobe.fencing.proof.summarize`)."""

    result: str
    text: str
    write_side: str
    answers: "Dict[str, Optional[str]]"


@dataclass(frozen=True)
class NodeEntry(Record):
    node: int
    host: str
    role: str
    device: str
    key: "Optional[str]"


@dataclass(frozen=True)
class HostRefusal(Record):
    host: str
    code: str
    role: str
    text: str


@dataclass(frozen=True)
class Row(Record):
    """One command one node sent."""

    node: int
    host: str
    role: str
    step: str
    id: str
    command: str
    exit_status: "Optional[int]"
    status: str
    attempts: int
    detail: str


@dataclass(frozen=True)
class View(Record):
    """What one node's READ KEYS and READ RESERVATION showed."""

    keys: "Optional[List[str]]"
    reservation: "Optional[List[Any]]"  # [key_hex, type_code]


@dataclass(frozen=True)
class Leftover(Record):
    host: str
    what: str
    commands: "List[str]"


@dataclass(frozen=True)
class ClusterCleanup(Record):
    verified: bool
    leftovers: "List[Leftover]"


@dataclass(frozen=True)
class FencingOutcome(Record):
    """A fencing test's verdict (fencing-test's, and fencing-cluster's over the nodes): a
    stable code, the sentence, the exit status."""

    code: str
    text: str
    exit_status: int



@dataclass(frozen=True)
class ClusterDocument(Record):
    """The cross-node verdict (``guestprobe fencing-cluster``)."""

    kind: str
    schema_version: int
    run_id: "Optional[str]"
    lu: "Optional[str]"
    nodes: "List[NodeEntry]"
    refusals: "List[HostRefusal]"
    rows: "List[Row]"
    views: "Dict[str, View]"
    fence_proof: "FenceProof"
    cleanup: "ClusterCleanup"
    verdict: "FencingOutcome"


@dataclass(frozen=True)
class DiskLeftover(Record):
    """What fencing-test's cleanup left (or could not check), and the command that removes it."""

    key: "Optional[str]"
    path: str
    device: str
    what: str
    commands: "List[str]"


@dataclass(frozen=True)
class FencingCleanup(Record):
    verified: bool
    leftovers: "List[DiskLeftover]"
    pending_commands: int
    interrupted: "Optional[str]"
    error: "Optional[str]"


@dataclass(frozen=True)
class RunKeysRecord(Record):
    """This run's keys (hex) and their format."""

    format: str
    run_id: str
    target: str
    peer: "Optional[str]"


@dataclass(frozen=True)
class FencingDocument(Record):
    """The fencing-test report (``guestprobe fencing-test --json``)."""

    schema_version: str
    kind: str
    tool: "Tool"
    generated_at: str
    duration_s: float
    target: "PathRecord"
    peer: "Optional[PathRecord]"
    other_paths: "List[PathRecord]"
    keys: "RunKeysRecord"
    options: "Dict[str, Any]"
    plan: "Dict[str, Any]"
    refusals: "List[RefusalRecord]"
    steps: "List[StepRecord]"
    keys_before: "Optional[List[str]]"
    keys_after: "Optional[List[str]]"
    reservation_before: "Optional[Dict[str, Any]]"
    reservation_after: "Optional[Dict[str, Any]]"
    cleanup: "Optional[FencingCleanup]"
    fence_proof: "Optional[FenceProof]"
    verdict: "FencingOutcome"
