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
from dataclasses import dataclass

from guestprobe.decode import DecodeError, FactRecord, be_int, require
from guestprobe.decode.hexdump import parse_hexdump

__all__ = [
    "PR_TYPE_NAMES",
    "PrCapabilities",
    "ReadKeys",
    "ReadReservation",
    "Reservation",
    "VeritasKey",
    "decode_read_keys",
    "decode_read_reservation",
    "decode_report_capabilities",
    "decode_veritas_key",
    "key_hex",
    "pr_in_data_from_hexdump",
    "pr_in_header_from_text",
]

_HEADER = 8
_KEY = 8
_RESERVATION_DESCRIPTOR = 16

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
    generation, body, truncated = _pr_header(data, "PR IN READ KEYS")
    additional = be_int(data, 4, 4)
    if additional % _KEY:
        raise DecodeError(f"PR IN READ KEYS: additional length {additional} is not a multiple of 8")
    whole = len(body) - len(body) % _KEY
    keys = tuple(be_int(body, pos, _KEY) for pos in range(0, whole, _KEY))
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
    key = be_int(body, 0, _KEY)
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


def _key_ascii(raw: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in raw)


def holder_words(key_hex_text: str) -> str:
    """A reservation holder's key in a few words, for the first screen of a report.

    >>> holder_words("5646314132423033")
    'VF1A2B03: cluster 6699, node 3'
    >>> holder_words("0000000000abcdef")
    'key 0x0000000000abcdef (not a Veritas key)'
    """
    try:
        veritas = decode_veritas_key(int(key_hex_text, 16))
    except ValueError:
        veritas = None
    if veritas is None:
        return f"key 0x{key_hex_text} (not a Veritas key)"
    if veritas.kind == "coordinator":
        return f"{veritas.ascii}: cluster {veritas.cluster_id}, node {veritas.node_id}"
    return f"{veritas.ascii}: Veritas data disk key of node {veritas.node_id}"


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
