"""The JSON edge of every record: checked and built from JSON in one walk, and back to JSON.

:func:`load` checks JSON data against a dataclass's annotations and builds the record in the same
walk; :class:`Record` gives a dataclass ``to_dict()`` (its fields, in order) and a validated
``from_dict()``. Every record of the report (:mod:`guestprobe.document.model`) is one; the
collector's raw collection (``collect.scan.Collection``) is built by :func:`load` too, and the few
collector records with a ``from_dict`` of their own are checked by :func:`check_record` first.

Type checks of a saved report's raw records against the dataclasses that will hold them.

A report read back (``guestprobe report``, ``compare``) is rebuilt into the collector's dataclasses
(``document.build.read_collection``) and decoded and judged again. Each field is checked
against the annotation of the dataclass field it fills (``"int | None"``,
``"list[dict[str, str]]"``, ``"BlockDisk"``, ...), so a value of the wrong JSON type is refused
with one line naming it
(``disks[2].inventory.size_bytes: a string, expected int | None``) instead of failing deep in a
decoder. Hex fields (raw responses, sysfs pages) must be hex, and no longer than what a scan
keeps of one answer. The annotations are read once per record class: each field's checker is
made on first use and kept (:func:`_plan`), so the work is one call per value.

>>> from guestprobe.collect.platform import VirtioDevice
>>> check_record(VirtioDevice, {"name": "virtio0", "device_id": "2", "kind": "blk"}, "x")
Traceback (most recent call last):
...
guestprobe.errors.BadInputError: x.device_id: a string, expected int | None
"""


import re
from dataclasses import MISSING, fields, is_dataclass
from enum import Enum
from typing import Any, Callable, ClassVar, Dict, Tuple

from guestprobe.collect.process import OUTPUT_LIMIT
from guestprobe.errors import BadInputError

_JSON_NAMES = {
    type(None): "null",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "an object",
}
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")
# fields whose strings are hex bytes: a probe's raw answer, the sysfs copies of VPD pages
HEX_FIELDS = {("ProbeResult", "stdout_hex"), ("BlockDisk", "sysfs_pages")}
# a probe's answer is at most what the collector keeps of a stream (collect.process)
MAX_HEX_CHARS = 2 * OUTPUT_LIMIT
# fields saved under another name (``DiskCollection.to_dict``)
SAVED_AS = {("DiskCollection", "disk"): "inventory"}


def _json_name(value: "Any") -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _split_top(text: str, separator: str) -> "list[str]":
    """``text`` split at ``separator`` outside brackets."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth == 0 and text.startswith(separator, index):
            parts.append(text[start:index].strip())
            start = index + len(separator)
    parts.append(text[start:].strip())
    return parts


def _normalise(annotation: str) -> str:
    """``Optional[X]``/``Union[..]``/``List``/``Dict`` spellings (a 3.6 port) as ``X | None``."""
    annotation = annotation.strip().replace("typing.", "")
    if annotation.startswith("Optional[") and annotation.endswith("]"):
        return _normalise(annotation[len("Optional[") : -1]) + " | None"
    if annotation.startswith("Union[") and annotation.endswith("]"):
        return " | ".join(_split_top(annotation[len("Union[") : -1], ","))
    for old, new in (("List[", "list["), ("Dict[", "dict["), ("Tuple[", "tuple[")):
        if annotation.startswith(old):
            annotation = new + annotation[len(old) :]
    return annotation


class _Type:
    """The checker of one annotation, made once per dataclass field (see :func:`_plan`).

    ``types`` are the exact Python types of the JSON values it takes (``None``: any value; JSON
    parses to exact types, never subclasses, so ``True`` is not an ``int``); a checker with
    ``inner`` set must also look inside the value, and ``check`` does it all.
    """

    inner = False

    def __init__(self, annotation: str, types: "frozenset[type] | None") -> None:
        self.annotation = annotation
        self.types = types

    def kind(self, value: "Any") -> bool:
        return self.types is None or type(value) in self.types

    def wrong(self, value: "Any", where: str) -> "BadInputError":
        return BadInputError(f"{where}: {_json_name(value)}, expected {self.annotation}")

    def check(self, value: "Any", where: str) -> None:
        if not self.kind(value):
            raise self.wrong(value, where)

    def load(self, value: "Any", where: str) -> "Any":
        """``value`` checked, as the typed value the field holds."""
        self.check(value, where)
        return value


def _check_each(checker: "_Type", items: "Any", where: "Callable[[Any], str]") -> None:
    """``checker`` applied to each of ``items``; ``where(item_key)`` names one (made on error)."""
    if checker.inner:
        for key, item in items:
            checker.check(item, where(key))
    elif checker.types is not None:
        types = checker.types
        for key, item in items:
            if type(item) not in types:
                raise checker.wrong(item, where(key))


class _Hex(_Type):
    inner = True

    def check(self, value: "Any", where: str) -> None:
        super().check(value, where)
        if len(value) > MAX_HEX_CHARS:
            raise BadInputError(
                f"{where}: {len(value) // 2:,} bytes, more than the {MAX_HEX_CHARS // 2:,} "
                "a scan keeps of one answer"
            )
        if not _HEX.fullmatch(value):
            raise BadInputError(f"{where}: not hex bytes")


class _List(_Type):
    inner = True

    def __init__(self, annotation: str, item: "_Type", as_tuple: bool = False) -> None:
        super().__init__(annotation, frozenset({list}))
        self.item = item
        self.as_tuple = as_tuple

    def check(self, value: "Any", where: str) -> None:
        super().check(value, where)
        _check_each(self.item, enumerate(value), lambda index: f"{where}[{index}]")

    def load(self, value: "Any", where: str) -> "Any":
        super().check(value, where)
        item = self.item
        if not item.inner and item.types is not None:
            _check_each(item, enumerate(value), lambda index: f"{where}[{index}]")
            items = list(value)
        else:
            items = [item.load(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if self.as_tuple else items


class _Dict(_Type):
    inner = True

    def __init__(self, annotation: str, key: "_Type", item: "_Type") -> None:
        super().__init__(annotation, frozenset({dict}))
        self.key, self.item = key, item

    def check(self, value: "Any", where: str) -> None:
        super().check(value, where)
        _check_each(self.key, ((key, key) for key in value), lambda key: f"{where}.{key}")
        _check_each(self.item, value.items(), lambda key: f"{where}.{key}")

    def load(self, value: "Any", where: str) -> "Any":
        if not self.item.inner:
            self.check(value, where)
            return dict(value)
        super().check(value, where)
        _check_each(self.key, ((key, key) for key in value), lambda key: f"{where}.{key}")
        return {key: self.item.load(item, f"{where}.{key}") for key, item in value.items()}


class _Union(_Type):
    def __init__(self, annotation: str, choices: "list[_Type]") -> None:
        kinds = [choice.types for choice in choices]
        super().__init__(annotation, None if None in kinds else frozenset().union(*kinds))
        self.choices = choices
        self.inner = any(choice.inner for choice in choices)

    def check(self, value: "Any", where: str) -> None:
        problems = []
        for choice in self.choices:
            if choice.kind(value):  # (the others could only say "expected ...")
                try:
                    choice.check(value, where)
                    return
                except BadInputError as exc:
                    problems.append(exc)
        self._fail(value, where, problems)

    def _fail(self, value: "Any", where: str, problems: "list[BadInputError]") -> None:
        # one alternative matched the JSON type but failed inside: report that one
        deeper = [p for p in problems if not str(p).startswith(where + ":")]
        if deeper:
            raise deeper[0]
        raise self.wrong(value, where)

    def load(self, value: "Any", where: str) -> "Any":
        problems = []
        for choice in self.choices:
            if choice.kind(value):
                try:
                    return choice.load(value, where)
                except BadInputError as exc:
                    problems.append(exc)
        self._fail(value, where, problems)


class _Record(_Type):
    inner = True

    def __init__(self, annotation: str, cls: "type") -> None:
        super().__init__(annotation, frozenset({dict}))
        self.cls = cls

    def check(self, value: "Any", where: str) -> None:
        _check_fields(self.cls, value, where)

    def load(self, value: "Any", where: str) -> "Any":
        return load(self.cls, value, where)


class _Bytes(_Type):
    """Bytes, saved as lowercase hex (:func:`guestprobe.decode.json_ready`)."""

    inner = True

    def check(self, value: "Any", where: str) -> None:
        super().check(value, where)
        if not _HEX.fullmatch(value):
            raise BadInputError(f"{where}: not hex bytes")

    def load(self, value: "Any", where: str) -> "Any":
        self.check(value, where)
        return bytes.fromhex(value)


class _Enum(_Type):
    """An enumeration, saved as its value."""

    inner = True

    def __init__(self, annotation: str, cls: "type") -> None:
        super().__init__(annotation, frozenset({str}))
        self.cls = cls

    def load(self, value: "Any", where: str) -> "Any":
        super().check(value, where)
        try:
            return self.cls(value)
        except ValueError:
            raise BadInputError(f"{where}: {value[:40]!r} is not a {self.annotation}") from None

    def check(self, value: "Any", where: str) -> None:
        self.load(value, where)


_SCALARS: "dict[str, frozenset[type] | None]" = {
    "Any": None,
    "None": frozenset({type(None)}),
    "bool": frozenset({bool}),
    "int": frozenset({int}),
    "float": frozenset({int, float}),
    "str": frozenset({str}),
}


def _compile(annotation: str, owner: "type", name: str) -> "_Type":
    """The checker of ``annotation`` (a field ``name`` of the dataclass ``owner``)."""
    annotation = _normalise(annotation)
    choices = _split_top(annotation, "|")
    if len(choices) > 1:
        return _Union(annotation, [_compile(choice, owner, name) for choice in choices])
    if annotation == "str" and (owner.__name__, name) in HEX_FIELDS:
        return _Hex(annotation, _SCALARS["str"])
    if annotation in _SCALARS:
        return _Type(annotation, _SCALARS[annotation])
    if annotation == "bytes":
        return _Bytes(annotation, _SCALARS["str"])
    if annotation.startswith("list["):
        return _List(annotation, _compile(annotation[len("list[") : -1], owner, name))
    if annotation.startswith("tuple[") and annotation.endswith(", ...]"):
        item = _compile(annotation[len("tuple[") : -len(", ...]")], owner, name)
        return _List(annotation, item, as_tuple=True)
    if annotation.startswith("dict["):
        key_type, item_type = _split_top(annotation[len("dict[") : -1], ",")
        return _Dict(
            annotation, _compile(key_type, owner, ""), _compile(item_type, owner, name)
        )
    found = _dataclasses_in(owner).get(annotation)
    if found is not None:
        if isinstance(found, type) and issubclass(found, Enum):
            return _Enum(annotation, found)
        return _Record(annotation, found)
    # an annotation this checker does not know: a programming error, not input
    raise TypeError(f"cannot check values of type {annotation!r} ({owner.__name__}.{name})")


# per dataclass: (the key it is saved under, whether it must be there, its checker) per field
_PLANS: "dict[type, list[tuple[str, bool, _Type]]]" = {}
# per dataclass: (field name, the key it is saved under, its checker) of each field
_LOADS: "dict[type, list[tuple[str, str, _Type]]]" = {}


def _plan(cls: "type") -> "list[tuple[str, bool, _Type]]":
    """The fields' checkers of ``cls``, made on first use and kept: the annotations are read
    once per class, never once per value."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = []
        _PLANS[cls] = plan  # (a record that holds its own class finds the plan being made)
        for field in fields(cls):
            key = SAVED_AS.get((cls.__name__, field.name), field.name)
            required = field.default is MISSING and field.default_factory is MISSING
            annotation = field.type if isinstance(field.type, str) else field.type.__name__
            plan.append((key, required, _compile(annotation, cls, field.name)))
        _LOADS[cls] = [(f.name, key, checker) for f, (key, _, checker) in zip(fields(cls), plan)]
    return plan


def _check_fields(cls: "type", data: "Any", where: str) -> None:
    if not isinstance(data, dict):
        raise BadInputError(f"{where}: {_json_name(data)}, expected an object")
    for key, required, checker in _plan(cls):
        if key not in data:
            if required:
                raise BadInputError(f"{where}.{key}: missing")
        elif checker.inner:
            checker.check(data[key], f"{where}.{key}")
        elif checker.types is not None and type(data[key]) not in checker.types:
            raise checker.wrong(data[key], f"{where}.{key}")


def _dataclasses_in(cls: "type") -> "dict[str, type]":
    """The dataclasses that ``cls``'s annotations can name: those of its own module."""
    module = __import__(cls.__module__, fromlist=["_"])
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type) and (is_dataclass(value) or issubclass(value, Enum))
    }


def check_record(cls: "type", data: "Any", where: str) -> None:
    """:class:`BadInputError` unless ``data`` has the JSON types the dataclass ``cls`` holds."""
    _check_fields(cls, data, where)


def load(cls: "type", data: "Any", where: str) -> "Any":
    """The record ``cls`` built from JSON ``data``, checked in the same walk: BadInputError (one
    line naming the field) for a value of the wrong type, a missing required key, bad hex. A
    class with a ``from_dict`` of its own that is not a :class:`Record` (the collector's) is
    checked, then built by it."""
    own = getattr(cls, "from_dict", None)
    if own is not None and not issubclass(cls, Record):
        _check_fields(cls, data, where)
        return own(data)
    if not isinstance(data, dict):
        raise BadInputError(f"{where}: {_json_name(data)}, expected an object")
    _plan(cls)
    values = {}
    for name, key, checker in _LOADS[cls]:
        if key in data:
            values[name] = checker.load(data[key], f"{where}.{key}")
    required = [key for key, must, _ in _PLANS[cls] if must and key not in data]
    if required:
        raise BadInputError(f"{where}.{required[0]}: missing")
    return cls(**values)


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(value: "Any") -> "Any":
    """A typed value as JSON-ready data: records by their ``to_dict()``, enums by value, bytes
    as hex, tuples as lists."""
    kind = type(value)
    if kind in _JSON_SCALARS:
        return value
    if kind is list or kind is tuple:
        return [v if type(v) in _JSON_SCALARS else plain(v) for v in value]
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    return value


_NAMES: "Dict[type, Tuple[Tuple[str, bool, bool], ...]]" = {}


class Record:
    """Mixin for the document's dataclasses: ``to_dict()`` (the fields, in order; a field of
    ``OMIT_NONE`` is left out when None, of ``OMIT_EMPTY`` when empty: keys a report of an
    older guestprobe does not have) and a validated ``from_dict()`` (:func:`load`)."""

    __slots__ = ()
    OMIT_NONE: "ClassVar[Tuple[str, ...]]" = ()
    OMIT_EMPTY: "ClassVar[Tuple[str, ...]]" = ()

    def to_dict(self, skip: "str | None" = None) -> "Dict[str, Any]":
        """The fields in order as JSON-ready data (but ``skip``, which the caller fills)."""
        cls = type(self)
        names = _NAMES.get(cls)
        if names is None:
            names = _NAMES[cls] = tuple(
                (f.name, f.name in cls.OMIT_NONE, f.name in cls.OMIT_EMPTY) for f in fields(cls)
            )
        out: "Dict[str, Any]" = {}
        for name, omit_none, omit_empty in names:
            if name == skip:
                continue
            value = getattr(self, name)
            if type(value) in _JSON_SCALARS:
                if (omit_none and value is None) or (omit_empty and not value):
                    continue
                out[name] = value
            elif not (omit_empty and not value):
                out[name] = plain(value)
        return out

    @classmethod
    def from_dict(cls, data: "Any", where: "str | None" = None) -> "Any":
        return load(cls, data, where or cls.__name__)
