"""Turn one disk's collected probes into decoded facts. Pure: no process, no file access.

Every fact group names its evidence (probe ids such as ``sdb/pr_read_keys``). A response that
does not decode becomes an entry in ``decode_errors`` — never an exception out of the report.
"""


from collections.abc import Callable
from typing import Any

from guestprobe.classify.transport import Transport, classify_transport
from guestprobe.collect.scan import DiskCollection
from guestprobe.collect.sg3 import Outcome
from guestprobe.decode import DecodeError
from guestprobe.decode.inquiry import decode_standard_inquiry
from guestprobe.decode.nvme import decode_identify_controller
from guestprobe.decode.opcodes import decode_supported_opcodes
from guestprobe.decode.persist import (
    decode_read_full_status,
    decode_read_keys,
    decode_read_reservation,
    decode_report_capabilities,
    decode_veritas_key,
)
from guestprobe.decode.readcap import decode_read_capacity_16
from guestprobe.decode.vpd import (
    decode_block_device_characteristics,
    decode_block_limits,
    decode_device_identification,
    decode_logical_block_provisioning,
    decode_supported_vpd_pages,
    decode_unit_serial_number,
    lu_designators,
)
from guestprobe.document.model import (
    BlockDeviceCharacteristicsFacts,
    BlockLimitsFacts,
    CapacityFacts,
    DecodeFailure,
    DiskReport,
    Facts,
    FullStatusFacts,
    Identity,
    InquiryFacts,
    Passthrough,
    PersistentReservations,
    ProvisioningFacts,
    SupportedOpcodesFacts,
    WriteSameFacts,
    WriteSameProbe,
)

WRITE_SAME_PROBES = ("write_same16_oor", "write_same10_oor", "write_same16_unmap_oor")

# SCSI operation codes the feature rules ask REPORT SUPPORTED OPERATION CODES about
OPCODES_OF_INTEREST = {
    "persistent_reserve_in": (0x5E, None),
    "persistent_reserve_out": (0x5F, None),
    "write_same_10": (0x41, None),
    "write_same_16": (0x93, None),
    "unmap": (0x42, None),
    "read_capacity_16": (0x9E, 0x10),
    "compare_and_write": (0x89, None),
    "extended_copy": (0x83, None),
}


class _Decoder:
    """Decodes probes of one disk, collecting decode errors on the way."""

    def __init__(self, collected: "DiskCollection") -> None:
        self.collected = collected
        self.disk = collected.disk
        self.errors: "list[DecodeFailure]" = []
        self.inquiry: "Any" = None  # standard INQUIRY data: live, else the kernel's copy
        self.inquiry_source: str = self.probe_id("inquiry")
        self.nvme_identify: "Any" = None

    def probe_id(self, name: str) -> str:
        return f"{self.collected.disk.name}/{name}"

    def decode(self, name: str, decoder: "Callable[[bytes], Any]") -> "Any":
        probe = self.collected.probe(name)
        if probe is None or not probe.ok:
            return None
        try:
            return decoder(probe.response_bytes())
        except (DecodeError, ValueError) as exc:
            self.errors.append(DecodeFailure(self.probe_id(name), str(exc)))
            return None

    def outcome(self, name: str) -> "str | None":
        probe = self.collected.probe(name)
        return None if probe is None else probe.outcome

    def read_inquiry(self) -> None:
        """The INQUIRY answer: sg_inq's for a SCSI disk (else the kernel's cached copy in sysfs);
        for an NVMe namespace sg_inq answers with Identify Controller data, not INQUIRY data."""
        disk = self.disk
        if "nvme" in disk.driver_chain or disk.nvme_transport is not None:
            self.nvme_identify = self.decode("inquiry", decode_identify_controller)
        else:
            self.inquiry = self.decode("inquiry", decode_standard_inquiry)
        if self.inquiry is None and "inquiry" in disk.sysfs_pages:
            try:
                self.inquiry = decode_standard_inquiry(bytes.fromhex(disk.sysfs_pages["inquiry"]))
                self.inquiry_source = f"sysfs:{disk.sysfs_path}/device/inquiry"
            except DecodeError as exc:
                self.errors.append(DecodeFailure("sysfs inquiry", str(exc)))

    def vendor_product_revision(self) -> "tuple[Any, Any, Any]":
        inquiry, disk = self.inquiry, self.disk
        if self.nvme_identify is not None:
            return "NVMe", self.nvme_identify.model_number, self.nvme_identify.firmware_revision
        if inquiry is not None:
            return inquiry.vendor, inquiry.product, inquiry.revision
        return disk.scsi_vendor, disk.scsi_model, disk.scsi_rev


def _passthrough(d: "_Decoder") -> "Passthrough":
    return Passthrough(
        d.outcome("inquiry"), _passthrough_works(d.outcome("inquiry")), [d.probe_id("inquiry")]
    )


def _inquiry(d: "_Decoder") -> "InquiryFacts":
    answered = d.inquiry is not None or d.nvme_identify is not None
    return InquiryFacts(d.inquiry, d.nvme_identify, d.inquiry_source if answered else None)


def _identity(d: "_Decoder") -> "Identity":
    vendor, product, revision = d.vendor_product_revision()
    supported_pages = d.decode("vpd_0x00", decode_supported_vpd_pages)
    serial = d.decode("vpd_0x80", decode_unit_serial_number)
    identification = d.decode("vpd_0x83", decode_device_identification)
    lu_ids = lu_designators(identification) if identification is not None else []
    return Identity(
        vendor=vendor,
        product=product,
        revision=revision,
        unit_serial_number=serial.serial if serial is not None else None,
        kernel_serial=d.disk.serial,
        wwid=d.disk.wwid,
        supported_vpd_pages=supported_pages,
        designators=[] if identification is None else list(identification.designators),
        lu_designator=lu_ids[0].text if lu_ids else None,
        lu_designator_type=lu_ids[0].designator_type.value if lu_ids else None,
        vpd_0x83_outcome=d.outcome("vpd_0x83"),
        evidence=[d.probe_id(n) for n in ("vpd_0x80", "vpd_0x83") if d.collected.probe(n)],
    )


def _one_probe(
    probe: str, decoder: "Callable[[bytes], Any]", group: "type"
) -> "Callable[[_Decoder], Any]":
    """A fact group (record ``group``) that is one probe's decoded answer, its outcome and the
    probe as evidence."""

    def build(d: "_Decoder") -> "Any":
        return group(
            decoded=d.decode(probe, decoder), outcome=d.outcome(probe), evidence=[d.probe_id(probe)]
        )

    return build


PR_PROBES = ("pr_read_keys", "pr_read_reservation", "pr_report_capabilities")


def _persistent_reservations(d: "_Decoder") -> "PersistentReservations":
    keys = d.decode("pr_read_keys", decode_read_keys)
    reservation = d.decode("pr_read_reservation", decode_read_reservation)
    capabilities = d.decode("pr_report_capabilities", decode_report_capabilities)
    registered = [] if keys is None else list(keys.keys)
    return PersistentReservations(
        read_keys_outcome=d.outcome("pr_read_keys"),
        read_reservation_outcome=d.outcome("pr_read_reservation"),
        report_capabilities_outcome=d.outcome("pr_report_capabilities"),
        keys=keys,
        registered_key_count=None if keys is None else len(registered),
        veritas_keys=[
            vk for vk in (decode_veritas_key(key) for key in registered) if vk is not None
        ],
        reservation=reservation,
        capabilities=capabilities,
        evidence=[d.probe_id(n) for n in PR_PROBES],
    )


def _supported_opcodes(d: "_Decoder") -> "SupportedOpcodesFacts":
    opcodes = d.decode("opcodes", decode_supported_opcodes)
    return SupportedOpcodesFacts(
        outcome=d.outcome("opcodes"),
        count=None if opcodes is None else len(opcodes.commands),
        commands_of_interest=None
        if opcodes is None
        else {name: opcodes.supports(op, sa) for name, (op, sa) in OPCODES_OF_INTEREST.items()},
        evidence=[d.probe_id("opcodes")],
    )


def _write_same(d: "_Decoder") -> "WriteSameFacts":
    probes = {
        name: WriteSameProbe(
            outcome=d.outcome(name),
            exit_status=getattr(d.collected.probe(name), "exit_status", None),
            implemented=_write_same_implemented(d.outcome(name)),
        )
        for name in WRITE_SAME_PROBES
    }
    return WriteSameFacts(evidence=[d.probe_id(n) for n in WRITE_SAME_PROBES], **probes)


# Which fact group is read from which probe(s), by which decoder, in the report's order.
FACT_GROUPS: "tuple[tuple[str, Callable[[_Decoder], Any]], ...]" = (
    ("passthrough", _passthrough),  # inquiry: did SCSI pass-through answer at all
    ("inquiry", _inquiry),  # inquiry (or sysfs inquiry): standard INQUIRY / NVMe Identify
    ("identity", _identity),  # vpd_0x00, vpd_0x80, vpd_0x83 + the INQUIRY above
    ("capacity", _one_probe("readcap16", decode_read_capacity_16, CapacityFacts)),
    ("block_limits", _one_probe("vpd_0xb0", decode_block_limits, BlockLimitsFacts)),
    ("block_device_characteristics", _one_probe(
        "vpd_0xb1", decode_block_device_characteristics, BlockDeviceCharacteristicsFacts)),
    ("logical_block_provisioning", _one_probe(
        "vpd_0xb2", decode_logical_block_provisioning, ProvisioningFacts)),
    ("persistent_reservations", _persistent_reservations),  # the three PR IN probes
    # READ FULL STATUS: each registration's key and TransportID (outcome null: not collected,
    # a report of a guestprobe without this probe)
    ("pr_full_status", _one_probe(
        "pr_read_full_status", decode_read_full_status, FullStatusFacts)),
    ("supported_opcodes", _supported_opcodes),  # opcodes: REPORT SUPPORTED OPERATION CODES
    ("write_same", _write_same),  # the WRITE SAME probes' outcomes (no data to decode)
)


def disk_report(collected: "DiskCollection") -> "DiskReport":
    """One disk of the report: its collection decoded (:func:`disk_facts`) and classified."""
    facts, transport = disk_facts(collected)
    disk = collected.disk
    return DiskReport(
        name=disk.name,
        dev_path=disk.dev_path,
        sg_path=disk.sg_path,
        hctl=disk.hctl,
        by_id=disk.by_id,
        by_path=disk.by_path,
        size_bytes=disk.size_bytes,
        status=collected.status,
        transport=transport,
        facts=facts,
        processes=collected.processes,
        inventory=disk,
        probes=list(collected.probes),
    )


def disk_facts(collected: "DiskCollection") -> "tuple[Facts, Transport]":
    """Decoded facts of one disk (the groups of :data:`FACT_GROUPS`) and its transport."""
    d = _Decoder(collected)
    d.read_inquiry()
    facts = Facts(decode_errors=d.errors, **{group: build(d) for group, build in FACT_GROUPS})
    vendor, product, _ = d.vendor_product_revision()
    source = d.inquiry_source if d.inquiry is not None else None
    return facts, classify_transport(collected.disk, vendor, product, source)


# INQUIRY outcomes that say pass-through does not work; others (timed out, gone, not sent, …)
# leave the question open: no answer is not a "no".
_PASSTHROUGH_REFUSED = {
    Outcome.PASSTHROUGH_UNAVAILABLE.value,
    Outcome.PERMISSION_DENIED.value,
    Outcome.NOT_SUPPORTED.value,
}


def _passthrough_works(outcome: "str | None") -> "bool | None":
    if outcome == Outcome.OK.value:
        return True
    if outcome in _PASSTHROUGH_REFUSED:
        return False
    return None


def _write_same_implemented(outcome: "str | None") -> "bool | None":
    """LBA OUT OF RANGE means the command got through and is implemented; invalid means not."""
    if outcome == Outcome.LBA_OUT_OF_RANGE.value:
        return True
    if outcome in (Outcome.NOT_SUPPORTED.value, Outcome.PASSTHROUGH_UNAVAILABLE.value):
        return False
    if outcome == Outcome.OK.value:  # should never happen at the far LBA; say so loudly
        return True
    return None
