"""Hostile files given to report/compare and hostile -o targets (issue 10, findings 7-9): one
line and exit 8 (input) or 7 (output), never a hang, a traceback, exit 70 or gigabytes of memory.
"""


import copy
import gzip
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import hostile
import pytest
from test_bundle_archive import DOCUMENT, _bundle, _members, _tar_gz
from test_bundle_cli import run_cli

from guestprobe import cli, pipeline
from guestprobe.bundle.archive import read_bundle
from guestprobe.document import inputs
from guestprobe.errors import BadInputError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def _refused(capsys, *args: str, status: int = 8) -> str:
    code, _, err = run_cli(capsys, *args)
    assert code == status, err
    assert err.count("\n") == 1 and err.startswith("guestprobe: "), err
    assert "Traceback" not in err and "internal error" not in err
    return err


# -- finding 7: only regular files, bounded ----------------------------------------------------
@pytest.mark.parametrize("command", ["report", "compare"])
def test_dev_zero_is_refused_not_read(capsys, command):
    other = [str(EXAMPLES / "mixed.tar.gz")] if command == "compare" else []
    args = [command, "/dev/zero", *other]
    assert "a character device" in _refused(capsys, *args)


def test_directory_is_refused_with_exit_8(capsys, tmp_path):
    assert "a directory" in _refused(capsys, "report", str(tmp_path))
    mixed = str(EXAMPLES / "mixed.tar.gz")
    assert "a directory" in _refused(capsys, "compare", mixed, str(tmp_path))


def test_fifo_does_not_hang(tmp_path):
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    # a child process with a deadline: before the fix the open blocked forever on the FIFO
    result = subprocess.run(
        [sys.executable, "-m", "guestprobe", "report", str(fifo)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
        cwd=REPO, timeout=30, check=False,
    )
    assert result.returncode == 8, result.stderr
    assert result.stderr.strip().endswith("a FIFO, not a report or bundle file")


def test_sparse_bundle_member_is_refused(capsys, tmp_path):
    bomb = tmp_path / "bomb.tar.gz"
    bomb.write_bytes(hostile.sparse_bomb())
    assert bomb.stat().st_size < 100  # two GiB of holes in 81 bytes
    assert "report.json in the bundle is a sparse file; refused" in _refused(
        capsys, "report", str(bomb)
    )


def _pax_sparse_bundle() -> bytes:
    """A PAX (GNU.sparse 0.1 keywords) sparse member, the other spelling tarfile expands."""
    info = tarfile.TarInfo("report.json")
    info.size = 0
    info.pax_headers = {"GNU.sparse.size": str(1 << 31), "GNU.sparse.map": f"{1 << 31},0"}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(b""))
    return hostile.gzip_bytes(buffer.getvalue())


def test_pax_sparse_and_non_regular_members_are_refused():
    with pytest.raises(BadInputError, match="sparse file"):
        read_bundle(_pax_sparse_bundle(), "pax.tar.gz")
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        link = tarfile.TarInfo("report.json")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
        tar.addfile(link)
    with pytest.raises(BadInputError, match="not a plain file"):
        read_bundle(buffer.getvalue(), "link.tar.gz")


def test_json_larger_than_the_cap_is_refused(capsys, tmp_path, monkeypatch):
    report = tmp_path / "big.json"
    report.write_bytes(b" " * 5000 + json.dumps(DOCUMENT).encode())
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 4096)
    assert "larger than the 0 MiB a report may be" in _refused(capsys, "report", str(report))


def test_bundle_member_larger_than_the_cap_is_refused(tmp_path, monkeypatch):
    document = dict(DOCUMENT, padding="x" * 20000)
    data = _bundle(document)
    assert len(data) < 4096  # small on disk: the cap is on what it unpacks to
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 8192)
    with pytest.raises(BadInputError, match=r"unpacks to more than|too large"):
        read_bundle(data, "big.tar.gz")
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 1 << 20)
    assert read_bundle(data, "big.tar.gz").report == document


def test_a_file_growing_while_read_stops_at_the_cap(tmp_path, monkeypatch):
    path = tmp_path / "growing.json"
    path.write_bytes(b"[" * 10)
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 100)
    real_fstat = os.fstat

    def fstat_says_small(fd):  # the size at fstat time; the file then grows past the cap
        result = real_fstat(fd)
        with path.open("ab") as handle:
            handle.write(b"[" * 1000)
        return result

    monkeypatch.setattr(inputs.os, "fstat", fstat_says_small)
    with pytest.raises(BadInputError, match="larger than"):
        inputs.read_input_file(str(path))


@pytest.mark.parametrize("depth", [65, 100_000])
def test_deep_json_is_refused(capsys, tmp_path, depth):
    deep = tmp_path / "deep.json"
    deep.write_text('{"schema_version": "1.1", "scan": ' + "[" * depth + "]" * depth + "}")
    assert "nested" in _refused(capsys, "report", str(deep))
    members = _members(_bundle())
    members["manifest.json"] = b"[" * depth + b"]" * depth
    with pytest.raises(BadInputError, match="nested"):
        read_bundle(_tar_gz(members), "deep.tar.gz")


# -- finding 8: -o only to a new path or a regular file, 0600 -----------------------------------
def _targets(tmp_path: "Path") -> "dict[str, Path]":
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    directory = tmp_path / "dir"
    directory.mkdir()
    link = tmp_path / "link-to-fifo"
    link.symlink_to(fifo)
    targets = {"fifo": fifo, "directory": directory, "symlink to a FIFO": link}
    if os.geteuid() == 0:  # a character device node of our own (the null device's numbers)
        node = tmp_path / "null"
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        targets["device"] = node
    return targets


@pytest.mark.parametrize("command", ["report", "collect"])
def test_output_refuses_devices_fifos_directories(capsys, tmp_path, command, request):
    if command == "collect":
        request.getfixturevalue("guest")
        args = ["collect"]
    else:
        args = ["report", "--json", str(EXAMPLES / "mixed.tar.gz")]
    for kind, target in _targets(tmp_path).items():
        before = os.lstat(target)
        err = _refused(capsys, *args, "-o", str(target), status=7)
        assert "not a regular file; refused" in err, (kind, err)
        after = os.lstat(target)
        assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino), kind


@pytest.fixture
def guest(tmp_path, fp, monkeypatch):
    from test_bundle_cli import FakeGuest

    return FakeGuest(tmp_path / "guest", fp, monkeypatch)


def test_default_bundle_name_is_a_file_name_whatever_the_host_name():
    from guestprobe.bundle.archive import default_bundle_name as _default_bundle_name

    for host in ("../../etc/cron.d/x", "a/b", "..", "\x1b[2J", ""):
        name = _default_bundle_name(host, "2026")
        assert "/" not in name and name.startswith("guestprobe-") and "\x1b" not in name, name


def test_json_report_written_0600_and_over_a_regular_file(capsys, tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    target.chmod(0o644)
    mixed = str(EXAMPLES / "mixed.tar.gz")
    code, _, _ = run_cli(capsys, "report", "--json", mixed, "-o", str(target))
    assert code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text())["platform"]["hostname"] == "node2"


# -- finding 9: hostile content, one line and exit 8 ----------------------------------------------
def test_manifest_entry_name_of_another_type(capsys, tmp_path):
    for name in (["report.json"], {"a": 1}, 7, None):
        members = _members(_bundle())
        manifest = json.loads(members["manifest.json"])
        manifest["files"][0]["name"] = name
        members["manifest.json"] = json.dumps(manifest).encode()
        path = tmp_path / "odd.tar.gz"
        path.write_bytes(_tar_gz(members))
        assert "manifest is damaged" in _refused(capsys, "report", str(path))


def test_control_characters_in_messages_are_escaped(capsys, tmp_path):
    path = tmp_path / "evil\n\x1b[2Jname.json"
    path.write_text("not json")
    err = _refused(capsys, "report", str(path))
    assert "\x1b" not in err and "evil\\x0a\\x1b[2Jname.json" in err


JSON_VALUES = {
    "null": None, "bool": True, "int": 7, "float": 2.5, "string": "x", "list": [1],
    "object": {"a": 1},
}
# re-derived by 'report' from the raw record, never read back: flipped at their root only
DERIVED = {"facts", "verdicts", "transport", "logical_units", "guest_verdicts"}


def _kind(value) -> str:
    return next(k for k, v in JSON_VALUES.items() if type(v) is type(value))


def _slots(value, derived: bool = False):
    """(container, key) of every value in the document (derived subtrees: their root only)."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        yield value, key
        if isinstance(item, (dict, list)) and not (derived or key in DERIVED):
            yield from _slots(item)


def test_every_field_flipped_to_every_json_type_never_exits_70(monkeypatch, capsys):
    """A real report (one tgt LUN reserved by another initiator, from the rig): every field set
    to each other JSON type, one at a time, through the whole CLI ('report FILE')."""
    document = read_bundle((EXAMPLES / "foreign-reservation.tar.gz").read_bytes()).report
    pristine = copy.deepcopy(document)
    current = {}
    monkeypatch.setattr(pipeline, "load_input", lambda path, key=None: (current["doc"], None))
    current["doc"] = document
    outcomes = {0: 0, 8: 0}
    flips = 0
    for container, key in list(_slots(document)):
        original = container[key]
        for kind, value in JSON_VALUES.items():
            if kind == _kind(original):
                continue
            container[key] = copy.deepcopy(value)
            with pytest.raises(SystemExit) as exit_info:
                cli.main(["report", "flipped.json"])
            _, err = capsys.readouterr()
            status = exit_info.value.code
            assert status in outcomes, (key, kind, err)
            assert "Traceback" not in err and err.count("\n") == (status == 8), (key, kind, err)
            outcomes[status] += 1
            flips += 1
        container[key] = original
    assert document == pristine  # nothing in the pipeline changed the input
    assert flips > 2000 and outcomes[8] > 1000 and outcomes[0] > 100, outcomes
