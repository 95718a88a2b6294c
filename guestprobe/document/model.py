"""The typed report: what a scan found and judged, the records every layer after decoding reads.

The JSON document (schema.json) is these records' ``to_dict()``; their field names are its keys,
so this package is the only place the keys are spelled. A report read back is built with
:func:`guestprobe.document.read.read_report` (the raw collection checked and decoded again);
:meth:`Report.from_dict` builds the records from the JSON, checked (:func:`codec.load`).

Report
├── scan: ScanSummary            (options, counts, engine)
├── platform: PlatformFacts      (collect.platform)
├── disks: [DiskReport]
│   ├── transport: Transport     (classify.transport)
│   ├── facts: Facts             one group per probe (or probes), each with its evidence ids,
│   │                            holding the decoders' own records (decode/)
│   ├── inventory: BlockDisk     (collect.discover), probes: [ProbeResult] (collect.probe)
│   └── verdicts: [Verdict]      (document.verdict)
├── logical_units: [LogicalUnit]
└── guest_verdicts: [Verdict]
"""


from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Tuple

from guestprobe.classify.transport import Transport
from guestprobe.collect.discover import BlockDisk
from guestprobe.collect.platform import PlatformFacts
from guestprobe.collect.probe import ProbeResult
from guestprobe.decode.inquiry import StandardInquiry
from guestprobe.decode.nvme import NvmeIdentifyController
from guestprobe.decode.persist import (
    FullStatus,
    PrCapabilities,
    ReadKeys,
    ReadReservation,
    VeritasKey,
)
from guestprobe.decode.readcap import ReadCapacity16
from guestprobe.decode.vpd import (
    BlockDeviceCharacteristics,
    BlockLimits,
    Designator,
    LogicalBlockProvisioning,
)
from guestprobe.document.codec import Record, load
from guestprobe.document.host import HostJoin, Tool
from guestprobe.document.verdict import Reason, Remedy, Verdict

__all__ = [
    "DiskReport", "Facts", "LogicalUnit", "Reason", "Remedy", "Report", "ScanSummary", "Verdict",
]


@dataclass(frozen=True)
class Passthrough(Record):
    """Did SCSI pass-through answer at all (the INQUIRY's outcome)."""

    inquiry_outcome: "Optional[str]"
    works: "Optional[bool]"
    evidence: "List[str]"


@dataclass(frozen=True)
class InquiryFacts(Record):
    """Standard INQUIRY data (live, else the kernel's copy), or NVMe Identify Controller."""

    decoded: "Optional[StandardInquiry]"
    nvme_identify_controller: "Optional[NvmeIdentifyController]"
    source: "Optional[str]"


@dataclass(frozen=True)
class Identity(Record):
    """Who the disk says it is: INQUIRY's names, VPD 0x80 and 0x83, the kernel's serial/WWID."""

    vendor: "Optional[str]"
    product: "Optional[str]"
    revision: "Optional[str]"
    unit_serial_number: "Optional[str]"
    kernel_serial: "Optional[str]"
    wwid: "Optional[str]"
    supported_vpd_pages: "Optional[List[int]]"
    designators: "List[Designator]"
    lu_designator: "Optional[str]"
    lu_designator_type: "Optional[str]"
    vpd_0x83_outcome: "Optional[str]"
    evidence: "List[str]"

    @property
    def vendor_product(self) -> str:
        """``VENDOR PRODUCT`` as INQUIRY names the disk (the one place they are joined)."""
        return " ".join(part for part in (self.vendor, self.product) if part)


@dataclass(frozen=True)
class CapacityFacts(Record):
    outcome: "Optional[str]"
    decoded: "Optional[ReadCapacity16]"
    evidence: "List[str]"


@dataclass(frozen=True)
class BlockLimitsFacts(Record):
    decoded: "Optional[BlockLimits]"
    outcome: "Optional[str]"
    evidence: "List[str]"


@dataclass(frozen=True)
class BlockDeviceCharacteristicsFacts(Record):
    decoded: "Optional[BlockDeviceCharacteristics]"
    outcome: "Optional[str]"
    evidence: "List[str]"


@dataclass(frozen=True)
class ProvisioningFacts(Record):
    decoded: "Optional[LogicalBlockProvisioning]"
    outcome: "Optional[str]"
    evidence: "List[str]"


@dataclass(frozen=True)
class FullStatusFacts(Record):
    """READ FULL STATUS: each registration's key and TransportID (outcome None: not collected)."""

    decoded: "Optional[FullStatus]"
    outcome: "Optional[str]"
    evidence: "List[str]"


@dataclass(frozen=True)
class PersistentReservations(Record):
    """The three PR IN probes: READ KEYS, READ RESERVATION, REPORT CAPABILITIES."""

    read_keys_outcome: "Optional[str]"
    read_reservation_outcome: "Optional[str]"
    report_capabilities_outcome: "Optional[str]"
    keys: "Optional[ReadKeys]"
    registered_key_count: "Optional[int]"
    veritas_keys: "List[VeritasKey]"
    reservation: "Optional[ReadReservation]"
    capabilities: "Optional[PrCapabilities]"
    evidence: "List[str]"


@dataclass(frozen=True)
class SupportedOpcodesFacts(Record):
    """REPORT SUPPORTED OPERATION CODES: how many, and the commands the rules ask about."""

    outcome: "Optional[str]"
    count: "Optional[int]"
    commands_of_interest: "Optional[Dict[str, bool]]"
    evidence: "List[str]"


@dataclass(frozen=True)
class WriteSameProbe(Record):
    outcome: "Optional[str]"
    exit_status: "Optional[int]"
    implemented: "Optional[bool]"


@dataclass(frozen=True)
class WriteSameFacts(Record):
    """The WRITE SAME probes' outcomes (addressed where no data block can be written)."""

    write_same16_oor: "WriteSameProbe"
    write_same10_oor: "WriteSameProbe"
    write_same16_unmap_oor: "WriteSameProbe"
    evidence: "List[str]"


@dataclass(frozen=True)
class DecodeFailure(Record):
    """A response that did not decode: a fact, never an exception out of the report."""

    probe: str
    error: str


@dataclass(frozen=True)
class Facts(Record):
    """A disk's decoded facts, one group per probe (or probes), each naming its evidence."""

    passthrough: "Passthrough"
    inquiry: "InquiryFacts"
    identity: "Identity"
    capacity: "CapacityFacts"
    block_limits: "BlockLimitsFacts"
    block_device_characteristics: "BlockDeviceCharacteristicsFacts"
    logical_block_provisioning: "ProvisioningFacts"
    persistent_reservations: "PersistentReservations"
    pr_full_status: "FullStatusFacts"
    supported_opcodes: "SupportedOpcodesFacts"
    write_same: "WriteSameFacts"
    decode_errors: "List[DecodeFailure]"

    def cited_groups(self) -> "List[Tuple[str, Any]]":
        """(name, group) of every group that names its evidence (the probes behind it)."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)
                if hasattr(getattr(self, f.name), "evidence")]


@dataclass
class DiskReport(Record):
    """One disk: where it is, how it is attached, what it said, and the verdicts on it."""

    name: str
    dev_path: str
    sg_path: "Optional[str]"
    hctl: "Optional[str]"
    by_id: "List[str]"
    by_path: "List[str]"
    size_bytes: "Optional[int]"
    status: str
    transport: "Transport"
    facts: "Facts"
    processes: int
    inventory: "BlockDisk"
    probes: "List[ProbeResult]"
    verdicts: "List[Verdict]" = field(default_factory=list)

    def to_dict(self) -> "Dict[str, Any]":
        out = Record.to_dict(self, skip="probes")
        out["probes"] = [{"id": f"{self.name}/{p.name}", **p.to_dict()} for p in self.probes]
        out["verdicts"] = out.pop("verdicts")  # in field order: after the probes
        return out

    @classmethod
    def from_dict(cls, data: "Any", where: "Optional[str]" = None) -> "DiskReport":
        where = where or "disk"
        probes = data.get("probes") if isinstance(data, dict) else None
        if isinstance(probes, list):  # each entry carries its id beside the probe's fields
            data = dict(data, probes=[_without_id(p) for p in probes])
        return load(cls, data, where)

    def probe(self, name: str) -> "Optional[ProbeResult]":
        for result in self.probes:
            if result.name == name:
                return result
        return None

    def verdict(self, feature: str) -> "Optional[Verdict]":
        return next((v for v in self.verdicts if v.feature == feature), None)


def _without_id(entry: "Any") -> "Any":
    return {k: v for k, v in entry.items() if k != "id"} if isinstance(entry, dict) else entry


@dataclass(frozen=True)
class LogicalUnit(Record):
    """One LU seen through one or more paths (disks), by its VPD 0x83 designator."""

    lu_designator: str
    disks: "List[str]"
    path_count: int


@dataclass(frozen=True)
class ScanSummary(Record):
    """How the scan went: its options, whether every disk answered, what it started."""

    OMIT_NONE = ("engine", "startup_s")  # absent from reports of a guestprobe without them

    collected_by_version: str
    started_at: str
    duration_s: float
    options: "Dict[str, Any]"
    complete: bool
    disk_count: int
    processes_started: int
    processes_per_disk: float
    abandoned_processes: int
    engine: "Optional[Dict[str, Any]]" = None
    startup_s: "Optional[float]" = None


@dataclass
class Report(Record):
    """The whole report of one guest."""

    schema_version: str
    tool: "Tool"
    generated_at: str
    scan: "ScanSummary"
    platform: "PlatformFacts"
    disks: "List[DiskReport]"
    logical_units: "List[LogicalUnit]"
    guest_verdicts: "List[Verdict]" = field(default_factory=list)
    # the KVM host's facts joined in (report --host, compare --host: host/join.py)
    host_join: "Optional[HostJoin]" = None

    OMIT_NONE = ("host_join",)

    def disk(self, name: str) -> "Optional[DiskReport]":
        return next((d for d in self.disks if d.name == name), None)
