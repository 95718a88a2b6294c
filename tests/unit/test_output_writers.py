"""Every writer writes whatever came in, or fails with one line and exit 7.

A lone surrogate (JSON's ``\\ud800`` escape, or the bytes ``ED A0 80`` that ``json.loads(bytes)``
accepts) reaches every view as its escape; a closed, full or short-writing stdout is exit 7 with
one line, never exit 0 with part of the output; an internal error's line is cut like any other.
"""


import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from reportpages import EXAMPLES, example_report
from test_bundle_cli import run_cli

from guestprobe.cli import common
from guestprobe.errors import ExitStatus, OutputError
from guestprobe.report import escape

ROOT = Path(__file__).resolve().parents[2]
HOST_FIXTURES = ROOT / "tests" / "fixtures" / "host"
SURROGATE = "node2\ud800"


@pytest.fixture(scope="module")
def mixed() -> dict:
    return example_report(EXAMPLES / "mixed.tar.gz")


@pytest.fixture(params=["escaped", "raw-bytes"])
def surrogate_report(request, tmp_path, mixed) -> Path:
    """The mixed example with a host name ending in a lone surrogate, both spellings."""
    document = json.loads(json.dumps(mixed))
    document["platform"]["hostname"] = SURROGATE
    path = tmp_path / "surrogate.json"
    if request.param == "escaped":
        path.write_text(json.dumps(document))
    else:  # ED A0 80 in the file itself
        raw = json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")
        assert b"\xed\xa0\x80" in raw
        path.write_bytes(raw)
    return path


def test_escape_shows_a_lone_surrogate_as_its_escape():
    assert escape.terminal_text(SURROGATE) == "node2\\ud800"
    assert escape.terminal_text("\udfff\U0001f600") == "\\udfff\U0001f600"  # a pair stays
    assert escape.output_bytes(SURROGATE) == b"node2\\ud800"
    assert escape.output_bytes("caf\xe9", "ascii") == b"caf\\xe9"


@pytest.mark.parametrize(
    "args",
    [(), ("--brief",), ("--json",), ("--html", "{tmp}/page.html"), ("-o", "{tmp}/out.json")],
)
def test_report_views_write_a_lone_surrogate(surrogate_report, tmp_path, capsys, args):
    args = [a.format(tmp=tmp_path) for a in args]
    status, out, err = run_cli(capsys, "report", str(surrogate_report), *args)
    assert (status, err) == (0, "")
    if "--html" in args:
        page = (tmp_path / "page.html").read_bytes()
        assert b"node2\\ud800" in page
        page.decode("utf-8")  # strict: every byte is UTF-8
    if "-o" in args:
        written = json.loads((tmp_path / "out.json").read_bytes())
        assert written["platform"]["hostname"] == SURROGATE
    if "--json" in args:
        assert json.loads(out)["platform"]["hostname"] == SURROGATE


def _tainted(value, skip=("stdout_hex", "sysfs_pages", "status")):
    """Every string of ``value`` with a lone surrogate at its end (but the hex fields)."""
    if isinstance(value, dict):
        return {k: v if k in skip else _tainted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tainted(v) for v in value]
    return value + "\udc80" if isinstance(value, str) else value


@pytest.mark.parametrize("args", [(), ("--json",), ("--html", "{tmp}/page.html")])
def test_every_inventory_string_may_carry_a_surrogate(mixed, tmp_path, capsys, args):
    document = json.loads(json.dumps(mixed))
    document["platform"] = _tainted(document["platform"])
    for disk in document["disks"]:
        disk["inventory"] = _tainted(disk["inventory"])
        disk["name"] = disk["inventory"]["name"]
        for probe in disk["probes"]:
            probe["stderr"] += "\ud800"
    path = tmp_path / "tainted.json"
    path.write_text(json.dumps(document))
    args = [a.format(tmp=tmp_path) for a in args]
    for command in (["report", str(path)], ["compare", str(path), str(path).replace("tainted",
                                                                                   "other")]):
        if command[0] == "compare":
            (tmp_path / "other.json").write_text(json.dumps(mixed))
        status, out, err = run_cli(capsys, *command, *args)
        assert (status, err) == (0, "")
        assert "sda\\udc80" in out or "--html" in args


@pytest.mark.parametrize("args", [(), ("--json",), ("--html", "{tmp}/cmp.html")])
def test_compare_writes_a_lone_surrogate(surrogate_report, tmp_path, capsys, args):
    other = tmp_path / "other.json"
    other.write_text(json.dumps(example_report(EXAMPLES / "mixed.tar.gz")))
    args = [a.format(tmp=tmp_path) for a in args]
    status, out, err = run_cli(capsys, "compare", str(surrogate_report), str(other), *args)
    assert (status, err) == (0, "")
    if not args:
        assert "node2\\ud800" in out
    else:
        text = (tmp_path / "cmp.html").read_bytes() if "--html" in args else out.encode()
        assert b"node2\\ud800" in text


@pytest.mark.parametrize("args", [(), ("-o", "{tmp}/host.json")])
def test_host_writes_a_lone_surrogate(tmp_path, capsys, args):
    vmi = json.loads((HOST_FIXTURES / "vmi.json").read_text())
    vmi["metadata"]["name"] = SURROGATE
    vmi["spec"]["domain"]["devices"]["disks"][1]["serial"] = "FENCE\udc80"
    path = tmp_path / "vmi.json"
    path.write_bytes(json.dumps(vmi, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    args = [a.format(tmp=tmp_path) for a in args]
    status, out, err = run_cli(capsys, "host", "--vmi", str(path), *args)
    assert (status, err) == (0, "")
    assert "node2\\ud800" in out
    if args:
        assert "node2\\ud800" in (tmp_path / "host.json").read_text()  # JSON's escape


# -- output errors --------------------------------------------------------------------------------
def _guestprobe(args: "list[str]", **popen) -> "subprocess.CompletedProcess[bytes]":
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "guestprobe", *args],
        check=False, env=env, stderr=subprocess.PIPE, **popen,
    )


@pytest.fixture(scope="module")
def mixed_file(tmp_path_factory, mixed) -> Path:
    path = tmp_path_factory.mktemp("out") / "mixed.json"
    path.write_text(json.dumps(mixed))
    return path


@pytest.mark.parametrize("as_json", [False, True])
def test_closed_stdout_is_exit_7(mixed_file, as_json):
    args = ["report", str(mixed_file)] + (["--json"] if as_json else [])
    done = _guestprobe(args, stdout=None, preexec_fn=lambda: os.close(1))
    assert done.returncode == ExitStatus.OUTPUT_ERROR
    assert done.stderr.decode().splitlines() == [
        "guestprobe: cannot write the output: standard output is closed"
    ]


@pytest.mark.parametrize("as_json", [False, True])
def test_full_stdout_is_exit_7(mixed_file, as_json):
    with open("/dev/full", "wb") as full:
        args = ["report", str(mixed_file)] + (["--json"] if as_json else [])
        done = _guestprobe(args, stdout=full)
    assert done.returncode == ExitStatus.OUTPUT_ERROR
    assert done.stderr.decode().splitlines() == [
        "guestprobe: cannot write the output: No space left on device"
    ]


class _ShortWrites(io.RawIOBase):
    """A file that takes ``room`` bytes, a few at a time, and then no more (a full tmpfs)."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.taken = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        count = min(len(data), 4096, self.room - len(self.taken))
        self.taken += bytes(data[:count])
        return count


class _FakeStdout:
    encoding = "utf-8"

    def __init__(self, buffer: "_ShortWrites") -> None:
        self.buffer = buffer

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")

    def flush(self) -> None:
        pass


def test_a_short_write_is_an_output_error(monkeypatch):
    sink = _ShortWrites(room=24576)
    monkeypatch.setattr(sys, "stdout", _FakeStdout(sink))
    with pytest.raises(OutputError, match="24576 of 94521 bytes written"):
        common.write_out("x" * 94521)
    sink.room = 10**6
    common.write_out("y" * 9000)  # several short writes that each make progress: all written
    assert sink.taken.count(b"y") == 9000


def test_a_short_stdout_fails_the_command(mixed_file, monkeypatch, capsys):
    capsys.readouterr()
    sink = _ShortWrites(room=1000)
    monkeypatch.setattr(sys, "stdout", _FakeStdout(sink))
    with pytest.raises(SystemExit) as exit_info:
        from guestprobe.cli import main

        main(["report", str(mixed_file), "--json"])
    assert exit_info.value.code == ExitStatus.OUTPUT_ERROR
    assert capsys.readouterr().err.startswith("guestprobe: cannot write the output: 1000 of ")


def test_the_internal_error_line_is_cut(monkeypatch, capsys, mixed_file):
    from guestprobe import pipeline

    def broken(*_args, **_kwargs):
        raise RuntimeError("x" * 1_000_000)

    monkeypatch.setattr(pipeline, "rejudge", broken)
    monkeypatch.delenv("GUESTPROBE_DEBUG", raising=False)
    status, _, err = run_cli(capsys, "report", str(mixed_file))
    assert status == ExitStatus.INTERNAL
    lines = err.splitlines()
    assert len(lines) == 1 and len(lines[0]) < 500
    assert lines[0].startswith("guestprobe: internal error: RuntimeError('xxx")
    assert lines[0].endswith("(set GUESTPROBE_DEBUG=1 for details)")


def test_standard_output_has_one_writer():
    """No command prints to stdout past ``write_out`` (``click.echo`` only with ``err=True``)."""
    import ast

    unchecked = []
    for path in sorted((ROOT / "guestprobe").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name = node.func.attr
            to_stderr = any(
                k.arg == "err" and getattr(k.value, "value", None) is True
                for k in node.keywords
            )
            if (name == "echo" and not to_stderr) or name == "secho":
                unchecked.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unchecked == []
