"""VPD pages (SPC-4 7.8, SBC-3/SBC-4 6.6), as ``sg_vpd --page=0xNN --raw`` or the kernel's
cached ``device/vpd_pgNN`` files give them (the same bytes).

Every page starts with a 4-byte header: peripheral qualifier/device type, page code, and the
page length (bytes after the header). A page code other than the one asked for raises
:class:`DecodeError`; length handling follows the package rules (trim, or ``truncated``).

Samples (from the shared captures, except the 0xB1 one: every captured 0xB1 page is all zero):

* 0x00 supported pages, QEMU scsi-hd: ``00 00 00 06 00 80 83 b0 b1 b2`` ->
  ``[0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2]``
* 0x80 unit serial number, QEMU scsi-hd: ``00 80 00 08 53 48 44 53 45 52 30 31`` ->
  ``"SHDSER01"``
* 0x83 device identification, tgt LUN (76 bytes)::

      00 83 00 48  02 01 00 24 "IET     00010001" 00 x 20   T10 vendor id, ASCII, LU
                   01 03 00 08 30 00 00 01 00 00 00 01      NAA 3, binary, LU
                   01 03 00 10 60 00 00 00 00 00 00 00      NAA 6, binary, LU
                               0e 00 00 00 00 01 00 01

  -> ``t10.IET     00010001``, ``naa.3000000100000001``,
  ``naa.60000000000000000e00000000010001`` (the kernel's ``wwid`` for that disk).
* 0xB0 block limits, QEMU scsi-hd: ``00 b0 00 3c 01 00 00 00 00 3f ff ff ...`` -> WSNZ,
  maximum transfer length 0x3fffff blocks, ...
* 0xB1 block device characteristics: ``00 b1 00 3c 00 01 ...`` -> medium rotation rate 1
  (non-rotating).
* 0xB2 logical block provisioning, QEMU scsi-hd: ``00 b2 00 04 00 e0 02 00`` -> LBPU, LBPWS,
  LBPWS10, provisioning type 2 (thin).
"""


from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from guestprobe.decode import DecodeError, FactRecord, be_int, require

__all__ = [
    "PROTOCOL_IDENTIFIERS",
    "Association",
    "BlockDeviceCharacteristics",
    "BlockLimits",
    "CodeSet",
    "Designator",
    "DesignatorSpan",
    "DesignatorType",
    "DeviceIdentification",
    "LogicalBlockProvisioning",
    "SupportedVpdPages",
    "UnitSerialNumber",
    "VpdHeader",
    "decode_block_device_characteristics",
    "decode_block_limits",
    "decode_device_identification",
    "decode_logical_block_provisioning",
    "decode_supported_vpd_page",
    "decode_supported_vpd_pages",
    "decode_unit_serial_number",
    "decode_vpd_header",
    "designator_spans",
    "lu_designators",
    "serial_number_span",
]

_HEADER = 4


@dataclass(frozen=True)
class VpdHeader(FactRecord):
    peripheral_qualifier: int
    peripheral_device_type: int
    page_code: int
    page_length: int


def decode_vpd_header(data: bytes) -> "VpdHeader":
    """The 4-byte header every VPD page starts with.

    >>> decode_vpd_header(bytes.fromhex("00b20004")).page_code
    178
    """
    require(data, _HEADER, "VPD page header")
    return VpdHeader(data[0] >> 5, data[0] & 0x1F, data[1], be_int(data, 2, 2))


def _page(
    data: bytes,
    page_code: int,
    name: str,
    min_length: int = _HEADER,
) -> "tuple[bytes, bool]":
    """(page trimmed to its length, truncated?) after checking page code and minimum size."""
    header = decode_vpd_header(data)
    if header.page_code != page_code:
        raise DecodeError(f"{name}: page code 0x{header.page_code:02x}, not 0x{page_code:02x}")
    total = _HEADER + header.page_length
    page = data[:total]
    if total < min_length:
        raise DecodeError(f"{name}: page length {header.page_length} is below the minimum")
    require(page, min_length, name)
    return page, len(page) < total


# ---------------------------------------------------------------------------- 0x00


@dataclass(frozen=True)
class SupportedVpdPages(FactRecord):
    pages: "tuple[int, ...]"
    truncated: bool


def decode_supported_vpd_page(data: bytes) -> "SupportedVpdPages":
    """Supported VPD pages (0x00); sample ``00 00 00 06 00 80 83 b0 b1 b2``."""
    page, truncated = _page(data, 0x00, "supported VPD pages")
    return SupportedVpdPages(tuple(page[_HEADER:]), truncated)


def decode_supported_vpd_pages(data: bytes) -> "list[int]":
    """The page codes of the supported VPD pages (0x00) as a plain list.

    >>> decode_supported_vpd_pages(bytes.fromhex("00000006008083b0b1b2"))
    [0, 128, 131, 176, 177, 178]
    """
    return list(decode_supported_vpd_page(data).pages)


# ---------------------------------------------------------------------------- 0x80


@dataclass(frozen=True)
class UnitSerialNumber(FactRecord):
    serial: str  # ASCII, leading/trailing spaces and NULs stripped
    raw: bytes  # the serial number field as sent
    truncated: bool


def decode_unit_serial_number(data: bytes) -> "UnitSerialNumber":
    """Unit serial number (0x80); sample ``00 80 00 08 53 48 44 53 45 52 30 31`` -> SHDSER01."""
    page, truncated = _page(data, 0x80, "unit serial number VPD page")
    raw = bytes(page[_HEADER:])
    return UnitSerialNumber(raw.decode("ascii", "replace").strip(" \0"), raw, truncated)


def serial_number_span(data: bytes) -> "tuple[int, int] | None":
    """(start, end) of the product serial number field (padding included) in a VPD page 0x80
    response, as far as the page reaches; None for no page 0x80."""
    try:
        page, _ = _page(data, 0x80, "unit serial number VPD page")
    except DecodeError:
        return None
    return _HEADER, len(page)


# ---------------------------------------------------------------------------- 0x83


class Association(str, Enum):
    LOGICAL_UNIT = "logical_unit"
    TARGET_PORT = "target_port"
    TARGET_DEVICE = "target_device"
    RESERVED = "reserved"


class DesignatorType(str, Enum):
    VENDOR_SPECIFIC = "vendor_specific"
    T10_VENDOR_ID = "t10_vendor_id"
    EUI64 = "eui64"
    NAA = "naa"
    RELATIVE_TARGET_PORT = "relative_target_port"
    TARGET_PORT_GROUP = "target_port_group"
    LOGICAL_UNIT_GROUP = "logical_unit_group"
    MD5_LU_IDENTIFIER = "md5_lu_identifier"
    SCSI_NAME_STRING = "scsi_name_string"
    PROTOCOL_SPECIFIC = "protocol_specific"
    UUID = "uuid"
    RESERVED = "reserved"


class CodeSet(str, Enum):
    BINARY = "binary"
    ASCII = "ascii"
    UTF8 = "utf8"
    RESERVED = "reserved"


_DESIGNATOR_TYPES = list(DesignatorType)[:11]  # codes 0x0..0xa in SPC order
_ASSOCIATIONS = list(Association)
_CODE_SETS = {1: CodeSet.BINARY, 2: CodeSet.ASCII, 3: CodeSet.UTF8}
# SPC-4 table 362
PROTOCOL_IDENTIFIERS = {
    0x0: "fibre_channel",
    0x1: "parallel_scsi",
    0x2: "ssa",
    0x3: "ieee_1394",
    0x4: "srp",
    0x5: "iscsi",
    0x6: "sas",
    0x7: "adt",
    0x8: "ata",
    0x9: "uas",
    0xA: "sop",
    0xB: "pcie",
    0xF: "none",
}
_NUMBERED = {
    DesignatorType.RELATIVE_TARGET_PORT,
    DesignatorType.TARGET_PORT_GROUP,
    DesignatorType.LOGICAL_UNIT_GROUP,
}


@dataclass(frozen=True)
class Designator(FactRecord):
    """One designation descriptor of the device identification page.

    ``text`` is the canonical id: ``naa.<hex>``, ``eui.<hex>``, ``t10.<ASCII>`` (trailing
    spaces and NULs stripped, other non-printables as ``\\xNN``), the SCSI name string itself,
    ``uuid.<8-4-4-4-12>``, ``md5.<hex>``, a vendor-specific ASCII value as text (binary as
    hex); ``None`` for relative target port, target port group, logical unit group and
    protocol-specific designators, whose ``number`` carries the port/group number instead.
    """

    code_set: "CodeSet"
    piv: bool
    association: "Association"
    designator_type: "DesignatorType"
    protocol_identifier: "int | None"  # only with PIV and a port/device association
    protocol_name: "str | None"
    value: bytes
    text: "str | None"
    number: "int | None"


def _ascii_text(value: bytes) -> str:
    trimmed = value.rstrip(b" \0")
    return "".join(chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}" for b in trimmed)


def _uuid_text(value: bytes) -> str:
    # SPC-5: byte 0 bits 7-4 = 1 (locally assigned), byte 1 reserved, 16 bytes of UUID
    if len(value) == 18 and value[0] >> 4 == 1:
        u = value[2:].hex()
        return f"uuid.{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"
    return f"uuid.{value.hex()}"


def _designator_text(kind: "DesignatorType", code_set: "CodeSet", value: bytes) -> "str | None":
    if kind is DesignatorType.NAA:
        return f"naa.{value.hex()}"
    if kind is DesignatorType.EUI64:
        return f"eui.{value.hex()}"
    if kind is DesignatorType.T10_VENDOR_ID:
        return f"t10.{_ascii_text(value)}"
    if kind is DesignatorType.SCSI_NAME_STRING:
        return value.rstrip(b"\0").decode("utf-8", "replace")
    if kind is DesignatorType.UUID:
        return _uuid_text(value)
    if kind is DesignatorType.MD5_LU_IDENTIFIER:
        return f"md5.{value.hex()}"
    if kind is DesignatorType.VENDOR_SPECIFIC:
        return _ascii_text(value) if code_set in (CodeSet.ASCII, CodeSet.UTF8) else value.hex()
    return None


def _designator(head: bytes, value: bytes) -> "Designator":
    type_code = head[1] & 0x0F
    kind = _DESIGNATOR_TYPES[type_code] if type_code < len(_DESIGNATOR_TYPES) else None
    kind = kind or DesignatorType.RESERVED
    code_set = _CODE_SETS.get(head[0] & 0x0F, CodeSet.RESERVED)
    association = _ASSOCIATIONS[(head[1] >> 4) & 0x03]
    piv = bool(head[1] & 0x80)
    port_or_device = association in (Association.TARGET_PORT, Association.TARGET_DEVICE)
    protocol = head[0] >> 4 if piv and port_or_device else None
    number = be_int(value, 2, 2) if kind in _NUMBERED and len(value) >= 4 else None
    return Designator(
        code_set=code_set,
        piv=piv,
        association=association,
        designator_type=kind,
        protocol_identifier=protocol,
        protocol_name=None if protocol is None else PROTOCOL_IDENTIFIERS.get(protocol, "reserved"),
        value=value,
        text=_designator_text(kind, code_set, value),
        number=number,
    )


def _descriptor_spans(page: bytes) -> "Iterator[tuple[int, int]]":
    """(start, end) in device identification ``page`` (trimmed to its page length) of each
    designation descriptor: its 4-byte header at ``start``, the designator from ``start + 4``
    to ``end``. The last one may be cut short by the page: ``end > len(page)``."""
    pos = _HEADER
    while pos < len(page):
        end = pos + 4 + (page[pos + 3] if pos + 4 <= len(page) else 0)
        yield pos, end
        pos = end


class DesignatorSpan(NamedTuple):
    """Where one designator's bytes are in a VPD page 0x83 response (for redaction in place)."""

    start: int  # the designator's first byte (after its 4-byte header) in the response
    code_set: int  # as sent (1 binary, 2 ASCII, 3 UTF-8)
    type_code: int  # the designator type as sent (0x3 NAA, ...)
    value: bytes  # as far as the page and the response reach


def designator_spans(data: bytes) -> "list[DesignatorSpan]":
    """Each designator of a VPD page 0x83 response with its offset, without the decoder's
    checks: as far as the page reaches, a designator cut short by its end included; ``[]``
    for no page 0x83.

    >>> designator_spans(bytes.fromhex("00830008" "01030004" "5001405f"))
    [DesignatorSpan(start=8, code_set=1, type_code=3, value=b'P\\x01@_')]
    """
    try:
        page, _ = _page(data, 0x83, "device identification VPD page")
    except DecodeError:
        return []
    return [
        DesignatorSpan(pos + 4, page[pos] & 0x0F, page[pos + 1] & 0x0F, page[pos + 4 : end])
        for pos, end in _descriptor_spans(page)
        if pos + 4 <= len(page)
    ]


@dataclass(frozen=True)
class DeviceIdentification(FactRecord):
    designators: "tuple[Designator, ...]"
    truncated: bool


def decode_device_identification(data: bytes) -> "DeviceIdentification":
    """Device identification (0x83); see the module docstring for a sample.

    A descriptor that runs past the page length raises :class:`DecodeError`; one cut short
    by a truncated response is dropped and ``truncated`` set.
    """
    page, truncated = _page(data, 0x83, "device identification VPD page")
    designators = []
    for pos, end in _descriptor_spans(page):
        if end > len(page):
            if truncated:
                break
            raise DecodeError(f"device identification: descriptor at {pos} overruns the page")
        designators.append(_designator(page[pos : pos + 4], bytes(page[pos + 4 : end])))
    return DeviceIdentification(tuple(designators), truncated)


def _naa_rank(value: bytes) -> int:
    naa = value[0] >> 4 if value else -1
    return {6: 0, 5: 1, 2: 2, 3: 3}.get(naa, 4)


def _lu_rank(designator: "Designator") -> "tuple[int, int] | None":
    kind, value = designator.designator_type, designator.value
    if kind is DesignatorType.NAA:
        return 0, _naa_rank(value)
    if kind is DesignatorType.EUI64:
        return 1, {16: 0, 12: 1, 8: 2}.get(len(value), 3)
    order = (DesignatorType.SCSI_NAME_STRING, DesignatorType.UUID, DesignatorType.MD5_LU_IDENTIFIER)
    return (2 + order.index(kind), 0) if kind in order else None


def lu_designators(page: "DeviceIdentification") -> "list[Designator]":
    """Logical-unit designators that name the LU uniquely, best first.

    Order: NAA (IEEE Registered Extended 6, Registered 5, IEEE Extended 2, then locally
    assigned 3), EUI-64 (16, 12, then 8 bytes), SCSI name string, UUID, MD5; page order
    within a rank. T10 vendor id and vendor-specific designators are not unique and are left
    out.
    """
    ranked = []
    for index, designator in enumerate(page.designators):
        rank = _lu_rank(designator)
        if designator.association is Association.LOGICAL_UNIT and rank is not None:
            ranked.append((rank, index, designator))
    return [designator for _, _, designator in sorted(ranked, key=lambda r: (r[0], r[1]))]


# ---------------------------------------------------------------------------- 0xB0


def _optional_int(page: bytes, offset: int, size: int, mask: "int | None" = None) -> "int | None":
    if len(page) < offset + size:
        return None
    value = be_int(page, offset, size)
    return value & mask if mask is not None else value


@dataclass(frozen=True)
class BlockLimits(FactRecord):
    """Block limits (0xB0). Fields past the page's end (short SPC-3/SBC-2 pages) are None."""

    wsnz: bool
    max_compare_and_write_length: int
    optimal_transfer_length_granularity: int
    max_transfer_length: int
    optimal_transfer_length: int
    max_prefetch_length: "int | None"
    max_unmap_lba_count: "int | None"
    max_unmap_block_descriptor_count: "int | None"
    optimal_unmap_granularity: "int | None"
    ugavalid: "bool | None"
    unmap_granularity_alignment: "int | None"
    max_write_same_length: "int | None"
    page_length: int
    truncated: bool


def decode_block_limits(data: bytes) -> "BlockLimits":
    """Block limits (0xB0); at least the 16 bytes of the SBC-2 page are required.

    Sample (QEMU scsi-hd, 64 bytes): ``00 b0 00 3c 01 00 00 00 00 3f ff ff 00 00 00 00
    00 00 00 00 00 20 00 00 00 00 00 ff 00 00 00 08 00 00 00 00 00 00 00 00 00 3f ff ff``...
    -> WSNZ, max transfer 0x3fffff, max unmap LBA count 0x200000, 255 unmap descriptors,
    optimal unmap granularity 8, max write same length 0x3fffff.
    """
    page, truncated = _page(data, 0xB0, "block limits VPD page", min_length=16)
    ugavalid = None if len(page) < 36 else bool(page[32] & 0x80)
    return BlockLimits(
        wsnz=bool(page[4] & 0x01),
        max_compare_and_write_length=page[5],
        optimal_transfer_length_granularity=be_int(page, 6, 2),
        max_transfer_length=be_int(page, 8, 4),
        optimal_transfer_length=be_int(page, 12, 4),
        max_prefetch_length=_optional_int(page, 16, 4),
        max_unmap_lba_count=_optional_int(page, 20, 4),
        max_unmap_block_descriptor_count=_optional_int(page, 24, 4),
        optimal_unmap_granularity=_optional_int(page, 28, 4),
        ugavalid=ugavalid,
        unmap_granularity_alignment=_optional_int(page, 32, 4, 0x7FFFFFFF) if ugavalid else None,
        max_write_same_length=_optional_int(page, 36, 8),
        page_length=len(page) - _HEADER,
        truncated=truncated,
    )


# ---------------------------------------------------------------------------- 0xB1

_FORM_FACTORS = {0: "not_reported", 1: "5.25in", 2: "3.5in", 3: "2.5in", 4: "1.8in", 5: "<1.8in"}


@dataclass(frozen=True)
class BlockDeviceCharacteristics(FactRecord):
    medium_rotation_rate: int  # 0 not reported, 1 non-rotating, 0x401..0xfffe rpm
    non_rotating: "bool | None"  # None when the rate is not reported
    product_type: int
    wabereq: int
    wacereq: int
    nominal_form_factor: int
    nominal_form_factor_name: str
    zoned: int
    fuab: bool
    vbuls: bool
    truncated: bool


def decode_block_device_characteristics(data: bytes) -> "BlockDeviceCharacteristics":
    """Block device characteristics (0xB1); the first 9 bytes are required.

    Sample: ``00 b1 00 3c 00 01 00 00 00 ...`` -> rotation rate 1, non-rotating.
    """
    page, truncated = _page(data, 0xB1, "block device characteristics VPD page", min_length=9)
    rate = be_int(page, 4, 2)
    form_factor = page[7] & 0x0F
    return BlockDeviceCharacteristics(
        medium_rotation_rate=rate,
        non_rotating=None if rate == 0 else rate == 1,
        product_type=page[6],
        wabereq=page[7] >> 6,
        wacereq=(page[7] >> 4) & 0x03,
        nominal_form_factor=form_factor,
        nominal_form_factor_name=_FORM_FACTORS.get(form_factor, "reserved"),
        zoned=(page[8] >> 4) & 0x03,
        fuab=bool(page[8] & 0x02),
        vbuls=bool(page[8] & 0x01),
        truncated=truncated,
    )


# ---------------------------------------------------------------------------- 0xB2

# SBC-4 table 265; SBC-3 before r35 called 000b "not reported": we say "full" as SBC-4 does
_PROVISIONING_TYPES = {0: "full", 1: "resource", 2: "thin"}


@dataclass(frozen=True)
class LogicalBlockProvisioning(FactRecord):
    threshold_exponent: int
    lbpu: bool  # UNMAP supported
    lbpws: bool  # WRITE SAME(16) with UNMAP supported
    lbpws10: bool  # WRITE SAME(10) with UNMAP supported
    lbprz: int  # 3 bits in SBC-4 (bit 2 alone, "LBPRZ", in SBC-3): 0 = unmapped reads not zero
    anc_sup: bool
    dp: bool
    minimum_percentage: int
    provisioning_type: int
    provisioning_type_name: str  # "full" | "resource" | "thin" | "reserved"
    threshold_percentage: int
    truncated: bool


def decode_logical_block_provisioning(data: bytes) -> "LogicalBlockProvisioning":
    """Logical block provisioning (0xB2); the first 8 bytes are required.

    Sample (QEMU scsi-hd): ``00 b2 00 04 00 e0 02 00`` -> LBPU, LBPWS, LBPWS10, thin.
    A provisioning group descriptor (DP set) is not decoded.
    """
    page, truncated = _page(data, 0xB2, "logical block provisioning VPD page", min_length=8)
    flags = page[5]
    ptype = page[6] & 0x07
    return LogicalBlockProvisioning(
        threshold_exponent=page[4],
        lbpu=bool(flags & 0x80),
        lbpws=bool(flags & 0x40),
        lbpws10=bool(flags & 0x20),
        lbprz=(flags >> 2) & 0x07,
        anc_sup=bool(flags & 0x02),
        dp=bool(flags & 0x01),
        minimum_percentage=page[6] >> 3,
        provisioning_type=ptype,
        provisioning_type_name=_PROVISIONING_TYPES.get(ptype, "reserved"),
        threshold_percentage=page[7],
        truncated=truncated,
    )
