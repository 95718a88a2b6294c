"""Load and check the rule files: ``checks/<feature>.toml``, installed as ``guestprobe.rules``.

The format is described in ``docs/rules.md``. Files whose name starts with ``_`` are not
features: ``_remedies.toml`` holds remediation texts that several rules share.

Where the rules come from, first found wins: the ``rules_dir`` argument, the environment
variable ``GUESTPROBE_RULES_DIR``, the installed package ``guestprobe.rules``, the source tree's
``checks/``. A rules directory without ``_remedies.toml`` borrows the bundled one.
"""


import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from guestprobe.check.conditions import check_condition, template_fields
from guestprobe.check.tomlload import TOML_ERRORS, load_text
from guestprobe.errors import BadInputError

RULES_DIR_ENV = "GUESTPROBE_RULES_DIR"
STATUSES = ("usable", "degraded", "not_usable", "unknown")
SCOPES = ("disk", "guest")
PLATFORMS = ("libvirt", "kubevirt", "ovirt", "guest", "infoscale")
REMEDIES_FILE = "_remedies.toml"

class RuleFileError(BadInputError):
    """A rule file that does not parse or does not follow the rule format."""


# -- the tables of a rule file as TOML gives them: each key it may hold, read once ----------


@dataclass(frozen=True)
class _RuleTable:
    """A rule file's top level: every key a rule file may have (absent: None)."""

    feature: "Any" = None
    title: "Any" = None
    scope: "Any" = None
    order: "Any" = None
    guide_section: "Any" = None
    summary: "Any" = None
    needs: "Any" = None
    evidence: "Any" = None
    case: "Any" = None
    note: "Any" = None
    remedy: "Any" = None


@dataclass(frozen=True)
class _NoteTable:
    """A ``[[note]]``: adds a reason, never changes the status."""

    when: "Any" = None
    when_any: "Any" = None
    code: "Any" = None
    text: "Any" = None
    evidence: "Any" = None
    remedies: "Any" = None
    show: "Any" = None


@dataclass(frozen=True)
class _CaseTable(_NoteTable):
    """A ``[[case]]``: a note's keys, and the status it decides."""

    status: "Any" = None
    missing: "Any" = None
    if_unknown: "Any" = None


@dataclass(frozen=True)
class _RemedyTable:
    """A ``[remedy.NAME]``."""

    platform: "Any" = None
    when: "Any" = None
    when_any: "Any" = None
    text: "Any" = None


@dataclass(frozen=True)
class _LibraryTable:
    """``_remedies.toml``: its remedies (other keys are ignored)."""

    remedy: "Any" = None


def _table(cls: "type", table: "Mapping[str, Any]", what: str, strict: bool = True) -> "Any":
    """The table's keys as the record ``cls`` (a ValueError naming unknown keys if ``strict``)."""
    known = {f.name for f in fields(cls)}
    extra = sorted(set(table) - known)
    if extra and strict:
        raise ValueError(f"{what}: unknown key(s) {', '.join(extra)}")
    return cls(**{key: value for key, value in table.items() if key in known})


@dataclass(frozen=True)
class RemedyTemplate:
    name: str
    platform: str
    text: str
    when: "Mapping[str, Any] | None" = None
    when_any: "tuple[Mapping[str, Any], ...] | None" = None


@dataclass(frozen=True)
class Clause:
    """A case (decides the status) or a note (adds a reason, never changes the status)."""

    code: str
    text: str
    status: "str | None" = None  # None for notes; a case without ``when`` always applies
    when: "Mapping[str, Any] | None" = None
    when_any: "tuple[Mapping[str, Any], ...] | None" = None
    evidence: "tuple[str, ...]" = ()
    remedies: "tuple[str, ...]" = ()
    show: "tuple[str, ...]" = ()
    missing: "tuple[str, ...]" = ()
    skip_if_unknown: bool = False  # if_unknown = "skip": an undecidable case is passed over


@dataclass(frozen=True)
class Rule:
    feature: str
    title: str
    scope: str
    guide_section: str
    summary: str
    needs: "tuple[str, ...]"
    evidence: "tuple[str, ...]"
    cases: "tuple[Clause, ...]"
    notes: "tuple[Clause, ...]"
    remedies: "Mapping[str, RemedyTemplate]" = field(default_factory=dict)
    source: str = ""
    order: int = 1000


def _strings(value: "Any", what: str) -> "tuple[str, ...]":
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return tuple(value)


def _text(value: "Any", key: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} needs a non-empty {key!r}")
    template_fields(value)
    return value.strip()


def _conditions(when: "Any", when_any: "Any", what: str) -> "tuple[Any, Any]":
    if when is not None:
        check_condition(when)
    if when_any is not None:
        if not isinstance(when_any, list) or not when_any:
            raise ValueError(f"{what}: when_any is a non-empty list of conditions")
        for condition in when_any:
            check_condition(condition)
        when_any = tuple(when_any)
    return when, when_any


def _clause(table: "Any", what: str, is_case: bool) -> "Clause":
    if not isinstance(table, Mapping):
        raise ValueError(f"{what} must be a table")
    read = _table(_CaseTable if is_case else _NoteTable, table, what)
    code = read.code
    if not isinstance(code, str) or not code or not all(c.isalnum() or c in "_.-" for c in code):
        raise ValueError(f"{what}: code must be lower-case letters, digits, _ . -")
    if code != code.lower():
        raise ValueError(f"{what}: code {code!r} must be lower case")
    status = None
    if_unknown = getattr(read, "if_unknown", None)
    if is_case:
        status = read.status
        if status not in STATUSES:
            raise ValueError(f"{what}: status must be one of {', '.join(STATUSES)}")
    when, when_any = _conditions(read.when, read.when_any, what)
    if if_unknown not in (None, "unknown", "skip"):
        raise ValueError(f"{what}: if_unknown is 'unknown' (the default) or 'skip'")
    return Clause(
        code=code,
        text=_text(read.text, "text", what),
        status=status,
        when=when,
        when_any=when_any,
        evidence=_strings(read.evidence, f"{what}: evidence"),
        remedies=_strings(read.remedies, f"{what}: remedies"),
        show=_strings(read.show, f"{what}: show"),
        missing=_strings(getattr(read, "missing", None), f"{what}: missing"),
        skip_if_unknown=if_unknown == "skip",
    )


def parse_remedies(data: "Any", what: str) -> "dict[str, RemedyTemplate]":
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{what}: [remedy.NAME] tables expected")
    remedies = {}
    for name, table in data.items():
        where = f"{what}: remedy {name!r}"
        if not isinstance(table, Mapping):
            raise ValueError(f"{where} must be a table")
        read = _table(_RemedyTable, table, where)
        if read.platform not in PLATFORMS:
            raise ValueError(f"{where}: platform must be one of {', '.join(PLATFORMS)}")
        when, when_any = _conditions(read.when, read.when_any, where)
        text = _text(read.text, "text", where)
        remedies[name] = RemedyTemplate(name, read.platform, text, when, when_any)
    return remedies


def parse_rule(
    data: "Mapping[str, Any]", source: str, library: "Mapping[str, RemedyTemplate]"
) -> "Rule":
    """A :class:`Rule` from a parsed rule file; ValueError naming what is wrong."""
    read = _table(_RuleTable, data, source)
    feature = read.feature
    if not isinstance(feature, str) or not feature.replace("_", "").isalnum():
        raise ValueError(f"{source}: feature must be an id of letters, digits and _")
    if read.scope not in SCOPES:
        raise ValueError(f"{source}: scope must be 'disk' or 'guest'")
    cases = read.case
    if not isinstance(cases, list) or not cases:
        raise ValueError(f"{source}: at least one [[case]] is needed")
    parsed_cases = tuple(_clause(c, f"{source}: case {i + 1}", True) for i, c in enumerate(cases))
    notes = read.note or []
    if not isinstance(notes, list):
        raise ValueError(f"{source}: notes are [[note]] tables")
    parsed_notes = tuple(_clause(n, f"{source}: note {i + 1}", False) for i, n in enumerate(notes))
    remedies = {**library, **parse_remedies(read.remedy, source)}
    for clause in (*parsed_cases, *parsed_notes):
        for name in clause.remedies:
            if name not in remedies:
                raise ValueError(f"{source}: {clause.code} names unknown remedy {name!r}")
    return Rule(
        feature=feature,
        title=_text(read.title, "title", source),
        scope=read.scope,
        guide_section=_text(read.guide_section, "guide_section", source),
        summary=_text(read.summary, "summary", source),
        needs=_strings(read.needs, f"{source}: needs"),
        evidence=_strings(read.evidence, f"{source}: evidence"),
        cases=parsed_cases,
        notes=parsed_notes,
        remedies=remedies,
        source=source,
        order=_order(read.order),
    )


def _order(value: "Any") -> int:
    if value is None:
        return 1000
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("order must be an integer")
    return value


def bundled_rules_dir() -> "Path":
    """The rules shipped with guestprobe: the source tree's ``checks/`` beside this package when
    there is one (a checkout: its own rules, not those of another editable install that owns
    the name ``guestprobe.rules``), else the installed package."""
    source_tree = Path(__file__).resolve().parents[2] / "checks"
    if (source_tree / REMEDIES_FILE).exists():
        return source_tree
    try:
        import guestprobe.rules as package

        for location in getattr(package, "__path__", []):
            if Path(location, REMEDIES_FILE).exists():
                return Path(location)
    except ImportError:
        pass
    return Path(__file__).resolve().parents[2] / "checks"


def rules_dir(override: "str | os.PathLike[str] | None" = None) -> "Path":
    chosen = override or os.environ.get(RULES_DIR_ENV)
    return Path(chosen) if chosen else bundled_rules_dir()


def _read(path: "Path") -> "dict[str, Any]":
    try:
        return load_text(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleFileError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RuleFileError(f"{path}: not UTF-8 text") from None
    except TOML_ERRORS as exc:
        raise RuleFileError(f"{path}: {exc}") from None


def load_rules(directory: "str | os.PathLike[str] | None" = None) -> "list[Rule]":
    """Every rule of the rules directory: disk rules first, then by ``order`` and file name."""
    base = rules_dir(directory)
    if not base.is_dir():
        raise RuleFileError(f"rules directory {base} does not exist")
    library_file = base / REMEDIES_FILE
    if not library_file.exists():
        library_file = bundled_rules_dir() / REMEDIES_FILE
    try:
        remedy = _table(_LibraryTable, _read(library_file), library_file.name, strict=False).remedy
        library = parse_remedies(remedy, library_file.name)
    except ValueError as exc:
        raise RuleFileError(str(exc)) from None
    rules = []
    seen: "dict[str, str]" = {}
    for path in sorted(base.glob("*.toml")):
        if path.name.startswith("_"):
            continue
        try:
            rule = parse_rule(_read(path), path.name, library)
        except RuleFileError:
            raise
        except ValueError as exc:
            raise RuleFileError(str(exc)) from None
        if rule.feature in seen:
            raise RuleFileError(f"{path.name}: feature {rule.feature} also in {seen[rule.feature]}")
        seen[rule.feature] = path.name
        rules.append(rule)
    if not rules:
        raise RuleFileError(f"rules directory {base} holds no rule files")
    return sorted(rules, key=lambda r: (SCOPES.index(r.scope), r.order, r.source))
