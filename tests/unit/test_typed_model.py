"""What issue 19 holds the code to: the layers after decoding read typed records, not JSON
dicts by string keys; and one name means one thing (one class per record name)."""

import ast
import collections
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "guestprobe"
# the JSON edge (the typed report's codec, builder and reader; the command line) and the XML/YAML
# readers of the host's documents: where string keys are the data
EDGE = ("cli/", "document/", "report/output.py", "host/domain_xml.py", "host/kubevirt.py",
        "host/yamlin.py")
LIMIT = 150


def _string_key_accesses(tree: "ast.AST") -> int:
    """``x["key"]`` and ``x.get("key", ...)``: a dict read by a key spelled in the code."""
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            index = node.slice.value if isinstance(node.slice, ast.Index) else node.slice
            count += _is_text(index)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "get" and node.args and _is_text(node.args[0])):
            count += 1
    return count


def _is_text(node: "ast.AST") -> bool:
    """A string literal (``ast.Str`` on Python 3.6, ``ast.Constant`` after)."""
    return isinstance(getattr(node, "value", getattr(node, "s", None)), str) and type(
        node).__name__ in ("Constant", "Str")


def counts() -> "dict[str, int]":
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if not rel.startswith(EDGE):
            out[rel] = _string_key_accesses(ast.parse(path.read_text(encoding="utf-8")))
    return out


def test_the_counter_counts_both_spellings():
    tree = ast.parse('a["x"]; a.get("y", 1); a[0]; a[k]; a.get(k)')
    assert _string_key_accesses(tree) == 2


def test_string_key_dict_accesses_outside_the_json_edge_stay_few():
    found = counts()
    worst = sorted(found.items(), key=lambda item: -item[1])[:8]
    assert sum(found.values()) <= LIMIT, f"{sum(found.values())} accesses; most in {worst}"


def test_one_class_per_record_name():
    where = collections.defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(path.relative_to(PACKAGE).as_posix())
    assert {name: files for name, files in where.items() if len(files) > 1} == {}
