"""The check engine: the condition language, rule loading, verdict shape, rules directory
override, the report's checker and the explain command."""


import json
import shutil
from pathlib import Path

import checkfacts as cf
import pytest
from click.testing import CliRunner
from documents import judge_in_place as apply_checks
from reportpages import table_of

from guestprobe.check.conditions import (
    MISSING,
    check_condition,
    evaluate_all,
    evaluate_any,
    render,
    resolve,
    template_fields,
)
from guestprobe.check.rule_engine import evaluate
from guestprobe.check.rules import (
    RULES_DIR_ENV,
    RuleFileError,
    bundled_rules_dir,
    load_rules,
    parse_rule,
)
from guestprobe.cli import cli

CONTEXT = {
    "name": "sdb",
    "transport": {"kind": "virtio-scsi", "mode": "emulated", "detail": None},
    "facts": {"pr": {"outcome": "ok", "types": ["write_exclusive"], "count": 2,
                     "evidence": ["sdb/pr_read_keys"]}},
    "inventory": {"mounts": [{"fs_type": "vxfs"}]},
}


@pytest.mark.parametrize(("condition", "expected"), [
    ({"transport.kind": "virtio-scsi"}, True),
    ({"transport.kind": "virtio-blk"}, False),
    ({"transport.kind": {"ne": "virtio-blk"}}, True),
    ({"transport.kind": {"in": ["ata", "virtio-scsi"]}}, True),
    ({"transport.kind": {"not_in": ["ata", "virtio-scsi"]}}, False),
    ({"facts.pr.count": {"gt": 1}}, True),
    ({"facts.pr.count": {"le": 1}}, False),
    ({"facts.pr.count": {"ge": 2}, "facts.pr.count.x": {"lt": 9}}, None),
    ({"facts.pr.types": {"contains": "write_exclusive"}}, True),
    ({"facts.pr.types": {"lacks": "write_exclusive"}}, False),
    ({"transport.detail": {"exists": True}}, False),
    ({"transport.detail": {"missing": True}}, True),
    ({"transport.detail": "x"}, None),  # a test on a null fact is undecided
    ({"transport.nothing": "x"}, None),  # and on an absent one
    ({"transport.detail": "x", "transport.kind": "ata"}, False),  # one false decides
    ({"inventory.mounts.0.fs_type": "vxfs"}, True),
    ({"facts.pr.count": 2}, True),
    ({"facts.pr.count": True}, False),  # no 1 == True confusion
    ({"transport.kind": {"gt": 1}}, None),  # text compared with a number: undecided
])
def test_condition_language(condition, expected):
    check_condition(condition)
    assert evaluate_all(CONTEXT, condition).value is expected


def test_three_valued_any_and_missing_names():
    undecided = evaluate_any(CONTEXT, [{"transport.detail": "x"}, {"transport.kind": "ata"}])
    assert undecided.value is None
    assert undecided.missing == ("transport.detail",)
    assert evaluate_any(CONTEXT, [{"transport.detail": "x"}, {"transport.kind": {
        "exists": True}}]).value is True


@pytest.mark.parametrize("condition", [
    {}, {"Transport.Kind": "x"}, {"a": {"gt": 1, "lt": 2}}, {"a": {"near": 1}},
    {"a": {"in": "x"}}, {"a": {"gt": "x"}}, {"a": {"exists": 1}}, {"a": [1]}, {"a": 1.5},
])
def test_malformed_conditions_are_refused(condition):
    with pytest.raises(ValueError):
        check_condition(condition)


def test_templates_and_paths():
    assert resolve(CONTEXT, "facts.pr.count") == 2
    assert resolve(CONTEXT, "facts.nope") is MISSING
    assert render("{transport.kind}: {facts.pr.types}, {transport.detail}, {{x}}", CONTEXT) == (
        "virtio-scsi: write_exclusive, (unknown), {x}")
    assert template_fields("a {b.c} {{d}}") == ["b.c"]
    with pytest.raises(ValueError):
        template_fields("{b.c!r}")


RULE = {
    "feature": "demo", "title": "Demo", "scope": "disk", "guide_section": "s",
    "summary": "what it checks", "needs": ["transport.kind"], "evidence": ["facts.pr"],
    "case": [
        {"when": {"transport.mode": "passthrough"}, "status": "usable", "code": "a", "text": "A"},
        {"when": {"transport.detail": "scsi-hd"}, "if_unknown": "skip", "status": "usable",
         "code": "skipped", "text": "never"},
        {"when": {"facts.pr.outcome": "ok"}, "status": "degraded", "code": "b",
         "text": "on {transport.kind}", "evidence": ["inventory.mounts"], "remedies": ["r"],
         "show": ["facts.pr.types"]},
    ],
    "note": [
        {"when": {"facts.pr.count": {"gt": 1}}, "code": "n", "text": "{facts.pr.count} keys"},
        {"when": {"transport.detail": "x"}, "code": "never", "text": "undecided: left out"},
    ],
    "remedy": {"r": {"platform": "libvirt", "text": "fix {name}"},
               "k": {"platform": "kubevirt", "when": {"platform.hypervisor": "kubevirt"},
                     "text": "k"}},
}


def test_evaluate_a_rule():
    rule = parse_rule(RULE, "demo.toml", {})
    verdict = evaluate(rule, CONTEXT).to_dict()
    assert verdict == {
        "feature": "demo", "title": "Demo", "status": "degraded",
        "reasons": [{"code": "b", "text": "on virtio-scsi"}, {"code": "n", "text": "2 keys"}],
        "evidence": ["sdb/pr_read_keys", "sdb/inventory.mounts"],
        "remediation": [{"platform": "libvirt", "text": "fix sdb"}],
        "guide_section": "s", "missing": [], "details": {"facts.pr.types": ["write_exclusive"]},
    }


def test_missing_needs_and_undecidable_cases_give_unknown():
    rule = parse_rule(RULE, "demo.toml", {})
    verdict = evaluate(rule, {"name": "vda", "transport": {"kind": None}}).to_dict()
    assert verdict["status"] == "unknown"
    assert verdict["missing"] == ["transport.kind"]
    assert verdict["reasons"][0]["code"] == "facts_missing"
    verdict = evaluate(rule, {"name": "vda", "transport": {"kind": "virtio-scsi"}}).to_dict()
    assert verdict["status"] == "unknown"
    assert verdict["missing"] == ["transport.mode"]  # case 1 undecidable: no guessing past it


@pytest.mark.parametrize(("change", "message"), [
    ({"scope": "host"}, "scope"),
    ({"case": []}, "at least one"),
    ({"extra": 1}, "unknown key"),
    ({"case": [{"status": "fine", "code": "a", "text": "t"}]}, "status"),
    ({"case": [{"status": "usable", "code": "A", "text": "t"}]}, "lower case"),
    ({"case": [{"status": "usable", "code": "a", "text": "{x!r}"}]}, "template"),
    ({"case": [{"status": "usable", "code": "a", "text": "t", "remedies": ["zz"]}]}, "zz"),
    ({"case": [{"status": "usable", "code": "a", "text": "t", "if_unknown": "guess"}]},
     "if_unknown"),
    ({"remedy": {"r": {"platform": "vmware", "text": "t"}}}, "platform"),
])
def test_malformed_rules_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        parse_rule({**RULE, **change}, "demo.toml", {})


def test_shipped_rules_load_in_order():
    rules = load_rules()
    assert [r.feature for r in rules] == [
        "discovery", "naming", "fast_recovery", "pr_fencing", "thin_reclaim", "resize",
        "hot_plug", "host_cache", "vxfs", "raw_io", "device_limit", "fencing_readiness"]
    for rule in rules:
        last = rule.cases[-1]
        assert last.when is None and last.when_any is None, rule.feature  # never no_case_matched
        codes = [c.code for c in (*rule.cases, *rule.notes)]
        assert len(codes) == len(set(codes)), rule.feature


def _copy_rules(tmp_path: "Path") -> "Path":
    target = tmp_path / "rules"
    shutil.copytree(bundled_rules_dir(), target, ignore=shutil.ignore_patterns("__*"))
    return target


def test_rules_dir_override_by_parameter_and_environment(tmp_path, monkeypatch):
    rules = _copy_rules(tmp_path)
    (rules / "vxfs.toml").write_text(
        (rules / "vxfs.toml").read_text().replace('code = "not_virtio_blk"', 'code = "amended"'))
    (rules / "_remedies.toml").unlink()  # borrowed from the bundled rules
    document = cf.document([cf.scsi_hd()])
    apply_checks(document, rules)
    vxfs = {v["feature"]: v for v in document["disks"][0]["verdicts"]}["vxfs"]
    assert vxfs["reasons"][0]["code"] == "amended"
    monkeypatch.setenv(RULES_DIR_ENV, str(rules))
    document = cf.document([cf.scsi_hd()])
    apply_checks(document)
    assert {v["feature"]: v for v in document["disks"][0]["verdicts"]}["vxfs"]["reasons"][0][
        "code"] == "amended"


@pytest.mark.parametrize(("name", "text", "message"), [
    ("broken.toml", "feature = 1.5\n", "broken.toml"),
    ("broken.toml", 'feature = "x"\n', "scope"),
    ("discovery2.toml", None, "also in"),
])
def test_bad_rule_files_are_one_clear_error(tmp_path, name, text, message):
    rules = _copy_rules(tmp_path)
    if text is None:
        shutil.copy(rules / "discovery.toml", rules / name)
    else:
        (rules / name).write_text(text)
    with pytest.raises(RuleFileError, match=message) as info:
        load_rules(rules)
    assert info.value.exit_status == 8
    with pytest.raises(RuleFileError, match="does not exist"):
        load_rules(tmp_path / "nowhere")


def _verdict_schema():
    path = Path(__file__).resolve().parents[2] / "guestprobe/document/schema.json"
    if not path.exists():
        pytest.skip("report schema not present")
    schema = json.loads(path.read_text())
    if "verdict" not in schema.get("$defs", {}):
        pytest.skip("report schema has no verdict definition")
    return {**schema["$defs"]["verdict"], "$defs": schema["$defs"]}


def test_every_verdict_has_the_documented_shape():
    jsonschema = pytest.importorskip("jsonschema")
    schema = _verdict_schema()
    for make in cf.TRANSPORTS.values():
        document = cf.document([make()])
        apply_checks(document)
        for verdict in [*document["disks"][0]["verdicts"], *document["guest_verdicts"]]:
            jsonschema.validate(verdict, schema)
            assert set(verdict) <= {"feature", "title", "status", "reasons", "evidence",
                                    "remediation", "guide_section", "missing", "details"}
            assert verdict["reasons"], verdict["feature"]
            assert all(set(r) == {"platform", "text"} for r in verdict["remediation"])
            assert all("{" not in r["text"] for r in verdict["reasons"])
            assert (verdict["status"] == "unknown") or not verdict["missing"]


def test_the_table_shows_the_matrix():
    document = cf.document([cf.virtio_blk(), cf.passthrough()])
    document["scan"].update(duration_s=1.0, processes_started=3, complete=True)
    apply_checks(document)
    table = table_of(document)
    head = next(line for line in table.splitlines() if line.startswith("DISK "))
    assert head.split()[1:4] == ["TRANSPORT", "FENC", "DISC"] and "FENC I/O fencing" in table
    row = next(line for line in table.splitlines() if line.startswith("vda ") and "NO" in line)
    assert row.split()[1:6] == ["virtio-blk", "NO", "NO", "degr", "NO"]


def test_explain_lists_and_explains():
    runner = CliRunner()
    listing = runner.invoke(cli, ["explain"])
    assert listing.exit_code == 0
    assert "pr_fencing" in listing.output and "device_limit" in listing.output
    one = runner.invoke(cli, ["explain", "pr_fencing"])
    assert one.exit_code == 0
    assert "PGR SCSI-3" in one.output
    assert "if transport.kind is virtio-blk" in one.output
    assert "-> not_usable [virtio_blk_no_pr]" in one.output
    assert "<reservations managed='yes'/>" in one.output
    unknown = runner.invoke(cli, ["explain", "nope"])
    assert unknown.exit_code != 0 and "features: discovery" in unknown.output
