"""PERSISTENT RESERVE IN parameter data (SPC-4 6.15) and the Veritas registration keys in it.

The input is the parameter data itself (header included), i.e. what
:func:`guestprobe.decode.hexdump.parse_hexdump` makes of ``sg_persist --hex --hex`` output.
:func:`pr_in_data_from_hexdump` does that; where the header is printed as text (``PR
generation=0x0, Additional length=0``: READ KEYS and READ RESERVATION with a single ``--hex``, and
sg3_utils before 1.44 whatever the number of ``--hex``) and the dump lacks the 8 header bytes, it
puts the header back from those two numbers.

Samples:

* READ KEYS, generation 3, two keys::

      00 00 00 03 00 00 00 10  56 46 44 45 45 44 30 30  41 50 47 52 30 30 30 31

  -> keys ``0x5646444545443030`` ("VFDEED00") and ``0x4150475230303031`` ("APGR0001").
* READ RESERVATION, one reservation of type 5 by key 0x4150475230303031::

      00 00 00 03 00 00 00 10  41 50 47 52 30 30 30 31  00 00 00 00 00 05 00 00

* REPORT CAPABILITIES (the tgt LUN of the shared captures): ``00 08 00 80 ea 01 00 00`` ->
  TMV set, every reservation type supported, no other capability bit.

Veritas key formats (:func:`decode_veritas_key`), as documented in the Veritas "About the I/O
fencing registration key format" section of the Cluster Server Administrator's Guide
(SFHA 6.0.1 Solaris, sort.symantec.com/public/documents/sfha/6.0.1/solaris/productguides/html/
vcs_admin/ch10s03s01.htm; InfoScale 7.3 AIX, sort.veritas.com/public/documents/vie/7.3/aix/
productguides/html/vcs_admin/ch09s03s01.htm) and the ``vxfenadm -s`` example in the SF 5.1 SP1
for Oracle RAC Administrator's Guide (key ``VFDEED00``: "Cluster ID: 57069 Node ID: 0")::

    coordinator disk (vxfen, SCSI-3 and sybase mode):
        byte 0-1 "VF", 2-5 cluster id as 4 hex digits, 6-7 node id as 2 hex digits
        e.g. VFDEED00 = cluster 0xDEED (57069), node 0; node 10 would be "0A"
    data disk of a VCS failover disk group:
        byte 0 'A' + LLT node id, 1-3 "VCS", 4-7 not specified by the guides
    data disk of a CVM parallel (shared) disk group:
        byte 0 'A' + LLT node id, 1-3 "PGR", 4-7 "DGcount" (four characters, e.g. APGR0001;
        0000 for every group when the same_key_for_alldgs tunable is on; accepted when the
        four are printable ASCII)

The guides show the hex digits upper case and do not say whether DGcount is decimal or hex, so
only upper-case hex is accepted for VF keys and DGcount is kept as text. LLT node ids run 0-63,
so the first byte of a data disk key is 'A' (0x41) to 0x80.
"""


import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from guestprobe.decode import DecodeError, FactRecord, be_int, require
from guestprobe.decode.hexdump import parse_hexdump
from guestprobe.decode.vpd import PROTOCOL_IDENTIFIERS

__all__ = [
    "PR_TYPE_NAMES",
    "FenceScsiKey",
    "FullStatus",
    "KeyOwner",
    "PrCapabilities",
    "ReadKeys",
    "ReadReservation",
    "Registration",
    "Reservation",
    "TransportId",
    "VeritasKey",
    "decode_fence_scsi_key",
    "decode_read_full_status",
    "decode_read_keys",
    "decode_read_reservation",
    "decode_report_capabilities",
    "decode_transport_id",
    "decode_veritas_key",
    "describe_key",
    "full_status_descriptors",
    "initiator_span",
    "key_hex",
    "key_owner",
    "pr_in_data_from_hexdump",
    "pr_in_header_from_text",
    "pr_key_offsets",
]

_HEADER = 8
_KEY = 8
_RESERVATION_DESCRIPTOR = 16
_RESERVATION_KEY = _HEADER  # the reservation descriptor's key: bytes 8..15 of the data


def _body(data: bytes) -> bytes:
    """The parameter data after the header, as far as the additional length and ``data`` reach."""
    return bytes(data[_HEADER : _HEADER + be_int(data, 4, 4)]) if len(data) >= _HEADER else b""


def _key_offsets(data: bytes) -> "range":
    """READ KEYS: where each whole key is in the data (one per 8 bytes after the header)."""
    body = _body(data)
    return range(_HEADER, _HEADER + len(body) - len(body) % _KEY, _KEY)


def pr_key_offsets(service_action: str, data: bytes) -> "list[int]":
    """Where the reservation keys are in the PR IN parameter data (header included) of
    ``service_action`` (``read_keys``, ``read_reservation``, ``read_full_status``), as far as
    the data reach and without the decoders' checks (redaction replaces them in place).

    READ KEYS: one 8-byte key per 8 bytes after the 8-byte header. READ RESERVATION: the
    descriptor's key at bytes 8..15 only (bytes 16..23 hold the obsolete field, scope and
    type, never a key). READ FULL STATUS: the first 8 bytes of each whole descriptor.

    >>> pr_key_offsets("read_reservation", bytes.fromhex("00000001 00000010") + bytes(16))
    [8]
    """
    if len(data) < _HEADER + _KEY:
        return []
    if service_action == "read_keys":
        return list(_key_offsets(data))
    if service_action == "read_reservation":
        return [_RESERVATION_KEY] if be_int(data, 4, 4) >= _KEY else []
    if service_action == "read_full_status":
        return [start for start, _ in full_status_descriptors(data)]
    return []

# SPC-4 table 169
PR_TYPE_NAMES = {
    0x1: "write_exclusive",
    0x3: "exclusive_access",
    0x5: "write_exclusive_registrants_only",
    0x6: "exclusive_access_registrants_only",
    0x7: "write_exclusive_all_registrants",
    0x8: "exclusive_access_all_registrants",
}
# REPORT CAPABILITIES type mask: (byte offset, bit) of each type
_TYPE_MASK_BITS = {
    "write_exclusive_all_registrants": (4, 0x80),
    "exclusive_access_registrants_only": (4, 0x40),
    "write_exclusive_registrants_only": (4, 0x20),
    "exclusive_access": (4, 0x08),
    "write_exclusive": (4, 0x02),
    "exclusive_access_all_registrants": (5, 0x01),
}
_SCOPES = {0: "logical_unit"}


def key_hex(key: int) -> str:
    """A reservation key as 16 lowercase hex digits: ``key_hex(1) == '0000000000000001'``."""
    return f"{key:016x}"


# sg_persist before 1.44 (1.37: src/sg_persist.c) prints READ KEYS and READ RESERVATION with
# --hex as this line and a dump of the bytes after the 8-byte header; "too large" when the
# additional length exceeded its buffer (the dump is then cut at the buffer).
_TEXT_HEADER = re.compile(
    r"PR generation=0x([0-9a-fA-F]{1,8}), Additional length(?: too large)?=(-?[0-9]{1,10})"
)


def pr_in_data_from_hexdump(text: "str | bytes") -> bytes:
    """PR IN parameter data from ``sg_persist --hex --hex`` output (see module docstring).

    The shape of releases before 1.44, whose header is text and whose dump holds the rest, is
    put back together: ``  PR generation=0x3, Additional length=8`` and
    `` 00     56 46 44 45 45 44 30 30`` -> ``00000003 00000008 5646444545443030``.
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("ascii", "replace")
    return pr_in_header_from_text(text) + parse_hexdump(text)


def pr_in_header_from_text(text: str) -> bytes:
    """The 8 header bytes where sg_persist printed them as text; ``b""`` where it did not."""
    header = _TEXT_HEADER.search(text)
    if header is None:
        return b""
    generation, additional = int(header.group(1), 16), int(header.group(2))
    if not 0 <= additional < 2**32:
        raise DecodeError(f"sg_persist header: additional length {additional} out of range")
    return struct.pack(">II", generation, additional)


def _pr_header(data: bytes, what: str) -> "tuple[int, bytes, bool]":
    """(generation, body trimmed to the additional length, truncated?)."""
    require(data, _HEADER, what)
    generation, additional = struct.unpack_from(">II", data)
    total = _HEADER + additional
    return generation, bytes(data[_HEADER:total]), len(data) < total


@dataclass(frozen=True)
class ReadKeys(FactRecord):
    generation: int
    keys: "tuple[int, ...]"
    keys_hex: "tuple[str, ...]"
    truncated: bool


def decode_read_keys(data: bytes) -> "ReadKeys":
    """READ KEYS parameter data; keys cut off by a truncated response are dropped.

    An additional length that is not a multiple of 8 raises :class:`DecodeError`.
    """
    generation, _, truncated = _pr_header(data, "PR IN READ KEYS")
    additional = be_int(data, 4, 4)
    if additional % _KEY:
        raise DecodeError(f"PR IN READ KEYS: additional length {additional} is not a multiple of 8")
    keys = tuple(be_int(data, at, _KEY) for at in _key_offsets(data))
    return ReadKeys(generation, keys, tuple(key_hex(k) for k in keys), truncated)


@dataclass(frozen=True)
class Reservation(FactRecord):
    key: int
    key_hex: str
    scope: int
    scope_name: str
    type_code: int
    type_name: str  # e.g. "write_exclusive_registrants_only"; "obsolete_or_reserved_0xN"


@dataclass(frozen=True)
class ReadReservation(FactRecord):
    generation: int
    reservation: "Reservation | None"  # None: no persistent reservation is held
    truncated: bool  # data past the (whole) descriptor is missing


def decode_read_reservation(data: bytes) -> "ReadReservation":
    """READ RESERVATION parameter data: none or one reservation.

    An additional length of neither 0 nor at least 16, or a reservation descriptor cut off by
    a truncated response, raises :class:`DecodeError` (whether a reservation is held would be
    unknown).
    """
    generation, body, truncated = _pr_header(data, "PR IN READ RESERVATION")
    additional = be_int(data, 4, 4)
    if additional == 0:
        return ReadReservation(generation, None, truncated)
    if additional < _RESERVATION_DESCRIPTOR:
        raise DecodeError(f"PR IN READ RESERVATION: additional length {additional} is malformed")
    if len(body) < _RESERVATION_DESCRIPTOR:
        raise DecodeError("PR IN READ RESERVATION: reservation descriptor truncated")
    key = be_int(data, _RESERVATION_KEY, _KEY)
    scope, type_code = body[13] >> 4, body[13] & 0x0F
    reservation = Reservation(
        key=key,
        key_hex=key_hex(key),
        scope=scope,
        scope_name=_SCOPES.get(scope, f"obsolete_or_reserved_0x{scope:x}"),
        type_code=type_code,
        type_name=PR_TYPE_NAMES.get(type_code, f"obsolete_or_reserved_0x{type_code:x}"),
    )
    return ReadReservation(generation, reservation, truncated)


@dataclass(frozen=True)
class PrCapabilities(FactRecord):
    length: int
    rlr_c: bool
    crh: bool
    sip_c: bool
    atp_c: bool
    ptpl_c: bool
    tmv: bool
    allow_commands: int
    ptpl_a: bool
    type_mask: int  # bytes 4-5 as sent
    supported_types: "tuple[str, ...] | None"  # None when TMV = 0 (mask not valid)
    truncated: bool

    def supports_type(self, name: str) -> "bool | None":
        """Whether the type mask lists reservation type ``name``; None when TMV = 0."""
        if name not in _TYPE_MASK_BITS:
            raise ValueError(f"unknown persistent reservation type {name!r}")
        if self.supported_types is None:
            return None
        return name in self.supported_types


def decode_report_capabilities(data: bytes) -> "PrCapabilities":
    """REPORT CAPABILITIES parameter data (length 8); sample ``00 08 00 80 ea 01 00 00``.

    Bytes 0-5 (through the type mask) are required; a length field below 6 raises.
    """
    require(data, 2, "PR IN REPORT CAPABILITIES")
    length = be_int(data, 0, 2)
    if length < 6:
        raise DecodeError(f"PR IN REPORT CAPABILITIES: length {length}, need at least 6")
    require(data, 6, "PR IN REPORT CAPABILITIES")
    tmv = bool(data[3] & 0x80)
    supported = None
    if tmv:
        supported = tuple(
            name for name, (offset, bit) in _TYPE_MASK_BITS.items() if data[offset] & bit
        )
    return PrCapabilities(
        length=length,
        rlr_c=bool(data[2] & 0x80),
        crh=bool(data[2] & 0x10),
        sip_c=bool(data[2] & 0x08),
        atp_c=bool(data[2] & 0x04),
        ptpl_c=bool(data[2] & 0x01),
        tmv=tmv,
        allow_commands=(data[3] >> 4) & 0x07,
        ptpl_a=bool(data[3] & 0x01),
        type_mask=be_int(data, 4, 2),
        supported_types=supported,
        truncated=len(data) < length,
    )


# ------------------------------------------------------------------------ READ FULL STATUS

_FULL_STATUS_DESCRIPTOR = 24  # the fixed part, before the TransportID (SPC-4 table 176)
_ISID_SEPARATOR = re.compile(rb",i,0x", re.IGNORECASE)


@dataclass(frozen=True)
class TransportId(FactRecord):
    """One initiator port as a TransportID names it (SPC-4 7.6.4)."""

    protocol_id: int
    protocol: str  # "iscsi", "fibre_channel", "sas", ... (vpd.PROTOCOL_IDENTIFIERS)
    format_code: int
    initiator: "str | None"  # iSCSI name; FC N_Port_Name or SAS address as 0x + 16 hex digits
    isid: "str | None"  # iSCSI format 01: the initiator session id (hex, as sent)
    raw_hex: str  # the TransportID bytes as sent


def decode_transport_id(data: bytes) -> "TransportId":
    """A TransportID: iSCSI (format 00: name; 01: name ``,i,0x`` ISID), FC (N_PORT_NAME at
    bytes 8-15), SAS (SAS ADDRESS at 4-11); other protocols keep their bytes only.

    >>> tid = decode_transport_id(bytes.fromhex("05000010") + b"iqn.2026-01.x:a" + bytes(1))
    >>> (tid.protocol, tid.initiator, tid.isid)
    ('iscsi', 'iqn.2026-01.x:a', None)
    """
    require(data, 4, "TransportID")
    protocol_id, format_code = data[0] & 0x0F, data[0] >> 6
    initiator = isid = None
    span = initiator_span(data)
    if span is not None and protocol_id == 0x5:
        initiator = bytes(data[span[0] : span[1]]).decode("ascii", "replace")
        if format_code == 1:
            after = bytes(data[span[1] : 4 + be_int(data, 2, 2)]).split(b"\0", 1)[0]
            separator = _ISID_SEPARATOR.match(after)
            isid = after[separator.end() :].decode("ascii", "replace") if separator else None
    elif span is not None:
        initiator = "0x" + bytes(data[span[0] : span[1]]).hex()
    return TransportId(
        protocol_id=protocol_id,
        protocol=PROTOCOL_IDENTIFIERS.get(protocol_id, f"reserved_0x{protocol_id:x}"),
        format_code=format_code,
        initiator=initiator,
        isid=isid,
        raw_hex=bytes(data).hex(),
    )


def initiator_span(data: bytes) -> "tuple[int, int] | None":
    """(start, end) in a TransportID of the bytes that name the initiator: the iSCSI name
    (formats 00 and 01: up to its NUL or the ``,i,0x`` before the ISID), the FC N_PORT_NAME
    (bytes 8-15), the SAS ADDRESS (4-11); None for other protocols or formats, or where the
    TransportID stops short of it.

    >>> initiator_span(bytes.fromhex("45000018") + b"iqn.2026-01.x:a,i,0x23d0" + bytes(1))
    (4, 19)
    """
    if len(data) < 4:
        return None
    protocol_id, format_code = data[0] & 0x0F, data[0] >> 6
    if protocol_id == 0x5 and format_code in (0, 1):
        text = bytes(data[4 : 4 + be_int(data, 2, 2)]).split(b"\0", 1)[0]
        separator = _ISID_SEPARATOR.search(text) if format_code == 1 else None
        return 4, 4 + (separator.start() if separator else len(text))
    first = {0x0: 8, 0x6: 4}.get(protocol_id) if format_code == 0 else None
    if first is None or len(data) < first + 8:
        return None
    return first, first + 8


@dataclass(frozen=True)
class Registration(FactRecord):
    """One full status descriptor: a registered I_T nexus and its key (SPC-4 6.16.5)."""

    key: int
    key_hex: str
    all_tg_pt: bool  # registered through every target port
    reservation_holder: bool
    scope: "int | None"  # only where reservation_holder
    type_code: "int | None"
    type_name: "str | None"
    relative_target_port: "int | None"  # None where all_tg_pt
    transport_id: "TransportId | None"  # None: no TransportID in the descriptor


@dataclass(frozen=True)
class FullStatus(FactRecord):
    generation: int
    registrations: "tuple[Registration, ...]"
    truncated: bool


def decode_read_full_status(data: bytes) -> "FullStatus":
    """READ FULL STATUS parameter data: one descriptor per registered I_T nexus.

    Descriptor: key (0-7), byte 12 ALL_TG_PT (bit 1) and R_HOLDER (bit 0), byte 13 scope and
    type, relative target port identifier (18-19), additional descriptor length (20-23), then
    the TransportID. Sample: one iSCSI registration, key ``VF1A2B03``, holding a type 5
    reservation through target port 1::

        00 00 00 07 00 00 00 30  56 46 31 41 32 42 30 33  00 00 00 00 01 05 00 00
        00 00 00 01 00 00 00 18  05 00 00 14 69 71 6e 2e  32 30 32 36 2d 30 31 2e
        78 3a 6e 6f 64 65 33 00

    A descriptor that runs past the additional length raises :class:`DecodeError`; one cut off
    by a truncated response is dropped (``truncated``).
    """
    generation, body, truncated = _pr_header(data, "PR IN READ FULL STATUS")
    additional = be_int(data, 4, 4)
    registrations = []
    for at, end in _descriptor_spans(body):
        if at + _FULL_STATUS_DESCRIPTOR > additional:
            raise DecodeError(f"PR IN READ FULL STATUS: descriptor at {at} overruns the data")
        if at + _FULL_STATUS_DESCRIPTOR > len(body):
            truncated = True
            break
        if end > additional:
            raise DecodeError(
                f"PR IN READ FULL STATUS: descriptor at {at} (additional descriptor length "
                f"{end - at - _FULL_STATUS_DESCRIPTOR}) overruns the additional length "
                f"{additional}"
            )
        if end > len(body):
            truncated = True
            break
        registrations.append(_registration(body[at:end]))
    return FullStatus(generation, tuple(registrations), truncated)


def _descriptor_spans(body: bytes) -> "Iterator[tuple[int, int]]":
    """(start, end) in ``body`` (the data after the header) of each full status descriptor, as
    their additional descriptor lengths lay them out: its fixed 24 bytes (key at start..start+7)
    and its TransportID up to ``end``. The last may be cut short: ``end > len(body)``
    (``start + 24`` where even the fixed part is)."""
    at = 0
    while at < len(body):
        fixed = at + _FULL_STATUS_DESCRIPTOR
        end = fixed if fixed > len(body) else fixed + be_int(body, at + 20, 4)
        yield at, end
        at = end


def full_status_descriptors(data: bytes) -> "list[tuple[int, int]]":
    """(start, end) in READ FULL STATUS parameter data (header included) of each whole
    descriptor: key at start..start+7, TransportID at start+24..end (redaction's walk)."""
    body = _body(data)
    return [
        (_HEADER + at, _HEADER + end) for at, end in _descriptor_spans(body) if end <= len(body)
    ]


def _registration(descriptor: bytes) -> "Registration":
    key = be_int(descriptor, 0, _KEY)
    flags, scope_type = descriptor[12], descriptor[13]
    holder, all_tg_pt = bool(flags & 0x01), bool(flags & 0x02)
    transport = descriptor[_FULL_STATUS_DESCRIPTOR:]
    type_code = scope_type & 0x0F
    return Registration(
        key=key,
        key_hex=key_hex(key),
        all_tg_pt=all_tg_pt,
        reservation_holder=holder,
        scope=scope_type >> 4 if holder else None,
        type_code=type_code if holder else None,
        type_name=PR_TYPE_NAMES.get(type_code, f"obsolete_or_reserved_0x{type_code:x}")
        if holder
        else None,
        relative_target_port=None if all_tg_pt else be_int(descriptor, 18, 2),
        transport_id=decode_transport_id(transport) if len(transport) >= 4 else None,
    )


# ---------------------------------------------------------------------------- Veritas keys

_COORDINATOR = re.compile(rb"VF([0-9A-F]{4})([0-9A-F]{2})")
_CVM_PARALLEL = re.compile(rb"[\x41-\x80]PGR([\x21-\x7e]{4})")
_VCS_FAILOVER = re.compile(rb"[\x41-\x80]VCS.{4}", re.DOTALL)


@dataclass(frozen=True)
class VeritasKey(FactRecord):
    key: int
    key_hex: str
    ascii: str  # the 8 bytes, non-printable ones as "."
    kind: str  # "coordinator" | "data_disk"
    scheme: str  # "vxfen_coordinator" | "cvm_parallel_dg" (PGR) | "vcs_failover_dg" (VCS)
    cluster_id: "int | None"  # coordinator keys only
    node_id: int  # LLT node id
    dg_count: "str | None"  # PGR keys: the four DGcount characters as sent

    def describe(self) -> str:
        """``Veritas coordinator key: cluster 6699, node 3``; the one wording of a Veritas key."""
        if self.kind == "coordinator":
            return f"Veritas coordinator key: cluster {self.cluster_id}, node {self.node_id}"
        scheme = _DATA_DISK_SCHEMES.get(self.scheme, self.scheme)
        return f"Veritas data disk key ({scheme}), node {self.node_id}"


_DATA_DISK_SCHEMES = {"cvm_parallel_dg": "CVM shared disk group", "vcs_failover_dg": "VCS failover"}


def _key_ascii(raw: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in raw)


def holder_words(key_hex_text: str) -> str:
    """A reservation holder's key in a few words (:attr:`KeyOwner.holder_text`).

    >>> holder_words("5646314132423033")
    'VF1A2B03: cluster 6699, node 3'
    """
    try:
        key = int(key_hex_text, 16)
    except ValueError:
        return f"key {key_hex_text}"
    return key_owner(key).holder_text


def decode_veritas_key(key: int) -> "VeritasKey | None":
    """A registration key in one of the Veritas formats (module docstring), else None.

    >>> decode_veritas_key(0x5646444545443030).cluster_id
    57069
    >>> decode_veritas_key(0x4150475230303031).scheme
    'cvm_parallel_dg'
    """
    if not 0 <= key < 1 << 64:
        return None
    raw = key.to_bytes(_KEY, "big")
    common = {"key": key, "key_hex": key_hex(key), "ascii": _key_ascii(raw)}
    match = _COORDINATOR.fullmatch(raw)
    if match is not None:
        return VeritasKey(
            **common,
            kind="coordinator",
            scheme="vxfen_coordinator",
            cluster_id=int(match.group(1), 16),
            node_id=int(match.group(2), 16),
            dg_count=None,
        )
    match = _CVM_PARALLEL.fullmatch(raw) or _VCS_FAILOVER.fullmatch(raw)
    if match is None:
        return None
    pgr = raw[1:4] == b"PGR"
    return VeritasKey(
        **common,
        kind="data_disk",
        scheme="cvm_parallel_dg" if pgr else "vcs_failover_dg",
        cluster_id=None,
        node_id=raw[0] - ord("A"),
        dg_count=match.group(1).decode("ascii") if pgr else None,
    )


# ---------------------------------------------------------------------------- fence_scsi keys
# ClusterLabs fence-agents, agents/scsi/fence_scsi.py generate_key(): "%.4s%.4d" of the MD5 hex
# digest of corosync's totem.cluster_name and the corosync node id (--key-value=id, the
# default), or "%.4s%.4s" with the MD5 of the node name (--key-value=hash), given to sg_persist
# as a hex key: 8 hex digits, so the upper 4 bytes of the 8-byte key are zero.


@dataclass(frozen=True)
class FenceScsiKey(FactRecord):
    key: int
    key_hex: str
    cluster_hash: str  # the first 4 hex digits of the MD5 of the cluster name
    node_id: "int | None"  # --key-value=id: the corosync node id (4 decimal digits)
    node_hash: "str | None"  # otherwise (--key-value=hash): 4 hex digits of the node name's MD5

    def describe(self) -> str:
        """``fence_scsi key: cluster hash 7ab2, node 1``."""
        node = f"node {self.node_id}" if self.node_id is not None else f"node hash {self.node_hash}"
        return f"fence_scsi key: cluster hash {self.cluster_hash}, {node}"


def decode_fence_scsi_key(key: int) -> "FenceScsiKey | None":
    """A key in fence_scsi's format (above), else None.

    >>> decode_fence_scsi_key(0x7AB20001).describe()
    'fence_scsi key: cluster hash 7ab2, node 1'
    """
    if not 0 < key < 1 << 32:
        return None
    digits = f"{key:08x}"
    node = digits[4:]
    return FenceScsiKey(
        key=key,
        key_hex=key_hex(key),
        cluster_hash=digits[:4],
        node_id=int(node) if node.isdigit() else None,
        node_hash=None if node.isdigit() else node,
    )


@dataclass(frozen=True)
class KeyOwner(FactRecord):
    """Who a registration key belongs to, as far as its format tells."""

    key_hex: str
    scheme: str  # a VeritasKey scheme, "fence_scsi" or "other"
    cluster: "str | None"  # Veritas: the cluster id; fence_scsi: "hash 7ab2"
    node: "str | None"  # the node id (fence_scsi --key-value=hash: "hash 9f3c")
    label: str  # "VF1A2B03" for a Veritas key (its ASCII), else "0x" + the key in hex
    text: str  # the key's format in words (VeritasKey/FenceScsiKey.describe), or "other"

    @property
    def holder_text(self) -> str:
        """``VF1A2B03: cluster 6699, node 3`` (the short form a table shows)."""
        if self.cluster is None and self.node is None:
            return f"{self.label}: not a Veritas or fence_scsi key"
        parts = [f"cluster {self.cluster}"] if self.cluster is not None else []
        return f"{self.label}: " + ", ".join([*parts, f"node {self.node}"])


def key_owner(key: int) -> "KeyOwner":
    """A key's owner by its format: Veritas (coordinator or data disk), fence_scsi, other.

    >>> key_owner(0x5646314132423033).holder_text
    'VF1A2B03: cluster 6699, node 3'
    """
    veritas = decode_veritas_key(key)
    if veritas is not None:
        cluster = None if veritas.cluster_id is None else str(veritas.cluster_id)
        return KeyOwner(veritas.key_hex, veritas.scheme, cluster, str(veritas.node_id),
                        veritas.ascii, veritas.describe())
    fence = decode_fence_scsi_key(key)
    if fence is not None:
        node = str(fence.node_id) if fence.node_id is not None else f"hash {fence.node_hash}"
        return KeyOwner(fence.key_hex, "fence_scsi", f"hash {fence.cluster_hash}", node,
                        f"0x{key:x}", fence.describe())
    text = "not a Veritas or fence_scsi key format: another cluster or a manual sg_persist"
    return KeyOwner(key_hex(key), "other", None, None, f"0x{key_hex(key)}", text)


def describe_key(key: int) -> str:
    """A registration key in words, the one wording every view uses:
    ``0x5646314132423033 'VF1A2B03' (Veritas coordinator key: cluster 6699, node 3)``."""
    owner = key_owner(key)
    if owner.scheme in ("fence_scsi", "other"):
        return f"0x{owner.key_hex} ({owner.text})"
    return f"0x{owner.key_hex} '{owner.label}' ({owner.text})"
