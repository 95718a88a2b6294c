"""The shape of the code, held by tests: no import cycle among guestprobe's modules; click imported
and output printed only under guestprobe/cli/ (see docs/architecture.md)."""


import ast
from pathlib import Path
from typing import Dict, List, Set

TOP = Path(__file__).resolve().parents[2]
PACKAGE = TOP / "guestprobe"
CLI = PACKAGE / "cli"


def module_name(path: "Path") -> str:
    parts = list(path.relative_to(TOP).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> "Dict[str, Path]":
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imported(node: "ast.AST", module: str, is_package: bool, known: "Set[str]") -> "List[str]":
    """The guestprobe modules one import statement names (``from pkg import sub`` names the
    submodule ``pkg.sub`` where there is one, else ``pkg``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        if not is_package:
            anchor = anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    names = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        names.append(sub if sub in known else base)
    return names


def import_graph() -> "Dict[str, Set[str]]":
    """module -> the guestprobe modules it imports, at module level or inside a function."""
    modules = _modules()
    known = set(modules)
    graph: "Dict[str, Set[str]]" = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        edges = set()
        for node in ast.walk(tree):
            for named in _imported(node, name, path.name == "__init__.py", known):
                target = named
                while target and target not in known:  # guestprobe.x.y.attr -> guestprobe.x.y
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: "Dict[str, Set[str]]") -> "List[Set[str]]":
    """The strongly connected components of more than one module (Tarjan)."""
    index: "Dict[str, int]" = {}
    low: "Dict[str, int]" = {}
    stack: "List[str]" = []
    on_stack: "Set[str]" = set()
    found: "List[Set[str]]" = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "guestprobe.collect.process" in graph["guestprobe.collect.scan"]
    assert "guestprobe.cli.common" in graph["guestprobe.cli.scan"]
    assert len(graph) > 50


def test_no_import_cycle_among_guestprobes_modules():
    assert cycles(import_graph()) == []


def _outside_cli() -> "List[Path]":
    return [p for p in sorted(PACKAGE.rglob("*.py")) if CLI not in p.parents]


def test_click_is_imported_only_under_guestprobe_cli():
    offenders = []
    for path in _outside_cli():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            if any(n == "click" or n.startswith("click.") for n in names):
                offenders.append(f"{path.relative_to(TOP)}:{node.lineno}")
    assert offenders == []


def _prints(node: "ast.AST") -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id == "print"
    if isinstance(func, ast.Attribute):
        if func.attr in ("echo", "secho"):
            return True
        owner = func.value
        return (
            func.attr in ("write", "writelines", "flush")
            and isinstance(owner, ast.Attribute)
            and owner.attr in ("stdout", "stderr")
        )
    return False


def test_printing_happens_only_under_guestprobe_cli():
    offenders = [
        f"{path.relative_to(TOP)}:{node.lineno}"
        for path in _outside_cli()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _prints(node)
    ]
    assert offenders == []


def test_the_print_finder_finds_prints():
    tree = ast.parse("print(1)\nclick.echo(2)\nsys.stderr.write('x')\nf.write(b'')\n")
    assert [_prints(stmt.value) for stmt in tree.body] == [True, True, True, False]


# Functions that are declarative tables written as code (one entry per step), allowed to be long.
DECLARATIVE_TABLES = {"guestprobe/fencing/sequence.py:planned_steps"}
MAX_FUNCTION_LINES = 65


def _last_line(node: "ast.AST") -> int:
    end = getattr(node, "end_lineno", None)  # Python 3.8+; below, the deepest node's line
    return end or max(getattr(n, "lineno", 0) for n in ast.walk(node))


def function_lengths() -> "Dict[str, int]":
    lengths = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{path.relative_to(TOP)}:{node.name}"
                lengths[name] = _last_line(node) - node.lineno + 1
    return lengths


def test_no_function_is_longer_than_about_sixty_lines_outside_declarative_tables():
    lengths = function_lengths()
    assert all(name in lengths for name in DECLARATIVE_TABLES)
    too_long = {
        name: length
        for name, length in lengths.items()
        if length > MAX_FUNCTION_LINES and name not in DECLARATIVE_TABLES
    }
    assert too_long == {}
