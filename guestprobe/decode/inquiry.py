"""Standard INQUIRY data (SPC-4 6.6.2), as ``sg_inq --raw`` or sysfs ``device/inquiry`` give it.

Sample (the tgt iSCSI LUN of the shared captures, 66 bytes)::

    00 00 05 12 3d 00 00 02  49 45 54 20 20 20 20 20   ....=...IET
    56 49 52 54 55 41 4c 2d  44 49 53 4b 20 20 20 20   VIRTUAL-DISK
    30 30 30 31 00 ...                                 0001

decodes to peripheral qualifier 0, device type 0 (``direct_access_block``), version 5
(SPC-3), HISUP and response data format 2 (byte 3 = 0x12), additional length 0x3d (66 bytes in
all), CMDQUE (byte 7 = 0x02) and no other flag, vendor ``IET``, product ``VIRTUAL-DISK``,
revision ``0001``.

At least the first 8 bytes (the flags) must be there; vendor, product and revision are
``None`` when the response ends before them.
"""


from dataclasses import dataclass

from guestprobe.decode import DecodeError, FactRecord, require

__all__ = ["PERIPHERAL_DEVICE_TYPES", "StandardInquiry", "decode_standard_inquiry"]

# SPC-4 table 92, the types a guest can meet
PERIPHERAL_DEVICE_TYPES = {
    0x00: "direct_access_block",
    0x01: "sequential_access",
    0x02: "printer",
    0x03: "processor",
    0x04: "write_once",
    0x05: "cd_dvd",
    0x07: "optical_memory",
    0x08: "media_changer",
    0x0C: "storage_array_controller",
    0x0D: "enclosure_services",
    0x0E: "simplified_direct_access",
    0x0F: "optical_card",
    0x11: "object_based_storage",
    0x12: "automation_drive_interface",
    0x14: "host_managed_zoned_block",
    0x1E: "well_known_lu",
    0x1F: "unknown_or_no_device",
}

_FLAGS_END = 8
_VENDOR = (8, 16)
_PRODUCT = (16, 32)
_REVISION = (32, 36)


@dataclass(frozen=True)
class StandardInquiry(FactRecord):
    peripheral_qualifier: int
    peripheral_device_type: int
    device_type_name: str
    rmb: bool
    version: int
    normaca: bool
    hisup: bool
    response_data_format: int
    additional_length: int
    sccs: bool
    acc: bool
    tpgs: int  # 0 none, 1 implicit ALUA, 2 explicit, 3 both
    three_pc: bool
    protect: bool
    encserv: bool
    multip: bool
    cmdque: bool
    vendor: "str | None"  # T10 vendor id, trailing spaces stripped
    product: "str | None"
    revision: "str | None"
    vendor_raw: "bytes | None"  # the 8 vendor bytes as sent
    truncated: bool


def _ascii_field(data: bytes, span: "tuple[int, int]") -> "str | None":
    start, end = span
    if len(data) < end:
        return None
    return data[start:end].decode("ascii", "replace").strip(" \0")


def decode_standard_inquiry(data: bytes) -> "StandardInquiry":
    """Decode standard INQUIRY data; see the module docstring for a sample."""
    require(data, _FLAGS_END, "standard INQUIRY")
    total = data[4] + 5
    if total < _FLAGS_END:
        raise DecodeError(f"standard INQUIRY: additional length {data[4]} leaves no flags")
    body = data[:total]
    pdt = data[0] & 0x1F
    return StandardInquiry(
        peripheral_qualifier=data[0] >> 5,
        peripheral_device_type=pdt,
        device_type_name=PERIPHERAL_DEVICE_TYPES.get(pdt, f"reserved_0x{pdt:02x}"),
        rmb=bool(data[1] & 0x80),
        version=data[2],
        normaca=bool(data[3] & 0x20),
        hisup=bool(data[3] & 0x10),
        response_data_format=data[3] & 0x0F,
        additional_length=data[4],
        sccs=bool(data[5] & 0x80),
        acc=bool(data[5] & 0x40),
        tpgs=(data[5] >> 4) & 0x03,
        three_pc=bool(data[5] & 0x08),
        protect=bool(data[5] & 0x01),
        encserv=bool(data[6] & 0x40),
        multip=bool(data[6] & 0x10),
        cmdque=bool(data[7] & 0x02),
        vendor=_ascii_field(body, _VENDOR),
        product=_ascii_field(body, _PRODUCT),
        revision=_ascii_field(body, _REVISION),
        vendor_raw=bytes(body[_VENDOR[0] : _VENDOR[1]]) if len(body) >= _VENDOR[1] else None,
        truncated=len(data) < total,
    )
