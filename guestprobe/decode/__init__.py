"""Pure decoders: SCSI response bytes (and sg3_utils hex dumps) in, frozen fact records out.

Every decoder takes ``bytes`` and returns a frozen dataclass, or raises :class:`DecodeError`
(a :class:`ValueError`) for anything truncated or malformed; no other exception escapes a decoder
(no ``IndexError``, no ``struct.error``). Nothing here touches the machine, and this package
imports no other guestprobe module.

Length rules, the same in every decoder:

* A response **longer** than its header says (an allocation-length-sized buffer) is trimmed to
  the length the header gives.
* A response **shorter** than its header says is decoded as far as whole fields or whole
  descriptors reach, and the record's ``truncated`` field is ``True``. Where nothing useful can
  be decoded (the fixed part a decoder needs is missing, or the one descriptor that carries the
  answer is cut), the decoder raises :class:`DecodeError` instead.
* Responses without a length header (READ CAPACITY(16)) have no ``truncated`` field: they are
  decoded when the fields they need are whole and rejected otherwise.

Modules: :mod:`.hexdump` (sg3_utils hex dumps into bytes), :mod:`.inquiry`, :mod:`.vpd`,
:mod:`.readcap`, :mod:`.persist` (PERSISTENT RESERVE IN and Veritas keys), :mod:`.opcodes`.
"""


import dataclasses
from enum import Enum
from typing import Any

__all__ = ["DecodeError", "FactRecord", "be_int", "json_ready", "require"]


class DecodeError(ValueError):
    """Response bytes (or a hex dump) that are truncated or malformed beyond use."""


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: "dict[type, tuple[str, ...]]" = {}


def json_ready(value: "Any") -> "Any":
    """Turn a fact record (or anything inside one) into JSON-ready data.

    bytes become lowercase hex strings, enums their values, dataclasses dicts of their fields,
    tuples and lists lists.

    >>> json_ready({"raw": b"\\x60\\x0e", "pages": (0, 0x80)})
    {'raw': '600e', 'pages': [0, 128]}
    """
    kind = type(value)
    if kind in _JSON_SCALARS:
        return value
    if kind is list or kind is tuple:
        return [v if type(v) in _JSON_SCALARS else json_ready(v) for v in value]
    if isinstance(value, Enum):
        return json_ready(value.value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    names = _FIELD_NAMES.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: json_ready(getattr(value, name)) for name in names}
    if isinstance(value, dict):
        return {str(json_ready(k)): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_ready(v) for v in value]
    return value


class FactRecord:
    """Mixin for the decoders' frozen dataclasses: gives each a ``to_dict()``."""

    __slots__ = ()

    def to_dict(self) -> "dict[str, Any]":
        """The record as JSON-ready data (see :func:`json_ready`)."""
        result = json_ready(self)
        assert isinstance(result, dict)
        return result


def require(data: bytes, length: int, what: str) -> None:
    """Raise :class:`DecodeError` unless ``data`` holds at least ``length`` bytes."""
    if len(data) < length:
        raise DecodeError(f"{what}: {len(data)} bytes, need at least {length}")


def be_int(data: bytes, offset: int, size: int) -> int:
    """Big-endian unsigned integer of ``size`` bytes at ``offset`` (caller checked the length)."""
    return int.from_bytes(data[offset : offset + size], "big")
