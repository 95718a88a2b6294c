"""NVMe Identify Controller data (NVMe Base Specification, Identify Controller data structure).

On an NVMe namespace ``sg_inq --raw --only`` sends no SCSI INQUIRY: sg3_utils asks the controller
for Identify Controller and prints those 4096 bytes. Decoding them as INQUIRY data would invent a
vendor from the serial number's bytes, so NVMe disks use this decoder instead.

Sample (QEMU's emulated NVMe controller, serial NVMESER1), first 72 bytes::

    36 1b f4 1a 4e 56 4d 45 53 45 52 31 20 20 ...   VID 0x1b36, SSVID 0x1af4, SN "NVMESER1"
    51 45 4d 55 20 4e 56 4d 65 20 43 74 72 6c ...   MN "QEMU NVMe Ctrl"; FR at byte 64
"""


import struct
from dataclasses import dataclass

from guestprobe.decode import DecodeError, FactRecord

IDENTIFY_CONTROLLER_LENGTH = 4096
# (start, end) of the fields that identify a controller: serial number (SN), subsystem NQN
SERIAL_NUMBER = (4, 24)
SUBSYSTEM_NQN = (768, 1024)
_NEEDED = 72  # VID, SSVID, SN, MN and FR


@dataclass(frozen=True)
class NvmeIdentifyController(FactRecord):
    pci_vendor_id: int
    pci_subsystem_vendor_id: int
    serial_number: str
    model_number: str
    firmware_revision: str
    truncated: bool


def _ascii(data: bytes) -> str:
    return data.decode("ascii", "replace").strip(" \x00")


def decode_identify_controller(data: bytes) -> "NvmeIdentifyController":
    """Decode the identifying fields of an Identify Controller response."""
    if len(data) < _NEEDED:
        raise DecodeError(f"NVMe Identify Controller: {len(data)} bytes, need at least {_NEEDED}")
    vid, ssvid = struct.unpack_from("<HH", data)
    return NvmeIdentifyController(
        pci_vendor_id=vid,
        pci_subsystem_vendor_id=ssvid,
        serial_number=_ascii(data[slice(*SERIAL_NUMBER)]),
        model_number=_ascii(data[24:64]),
        firmware_revision=_ascii(data[64:72]),
        truncated=len(data) < IDENTIFY_CONTROLLER_LENGTH,
    )
