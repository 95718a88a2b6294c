"""Type checks of a saved report's raw records against the dataclasses that will hold them.

A report read back (``guestprobe report``, ``compare``) is rebuilt into the collector's dataclasses
(``Collection.from_dict``) and decoded and judged again. Every field is checked first against the
annotation of the dataclass field it fills (``"int | None"``, ``"list[dict[str, str]]"``,
``"BlockDisk"``, ...), so a value of the wrong JSON type is refused with one line naming it
(``disks[2].inventory.size_bytes: a string, expected int | None``) instead of failing deep in a
decoder. Hex fields (raw responses, sysfs pages) must be hex.

>>> from guestprobe.collect.platform import VirtioDevice
>>> check_record(VirtioDevice, {"name": "virtio0", "device_id": "2", "kind": "blk"}, "x")
Traceback (most recent call last):
...
guestprobe.errors.BadInputError: x.device_id: a string, expected int | None
"""


import re
from dataclasses import MISSING, fields, is_dataclass
from typing import Any

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


class _Checker:
    def __init__(self, classes: "dict[str, type]") -> None:
        self.classes = classes

    def value(self, annotation: str, value: "Any", where: str, owner: str, name: str) -> None:
        annotation = _normalise(annotation)
        choices = _split_top(annotation, "|")
        if len(choices) > 1:
            problems = []
            for choice in choices:
                try:
                    self.value(choice, value, where, owner, name)
                    return
                except BadInputError as exc:
                    problems.append(exc)
            # one alternative matched the JSON type but failed inside: report that one
            deeper = [p for p in problems if not str(p).startswith(where + ":")]
            if deeper:
                raise deeper[0]
            raise BadInputError(f"{where}: {_json_name(value)}, expected {annotation}")
        if annotation == "Any":
            return
        if annotation == "None":
            ok = value is None
        elif annotation == "bool":
            ok = isinstance(value, bool)
        elif annotation == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif annotation == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif annotation == "str":
            ok = isinstance(value, str)
            if ok and (owner, name) in HEX_FIELDS and not _HEX.fullmatch(value):
                raise BadInputError(f"{where}: not hex bytes")
        elif annotation.startswith("list["):
            if not isinstance(value, list):
                raise BadInputError(f"{where}: {_json_name(value)}, expected {annotation}")
            inner = annotation[len("list[") : -1]
            for index, item in enumerate(value):
                self.value(inner, item, f"{where}[{index}]", owner, name)
            return
        elif annotation.startswith("dict["):
            if not isinstance(value, dict):
                raise BadInputError(f"{where}: {_json_name(value)}, expected {annotation}")
            key_type, item_type = _split_top(annotation[len("dict[") : -1], ",")
            for key, item in value.items():
                self.value(key_type, key, f"{where}.{key}", owner, "")
                self.value(item_type, item, f"{where}.{key}", owner, name)
            return
        elif annotation in self.classes:
            self.record(self.classes[annotation], value, where)
            return
        else:  # an annotation this checker does not know: a programming error, not input
            raise TypeError(f"cannot check values of type {annotation!r} ({owner}.{name})")
        if not ok:
            raise BadInputError(f"{where}: {_json_name(value)}, expected {annotation}")

    def record(self, cls: "type", data: "Any", where: str) -> None:
        if not isinstance(data, dict):
            raise BadInputError(f"{where}: {_json_name(data)}, expected an object")
        for field in fields(cls):
            key = SAVED_AS.get((cls.__name__, field.name), field.name)
            if key not in data:
                if field.default is MISSING and field.default_factory is MISSING:
                    raise BadInputError(f"{where}.{key}: missing")
                continue
            annotation = field.type if isinstance(field.type, str) else field.type.__name__
            self.value(annotation, data[key], f"{where}.{key}", cls.__name__, field.name)


def _dataclasses_under(cls: "type", found: "dict[str, type]") -> "dict[str, type]":
    found[cls.__name__] = cls
    module = __import__(cls.__module__, fromlist=["_"])
    for field in fields(cls):
        text = field.type if isinstance(field.type, str) else ""
        for word in re.findall(r"[A-Z]\w+", text):
            candidate = getattr(module, word, None)
            if is_dataclass(candidate) and word not in found:
                _dataclasses_under(candidate, found)
    return found


def check_record(cls: "type", data: "Any", where: str) -> None:
    """:class:`BadInputError` unless ``data`` has the JSON types the dataclass ``cls`` holds."""
    _Checker(_dataclasses_under(cls, {})).record(cls, data, where)
