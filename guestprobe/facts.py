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
        self.errors: "list[dict[str, str]]" = []

    def probe_id(self, name: str) -> str:
        return f"{self.collected.disk.name}/{name}"

    def decode(self, name: str, decoder: "Callable[[bytes], Any]") -> "Any":
        probe = self.collected.probe(name)
        if probe is None or not probe.ok:
            return None
        try:
            return decoder(probe.response_bytes())
        except (DecodeError, ValueError) as exc:
            self.errors.append({"probe": self.probe_id(name), "error": str(exc)})
            return None

    def outcome(self, name: str) -> "str | None":
        probe = self.collected.probe(name)
        return None if probe is None else probe.outcome


def _to_dict(value: "Any") -> "Any":
    return None if value is None else value.to_dict()


def disk_facts(collected: "DiskCollection") -> "tuple[dict[str, Any], Transport]":
    """Decoded facts of one disk and its transport."""
    d = _Decoder(collected)
    disk = collected.disk
    facts: "dict[str, Any]" = {}

    nvme_identify = None
    if "nvme" in disk.driver_chain or disk.nvme_transport is not None:
        # sg_inq answers for an NVMe namespace with Identify Controller data, not INQUIRY data
        nvme_identify = d.decode("inquiry", decode_identify_controller)
        live_inquiry = None
    else:
        live_inquiry = d.decode("inquiry", decode_standard_inquiry)
    inquiry, inquiry_source = live_inquiry, d.probe_id("inquiry")
    if inquiry is None and "inquiry" in disk.sysfs_pages:
        try:
            inquiry = decode_standard_inquiry(bytes.fromhex(disk.sysfs_pages["inquiry"]))
            inquiry_source = f"sysfs:{disk.sysfs_path}/device/inquiry"
        except DecodeError as exc:
            d.errors.append({"probe": "sysfs inquiry", "error": str(exc)})
    facts["passthrough"] = {
        "inquiry_outcome": d.outcome("inquiry"),
        "works": _passthrough_works(d.outcome("inquiry")),
        "evidence": [d.probe_id("inquiry")],
    }
    vendor = inquiry.vendor if inquiry is not None else disk.scsi_vendor
    product = inquiry.product if inquiry is not None else disk.scsi_model
    revision = inquiry.revision if inquiry is not None else disk.scsi_rev
    if nvme_identify is not None:
        vendor, product = "NVMe", nvme_identify.model_number
        revision = nvme_identify.firmware_revision
    facts["inquiry"] = {
        "decoded": _to_dict(inquiry),
        "nvme_identify_controller": _to_dict(nvme_identify),
        "source": inquiry_source if inquiry is not None or nvme_identify is not None else None,
    }

    supported_pages = d.decode("vpd_0x00", decode_supported_vpd_pages)
    serial = d.decode("vpd_0x80", decode_unit_serial_number)
    identification = d.decode("vpd_0x83", decode_device_identification)
    lu_ids = lu_designators(identification) if identification is not None else []
    facts["identity"] = {
        "vendor": vendor,
        "product": product,
        "revision": revision,
        "unit_serial_number": serial.serial if serial is not None else None,
        "kernel_serial": disk.serial,
        "wwid": disk.wwid,
        "supported_vpd_pages": supported_pages,
        "designators": [] if identification is None else identification.to_dict()["designators"],
        "lu_designator": lu_ids[0].text if lu_ids else None,
        "lu_designator_type": lu_ids[0].designator_type if lu_ids else None,
        "vpd_0x83_outcome": d.outcome("vpd_0x83"),
        "evidence": [d.probe_id(n) for n in ("vpd_0x80", "vpd_0x83") if collected.probe(n)],
    }

    capacity = d.decode("readcap16", decode_read_capacity_16)
    facts["capacity"] = {
        "outcome": d.outcome("readcap16"),
        "decoded": _to_dict(capacity),
        "evidence": [d.probe_id("readcap16")],
    }
    facts["block_limits"] = {
        "decoded": _to_dict(d.decode("vpd_0xb0", decode_block_limits)),
        "outcome": d.outcome("vpd_0xb0"),
        "evidence": [d.probe_id("vpd_0xb0")],
    }
    facts["block_device_characteristics"] = {
        "decoded": _to_dict(d.decode("vpd_0xb1", decode_block_device_characteristics)),
        "outcome": d.outcome("vpd_0xb1"),
        "evidence": [d.probe_id("vpd_0xb1")],
    }
    facts["logical_block_provisioning"] = {
        "decoded": _to_dict(d.decode("vpd_0xb2", decode_logical_block_provisioning)),
        "outcome": d.outcome("vpd_0xb2"),
        "evidence": [d.probe_id("vpd_0xb2")],
    }

    keys = d.decode("pr_read_keys", decode_read_keys)
    reservation = d.decode("pr_read_reservation", decode_read_reservation)
    capabilities = d.decode("pr_report_capabilities", decode_report_capabilities)
    registered = [] if keys is None else list(keys.keys)
    facts["persistent_reservations"] = {
        "read_keys_outcome": d.outcome("pr_read_keys"),
        "read_reservation_outcome": d.outcome("pr_read_reservation"),
        "report_capabilities_outcome": d.outcome("pr_report_capabilities"),
        "keys": _to_dict(keys),
        "registered_key_count": None if keys is None else len(registered),
        "veritas_keys": [
            vk.to_dict() for vk in (decode_veritas_key(key) for key in registered) if vk is not None
        ],
        "reservation": _to_dict(reservation),
        "capabilities": _to_dict(capabilities),
        "evidence": [
            d.probe_id(n) for n in ("pr_read_keys", "pr_read_reservation", "pr_report_capabilities")
        ],
    }

    opcodes = d.decode("opcodes", decode_supported_opcodes)
    facts["supported_opcodes"] = {
        "outcome": d.outcome("opcodes"),
        "count": None if opcodes is None else len(opcodes.commands),
        "commands_of_interest": None
        if opcodes is None
        else {name: opcodes.supports(op, sa) for name, (op, sa) in OPCODES_OF_INTEREST.items()},
        "evidence": [d.probe_id("opcodes")],
    }
    facts["write_same"] = {
        name: {
            "outcome": d.outcome(name),
            "exit_status": getattr(collected.probe(name), "exit_status", None),
            "implemented": _write_same_implemented(d.outcome(name)),
        }
        for name in WRITE_SAME_PROBES
    }
    facts["write_same"]["evidence"] = [d.probe_id(n) for n in WRITE_SAME_PROBES]
    facts["decode_errors"] = d.errors
    transport = classify_transport(disk, vendor, product, inquiry_source if inquiry else None)
    return facts, transport


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
