"""The rule files' condition language, evaluated in three values: true, false, or unknown.

A condition is a TOML table of ``"fact.path" = test`` entries; all entries must hold. A test is
either a plain value (equality) or a table of one operator:

=====================  =================================================================
``"p" = "x"``          the fact equals ``x`` (a string, integer or boolean)
``"p" = {ne = "x"}``   the fact is present and differs from ``x``
``"p" = {in = [..]}``  the fact is one of the listed values (``not_in`` the opposite)
``"p" = {gt = 0}``     numeric comparison (integer or float): ``lt``, ``le``, ``gt``, ``ge``
``"p" = {contains = "x"}``  the fact is a list (or string) that contains ``x``
``"p" = {lacks = "x"}``     the fact is a list (or string) that does not contain ``x``
``"p" = {exists = true}``   the fact is present and not null (``exists = false`` the opposite)
``"p" = {missing = true}``  the fact is absent or null — same as ``exists = false``
=====================  =================================================================

A fact that is absent or null is *missing*. Every test but ``exists``/``missing`` on a missing
fact is **unknown**, never false: unknown means "cannot be decided", and the engine turns an
undecidable case into an ``unknown`` verdict naming the missing facts. ``all_of`` is false if any
entry is false, else unknown if any is unknown; ``any_of`` is true if any entry is true, else
unknown if any is unknown. Fact paths are dotted: ``facts.persistent_reservations.keys``;
a number in a path indexes a list (``inventory.mounts.0.fs_type``).
"""


import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MISSING",
    "OPERATORS",
    "Truth",
    "check_condition",
    "evaluate_all",
    "evaluate_any",
    "render",
    "resolve",
    "template_fields",
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: "Any" = _Missing()

OPERATORS = (
    "ne", "in", "not_in", "lt", "le", "gt", "ge", "contains", "lacks", "exists", "missing"
)
_SCALARS = (str, int, bool)


@dataclass(frozen=True)
class Truth:
    """Three-valued: ``value`` is True, False or None (unknown; ``missing`` says why)."""

    value: "bool | None"
    missing: "tuple[str, ...]" = field(default=())


def resolve(context: "Mapping[str, Any]", path: str) -> "Any":
    """The value at dotted ``path``, or :data:`MISSING` when a step is absent.

    >>> resolve({"transport": {"kind": "virtio-blk"}}, "transport.kind")
    'virtio-blk'
    >>> resolve({"facts": {"keys": None}}, "facts.keys.count") is MISSING
    True
    """
    return _resolve_steps(context, path.split("."))


def _is_missing(value: "Any") -> bool:
    return value is MISSING or value is None


def _test(value: "Any", operator: str, operand: "Any") -> bool:
    if operator == "eq":
        return value == operand and type(value) is type(operand)
    if operator == "ne":
        return not _test(value, "eq", operand)
    if operator == "in":
        return any(_test(value, "eq", item) for item in operand)
    if operator == "not_in":
        return not _test(value, "in", operand)
    if operator in ("contains", "lacks"):
        if not isinstance(value, (list, tuple, str)):
            raise _Undecidable
        return (operand in value) == (operator == "contains")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Undecidable
    return {
        "lt": value < operand,
        "le": value <= operand,
        "gt": value > operand,
        "ge": value >= operand,
    }[operator]


class _Undecidable(Exception):
    """A comparison of a fact of the wrong kind (e.g. text compared with a number)."""


def split_test(test: "Any") -> "tuple[str, Any]":
    """``"x"`` -> ("eq", "x"); ``{"in": [...]}`` -> ("in", [...]). ValueError when malformed."""
    if isinstance(test, Mapping):
        if len(test) != 1:
            raise ValueError(f"a test table holds exactly one operator, not {sorted(test)}")
        ((operator, operand),) = test.items()
        if operator not in OPERATORS:
            raise ValueError(f"unknown operator {operator!r} (known: {', '.join(OPERATORS)})")
        if operator in ("in", "not_in"):
            if not isinstance(operand, list) or not all(isinstance(v, _SCALARS) for v in operand):
                raise ValueError(f"{operator} takes a list of strings, integers or booleans")
        elif operator in ("exists", "missing"):
            if not isinstance(operand, bool):
                raise ValueError(f"{operator} takes true or false")
        elif operator in ("lt", "le", "gt", "ge"):
            if isinstance(operand, bool) or not isinstance(operand, (int, float)):
                raise ValueError(f"{operator} takes a number")
        elif not isinstance(operand, _SCALARS):
            raise ValueError(f"{operator} takes a string, integer or boolean")
        return operator, operand
    if isinstance(test, _SCALARS):
        return "eq", test
    raise ValueError(f"a test is a value or a one-operator table, not {test!r}")


def check_condition(condition: "Any") -> None:
    """ValueError unless ``condition`` is a table of fact paths to well-formed tests."""
    if not isinstance(condition, Mapping) or not condition:
        raise ValueError("a condition is a non-empty table of fact paths to tests")
    for path, test in condition.items():
        if not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*", path):
            raise ValueError(f"fact path {path!r} is not dotted lower-case words")
        split_test(test)


_TRUE, _FALSE = Truth(True), Truth(False)
_TRUTHS = {True: _TRUE, False: _FALSE}
# a condition's entries, each split once: (path, its steps, operator, operand), by the id of the
# condition (kept beside it, so an id is never taken for another's)
_COMPILED_MAX = 4096  # the shipped rules hold about 200
_COMPILED: "dict[int, tuple[Mapping[str, Any], list[tuple[str, list[str], str, Any]]]]" = {}


def _compiled(condition: "Mapping[str, Any]") -> "list[tuple[str, list[str], str, Any]]":
    found = _COMPILED.get(id(condition))
    if found is None or found[0] is not condition:
        if len(_COMPILED) >= _COMPILED_MAX:  # rules loaded again and again (tests): bounded
            _COMPILED.clear()
        entries = [(p, p.split("."), *split_test(t)) for p, t in condition.items()]
        found = _COMPILED[id(condition)] = (condition, entries)
    return found[1]


def _resolve_steps(context: "Mapping[str, Any]", steps: "list[str]") -> "Any":
    value: "Any" = context
    for part in steps:
        if type(value) is dict or isinstance(value, Mapping):  # (a dict's test, without the ABC)
            value = value.get(part, MISSING)
        elif type(value) is list and part.isdigit():
            index = int(part)
            value = value[index] if index < len(value) else MISSING
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value


def _entry(context: "Mapping[str, Any]", path: str, steps: "list[str]", operator: str,
           operand: "Any") -> "Truth":
    value = _resolve_steps(context, steps)
    if operator in ("exists", "missing"):
        present = not _is_missing(value)
        return _TRUTHS[present == (operand if operator == "exists" else not operand)]
    if _is_missing(value):
        return Truth(None, (path,))
    try:
        return _TRUTHS[_test(value, operator, operand)]
    except _Undecidable:
        return Truth(None, (path,))


def _combine(truths: "Iterable[Truth]", decisive: bool) -> "Truth":
    """all_of (decisive=False: one false decides) or any_of (decisive=True: one true decides)."""
    missing: "list[str]" = []
    for truth in truths:
        if truth.value is decisive:
            return _TRUTHS[decisive]
        missing.extend(p for p in truth.missing if p not in missing)
    return Truth(None, tuple(missing)) if missing else _TRUTHS[not decisive]


def evaluate_all(context: "Mapping[str, Any]", condition: "Mapping[str, Any]") -> "Truth":
    """Every entry of ``condition`` holds (three-valued)."""
    missing: "list[str]" = []
    for path, steps, operator, operand in _compiled(condition):
        truth = _entry(context, path, steps, operator, operand)
        if truth.value is False:
            return _FALSE
        if truth.value is None and path not in missing:
            missing.append(path)
    return Truth(None, tuple(missing)) if missing else _TRUE


def evaluate_any(
    context: "Mapping[str, Any]",
    conditions: "Iterable[Mapping[str, Any]]",
) -> "Truth":
    """At least one of ``conditions`` holds (three-valued)."""
    return _combine((evaluate_all(context, c) for c in conditions), decisive=True)


# ---------------------------------------------------------------------------- sentences


def template_fields(text: str) -> "list[str]":
    """The fact paths a sentence refers to: ``"on {transport.kind}"`` -> ``["transport.kind"]``.

    ValueError for a malformed template (a lone ``{``; write ``{{`` for a brace).
    """
    names = []
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if spec or conversion or not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*", name):
            raise ValueError(f"template field {{{name}}} is not a plain dotted fact path")
        names.append(name)
    return names


def _words(value: "Any") -> str:
    if type(value) is str:
        return value
    if _is_missing(value):
        return "(unknown)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_words(v) for v in value) if value else "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_words(v)}" for k, v in value.items())
    return str(value)


def render(text: str, context: "Mapping[str, Any]") -> str:
    """Fill ``{fact.path}`` fields of a sentence from the facts; a missing fact reads (unknown).

    >>> render("a {transport.kind} disk", {"transport": {"kind": "virtio-blk"}})
    'a virtio-blk disk'
    """
    out = []
    for literal, name, _, _ in string.Formatter().parse(text):
        out.append(literal)
        if name is not None:
            out.append(_words(resolve(context, name)))
    return "".join(out)
