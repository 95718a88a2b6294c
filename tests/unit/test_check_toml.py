"""Rule files are read by a complete TOML reader (tomllib, or tomli before 3.11): every shipped
rule file parses, valid TOML that the rules do not use yet (floats, dates) is accepted in a user's
rule directory, and invalid TOML is refused with the file's name."""

import sys
from pathlib import Path

import pytest

from guestprobe.check import tomlload
from guestprobe.check.rules import RuleFileError, bundled_rules_dir, load_rules

RULE_FILES = sorted(bundled_rules_dir().glob("*.toml"))


def test_rule_files_are_found():
    names = {p.name for p in RULE_FILES}
    assert "_remedies.toml" in names
    assert len(names) == 13


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_every_shipped_rule_file_parses(path: "Path"):
    assert tomlload.load_text(path.read_text(encoding="utf-8"))


def test_the_reader_is_the_standard_one_for_this_python():
    expected = "tomllib" if sys.version_info >= (3, 11) else "tomli"
    assert tomlload.reader_name() == expected
    document = tomlload.load_text('ratio = 0.5\nwhen = 2026-12-02\n[t]\nx = [1, 2.5, "a"]\n')
    assert document["ratio"] == 0.5
    assert str(document["when"]) == "2026-12-02"
    assert document["t"]["x"] == [1, 2.5, "a"]


def test_a_user_rule_directory_may_use_floats(tmp_path: "Path"):
    for path in RULE_FILES:
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    rule = tmp_path / "device_limit.toml"
    text = rule.read_text(encoding="utf-8")
    assert "{ ge = 28 }" in text
    rule.write_text(text.replace("{ ge = 28 }", "{ ge = 27.5 }"), encoding="utf-8")
    (limit,) = [r for r in load_rules(tmp_path) if r.feature == "device_limit"]
    assert "27.5" in repr(limit)


def test_invalid_toml_is_refused_with_the_files_name(tmp_path: "Path"):
    for path in RULE_FILES:
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "resize.toml").write_text("feature = \n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"resize\.toml"):
        load_rules(tmp_path)
