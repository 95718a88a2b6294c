"""Every fact path a rule in checks/*.toml names (needs, evidence, when, when_any, show, missing,
and the {placeholders} of its sentences and remedies) exists: in the report's schema
(guestprobe/document/schema.json) for the report's own facts, or among the facts check/derived.py
computes (``derived.*``, ``guest.*``, ``platform.hypervisor``) for the derived ones."""


import json
import string
from pathlib import Path

import pytest

from guestprobe import pipeline
from guestprobe.check.derived import contexts
from guestprobe.check.rules import Rule, load_rules

TOP = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((TOP / "guestprobe/document/schema.json").read_text())
# ``host.*`` (report --host): the host document's disk and domain (guestprobe/host/schema.json)
HOST_SCHEMA = json.loads((TOP / "guestprobe/host/schema.json").read_text())
HOST_ROOTS = {"disk": "#/$defs/disk", "domain": "#/$defs/domain"}
# where each root of a rule's context lives in the report
ROOTS = {
    "facts": "#/$defs/disk/properties/facts",
    "transport": "#/$defs/disk/properties/transport",
    "inventory": "#/$defs/disk/properties/inventory",
    "platform": "#/properties/platform",
    "name": "#/$defs/disk/properties/name",
    "status": "#/$defs/disk/properties/status",
}
DERIVED_ROOTS = ("derived", "guest")


def _fields(text: str) -> "set[str]":
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def rule_paths(rule: "Rule") -> "set[str]":
    paths = set(rule.needs) | set(rule.evidence)
    for clause in (*rule.cases, *rule.notes):
        for condition in ([clause.when] if clause.when else []) + list(clause.when_any or ()):
            paths |= set(condition)
        paths |= set(clause.evidence) | set(clause.show) | set(clause.missing)
        paths |= _fields(clause.text)
    for remedy in rule.remedies.values():
        paths |= set(remedy.when or ()) | _fields(remedy.text)
    return paths


def _pointer(ref: str, schema: "dict | None" = None) -> "dict":
    node = SCHEMA if schema is None else schema
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def _alternatives(node: "dict", schema: "dict | None" = None) -> "list[dict]":
    if "$ref" in node:
        return _alternatives(_pointer(node["$ref"], schema), schema)
    found = [node]
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key, []):
            found.extend(_alternatives(sub, schema))
    return found


def in_schema(path: str) -> bool:
    """Whether the schema names every step of ``path`` (an open object names nothing)."""
    root, *rest = path.split(".")
    schema = SCHEMA
    if root == "host":  # host.disk.* / host.domain.* / host.matched_by (the join)
        if rest == ["matched_by"]:
            return True
        schema, root, rest = HOST_SCHEMA, rest[0], rest[1:]
        nodes = _alternatives(_pointer(HOST_ROOTS[root], schema), schema)
    else:
        nodes = _alternatives(_pointer(ROOTS[root]))
    for part in rest:
        children = []
        for node in nodes:
            if part in node.get("properties", {}):
                children.extend(_alternatives(node["properties"][part], schema))
            elif isinstance(node.get("additionalProperties"), dict):
                children.extend(_alternatives(node["additionalProperties"], schema))
        if not children:
            return False
        nodes = children
    return True


def _derived_keys() -> "set[str]":
    """The derived facts check/derived.py computes, over every example."""
    keys = {"platform.hypervisor"}
    for path in sorted((TOP / "examples").glob("*.tar.gz")):
        _, judged, _ = pipeline.rejudge(str(path))
        guest, disks = contexts(judged)
        keys |= {f"guest.{key}" for key in guest["guest"]}
        for disk in disks:
            keys |= {f"derived.{key}" for key in disk["derived"]}
    return keys


ALL_PATHS = sorted({path for rule in load_rules() for path in rule_paths(rule)})


def test_the_rules_name_the_paths_the_issue_counted():
    assert len(ALL_PATHS) >= 69
    assert {"facts.identity.lu_designator", "transport.kind", "guest.pr_capable_lu_count"} <= set(
        ALL_PATHS
    )


def _is_derived(path: str) -> bool:
    return path.split(".", maxsplit=1)[0] in DERIVED_ROOTS or path == "platform.hypervisor"


@pytest.mark.parametrize("path", [p for p in ALL_PATHS if not _is_derived(p)])
def test_a_report_fact_a_rule_names_is_in_the_schema(path):
    assert in_schema(path), path


def test_a_derived_fact_a_rule_names_is_computed():
    derived = [p for p in ALL_PATHS if _is_derived(p)]
    assert derived
    assert sorted(set(derived) - _derived_keys()) == []


def test_the_schema_lookup_refuses_what_it_does_not_name():
    assert in_schema("facts.identity.lu_designator")
    assert not in_schema("facts.identity.no_such_fact")
    assert not in_schema("inventory.no_such_field")
    assert in_schema("host.disk.cache_effective")
    assert not in_schema("host.disk.no_such_field")
