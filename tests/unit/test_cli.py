"""Failures a user can cause or meet: one line on stderr, a documented exit status, no traceback."""


import json
import subprocess
import sys
from pathlib import Path

import pytest
from fakesys import MIXED, kvm_mixed
from replay import SG_INQ_VERSION, register_disk

from guestprobe import cli
from guestprobe.cli import common
from guestprobe.collect import scan as scan_module
from guestprobe.collect.sysfs import SysRoot
from guestprobe.collect.udev import UdevView
from guestprobe.errors import ExitStatus

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: "dict | None" = None) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "guestprobe", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=False,
    )


def one_line_error(result: "subprocess.CompletedProcess[str]") -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_not_a_block_device(tmp_path):
    result = run_cli("scan", "/etc/hostname")
    if result.returncode == ExitStatus.NOT_ROOT:
        pytest.skip("the test process is not root")
    assert result.returncode == ExitStatus.NOT_A_BLOCK_DEVICE
    assert "not a block device" in one_line_error(result)


def test_missing_path():
    result = run_cli("scan", "/dev/does-not-exist")
    if result.returncode == ExitStatus.NOT_ROOT:
        pytest.skip("the test process is not root")
    assert result.returncode == ExitStatus.NOT_A_BLOCK_DEVICE
    assert "no such file" in one_line_error(result)


def test_not_root(monkeypatch, capsys):
    monkeypatch.setattr(common.os, "geteuid", lambda: 1000)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["scan"])
    assert exit_info.value.code == ExitStatus.NOT_ROOT
    assert "must run as root" in capsys.readouterr().err


def test_sg3_utils_missing(monkeypatch, capsys):
    monkeypatch.setattr(common.os, "geteuid", lambda: 0)
    monkeypatch.setattr(common.shutil, "which", lambda tool: None)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["scan"])
    assert exit_info.value.code == ExitStatus.SG3_UTILS_MISSING
    err = capsys.readouterr().err.strip()
    assert "sg3_utils is not installed" in err and len(err.splitlines()) == 1


def test_unwritable_output(monkeypatch, capsys, tmp_path, fp):
    fake = kvm_mixed(tmp_path / "root")
    _fake_machine(monkeypatch, fake, fp)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["scan", "--json", "-o", str(tmp_path / "no-such-dir" / "report.json")])
    assert exit_info.value.code == ExitStatus.OUTPUT_ERROR
    assert "cannot write" in capsys.readouterr().err


def test_garbage_answer_is_a_decode_error_not_a_crash(monkeypatch, capsys, tmp_path, fp):
    fake = kvm_mixed(tmp_path / "root")
    fp.register(["sg_readcap", "--long", "--raw", "--readonly", "/dev/sg1"], stdout=b"\x01\x02")
    fp.register(["sg_inq", "--raw", "--only", "/dev/sg1"], stdout=b"\xff")
    _fake_machine(monkeypatch, fake, fp, skip={"/dev/sg1": {"inquiry", "readcap16"}})
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["scan", "--json"])
    assert exit_info.value.code == ExitStatus.OK
    document = json.loads(capsys.readouterr().out)
    sda = next(d for d in document["disks"] if d["name"] == "sda")
    errors = {e["probe"] for e in sda["facts"]["decode_errors"]}
    assert {"sda/inquiry", "sda/readcap16"} <= errors
    # capacity unknown: the WRITE SAME probes are never sent blind
    probes = {p["name"]: p for p in sda["probes"]}
    assert probes["write_same16_oor"]["outcome"] == "skipped"


def test_disk_vanishing_mid_scan_is_reported_and_exits_6(monkeypatch, capsys, tmp_path, fp):
    fake = kvm_mixed(tmp_path / "root")
    # sdb is unplugged after discovery: its node answers ENODEV (50 + 19) from then on
    fp.register(
        ["sg_inq", "--raw", "--only", "/dev/sg0"],
        returncode=69,
        stderr=b"sg_inq: error opening file: /dev/sg0: No such device\n",
        callback=lambda process: fake.p("/sys/block/sdb").unlink(),
    )
    _fake_machine(monkeypatch, fake, fp, skip={"/dev/sg0": {"inquiry"}})
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["scan", "--json"])
    assert exit_info.value.code == ExitStatus.PARTIAL
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    statuses = {d["name"]: d["status"] for d in document["disks"]}
    assert statuses == {"sda": "probed", "sdb": "vanished", "vda": "probed"}
    assert "/dev/sdb: vanished during the scan" in captured.err


def _fake_machine(monkeypatch, fake, fp, skip=None):
    """Run the CLI's scan against the fake sysfs tree, with the captured answers replayed."""
    monkeypatch.setattr(common.os, "geteuid", lambda: 0)
    monkeypatch.setattr(common.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    fp.register(["sg_inq", "--version"], stderr=SG_INQ_VERSION)
    register_disk(fp, MIXED / "0x1af4_VBLKSER01", "/dev/vda", skip=(skip or {}).get("/dev/vda"))
    register_disk(fp, MIXED / "IET_beaf11", "/dev/sg1", skip=(skip or {}).get("/dev/sg1"))
    register_disk(fp, MIXED / "QEMU_SHDSER01", "/dev/sg0", skip=(skip or {}).get("/dev/sg0"))
    original = scan_module.collect

    def collect(options, **kwargs):
        kwargs.update(sys=SysRoot(fake.root), udev=UdevView(run_dir=fake.p("/run/udev")))
        return original(options, **kwargs)

    monkeypatch.setattr(scan_module, "collect", collect)
