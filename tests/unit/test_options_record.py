"""Options are one frozen record from the command line down, each default written once."""

import ast
import dataclasses
from pathlib import Path

import click
import pytest

from guestprobe import cli, pipeline
from guestprobe.collect.probe import ProbeOptions
from guestprobe.fencing.run import FencingRequest

PACKAGE = Path(__file__).resolve().parents[2] / "guestprobe"


def _option(command: str, name: str) -> "click.Option":
    found = cli.cli.get_command(click.Context(cli.cli), command)
    return next(p for p in found.params if p.name == name)


def test_the_scan_request_is_the_probe_options_and_frozen():
    request = pipeline.ScanRequest()
    assert isinstance(request, ProbeOptions)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.timeout_s = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        FencingRequest("/dev/sda", "sda").force = True  # type: ignore[misc]


@pytest.mark.parametrize("command, option, field", [
    ("scan", "timeout_s", "timeout_s"), ("scan", "workers", "workers"),
    ("scan", "engine", "engine"), ("collect", "timeout_s", "timeout_s"),
    ("collect", "engine", "engine"), ("fencing-test", "timeout_s", "timeout_s"),
    ("fencing-node", "timeout_s", "timeout_s"),
])
def test_the_command_line_shows_the_records_defaults(command, option, field):
    assert _option(command, option).default == getattr(pipeline.ScanRequest(), field)
    if command == "fencing-test":
        assert FencingRequest("/dev/sda", "sda").timeout_s == _option(command, option).default


def _literal(node: "ast.AST") -> "object":
    """A number's or a string's value (ast.Num/ast.Str on Python 3.6), else None."""
    for field in ("value", "n", "s"):
        if type(node).__name__ in ("Constant", "Num", "Str") and hasattr(node, field):
            return getattr(node, field)
    return None


def test_no_default_is_written_twice():
    """The probe timeout's and the engine's defaults appear once as literals in the package."""
    seen = {15.0: [], "lib": []}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            defaults = []
            if isinstance(node, ast.AnnAssign) and node.value is not None:
                defaults.append(node.value)  # a dataclass field's default
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defaults.extend(node.args.defaults + node.args.kw_defaults)
            if isinstance(node, ast.keyword) and node.arg == "default":
                defaults.append(node.value)  # a click option's default
            for value in defaults:
                literal = _literal(value)
                if literal in seen and not isinstance(literal, bool):
                    seen[literal].append(f"{path.relative_to(PACKAGE)}:{value.lineno}")
    where = {literal: [place.split(":")[0] for place in places] for literal, places in seen.items()}
    assert where == {15.0: ["collect/probe.py"], "lib": ["collect/probe.py"]}, seen
