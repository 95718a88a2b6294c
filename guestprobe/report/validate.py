"""Type checks of a saved report's raw records against the dataclasses that will hold them.

A report read back (``guestprobe report``, ``compare``) is rebuilt into the collector's dataclasses
(``Collection.from_dict``) and decoded and judged again. Every field is checked first against the
annotation of the dataclass field it fills (``"int | None"``, ``"list[dict[str, str]]"``,
``"BlockDisk"``, ...), so a value of the wrong JSON type is refused with one line naming it
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
from typing import Any, Callable

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
    for old, new in (("List[", "list["), ("Dict[", "dict[")):
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

    def __init__(self, annotation: str, item: "_Type") -> None:
        super().__init__(annotation, frozenset({list}))
        self.item = item

    def check(self, value: "Any", where: str) -> None:
        super().check(value, where)
        _check_each(self.item, enumerate(value), lambda index: f"{where}[{index}]")


class _Dict(_Type):
    inner = True

    def __init__(self, annotation: str, key: "_Type", item: "_Type") -> None:
        super().__init__(annotation, frozenset({dict}))
        self.key, self.item = key, item

    def check(self, value: "Any", where: str) -> None:
        super().check(value, where)
        _check_each(self.key, ((key, key) for key in value), lambda key: f"{where}.{key}")
        _check_each(self.item, value.items(), lambda key: f"{where}.{key}")


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
        # one alternative matched the JSON type but failed inside: report that one
        deeper = [p for p in problems if not str(p).startswith(where + ":")]
        if deeper:
            raise deeper[0]
        raise self.wrong(value, where)


class _Record(_Type):
    inner = True

    def __init__(self, annotation: str, cls: "type") -> None:
        super().__init__(annotation, frozenset({dict}))
        self.cls = cls

    def check(self, value: "Any", where: str) -> None:
        _check_fields(self.cls, value, where)


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
    if annotation.startswith("list["):
        return _List(annotation, _compile(annotation[len("list[") : -1], owner, name))
    if annotation.startswith("dict["):
        key_type, item_type = _split_top(annotation[len("dict[") : -1], ",")
        return _Dict(
            annotation, _compile(key_type, owner, ""), _compile(item_type, owner, name)
        )
    found = _dataclasses_in(owner).get(annotation)
    if found is not None:
        return _Record(annotation, found)
    # an annotation this checker does not know: a programming error, not input
    raise TypeError(f"cannot check values of type {annotation!r} ({owner.__name__}.{name})")


# per dataclass: (the key it is saved under, whether it must be there, its checker) per field
_PLANS: "dict[type, list[tuple[str, bool, _Type]]]" = {}


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
        if isinstance(value, type) and is_dataclass(value)
    }


def check_record(cls: "type", data: "Any", where: str) -> None:
    """:class:`BadInputError` unless ``data`` has the JSON types the dataclass ``cls`` holds."""
    _check_fields(cls, data, where)
