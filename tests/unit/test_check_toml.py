"""The built-in TOML subset reader: the same as tomllib on every shipped rule file, and loud
about what it does not understand."""


from pathlib import Path

import pytest

from guestprobe.check import tomlload
from guestprobe.check.minitoml import TomlSubsetError, loads
from guestprobe.check.rules import bundled_rules_dir

tomllib = pytest.importorskip("tomllib")

RULE_FILES = sorted(bundled_rules_dir().glob("*.toml"))


def test_rule_files_are_found():
    names = {p.name for p in RULE_FILES}
    assert "_remedies.toml" in names
    assert len(names) == 12


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_subset_reader_equals_tomllib_on_shipped_rules(path: "Path"):
    text = path.read_text(encoding="utf-8")
    assert loads(text) == tomllib.loads(text)


SUBSET_SAMPLES = [
    'a = "x"\nb = 12\nc = -3_000\nd = true\ne = false\n',
    'k = "tab\\t quote\\" back\\\\ uni\\u00e9 \\U0001F600"\n',
    "lit = 'C:\\path\\no escapes'\n",
    'ml = """\nline one\nline "two" ""\n"""\n',
    'ml = """one \\\n    two \\\n    three"""\n',
    "ml = '''\nraw \\n stays\n'''\n",
    "arr = [\n  1,\n  2, # comment\n  3,\n]\nempty = []\nnested = [[1, 2], ['a']]\n",
    'it = { "transport.kind" = "virtio-blk", n = { gt = 0 } }\nempty = {}\n',
    '[t]\na = 1\n[t.sub]\nb = 2\n[[arr]]\nx = 1\n[[arr]]\nx = 2\n[arr.inner]\ny = 3\n',
    'dotted.key = 1\n"quoted key" = 2\n[ spaced . "header" ]\nz = 1\n',
    '[[case]]\nwhen_any = [\n  { a = 1 },\n  { b = { in = ["x", "y"] } },\n]\n',
    "# only a comment\n\n",
    'a = """x""""\n',
]


@pytest.mark.parametrize("text", SUBSET_SAMPLES)
def test_subset_reader_equals_tomllib_on_samples(text: str):
    assert loads(text) == tomllib.loads(text)


REJECTED = [
    ("f = 1.5\n", "floats"),
    ("d = 2024-01-01\n", "dates"),
    ("h = 0x1f\n", "non-decimal"),
    ("i = inf\n", "not understood"),
    ('s = "open\n', "unterminated"),
    ('a = 1\na = 2\n', "defined twice"),
    ("[t]\n[t]\n", "defined twice"),
    ("a = { b = 1,\n c = 2 }\n", "inline table"),
    ("a = 1 b = 2\n", "unexpected"),
    ('a = "\\q"\n', "unknown escape"),
    ("= 1\n", "expected a key"),
    ("a = { b = 1 }\n[a]\n", "already defined"),
]


@pytest.mark.parametrize(("text", "message"), REJECTED)
def test_subset_reader_rejects_with_a_clear_error(text: str, message: str):
    with pytest.raises(TomlSubsetError, match=message) as info:
        loads(text)
    assert str(info.value).startswith("line ")


def test_loader_uses_the_best_reader_available():
    assert tomlload.reader_name() == "tomllib"
    assert tomlload.load_text("a = 1\n") == {"a": 1}
