"""collect -> report -> compare through the CLI, on a fake guest: sysfs from captures, sg3_utils
replayed byte for byte (pytest-subprocess).

The helpers here (``FakeGuest``, ``run_cli``) also serve test_packaging.py.
"""


import json
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest
from documents import build_document
from fakesys import MIXED, kvm_mixed
from replay import register_disk
from test_bundle_archive import _tar_gz

from guestprobe import pipeline
from guestprobe.cli import common, main
from guestprobe.collect import platform as platform_module
from guestprobe.collect import scan as scan_module
from guestprobe.collect.probe import ProbeOptions
from guestprobe.collect.sysfs import SysRoot
from guestprobe.collect.udev import UdevView

SG3_FACTS = {"tools": {}, "sg_inq_version": "2.10", "release": "1.46"}


class FakeGuest:
    """The kvm-mixed guest (virtio-blk vda, passed-through tgt LUN sda, QEMU scsi-hd sdb)."""

    def __init__(self, root: "Path", fp, monkeypatch) -> None:
        self.fake = kvm_mixed(root)
        self.fake.write("/proc/sys/kernel/hostname", "node1\n")
        for capture, device in (("0x1af4_VBLKSER01", "/dev/vda"), ("IET_beaf11", "/dev/sg1"),
                                ("QEMU_SHDSER01", "/dev/sg0")):
            register_disk(fp, MIXED / capture, device, occurrences=20)
        monkeypatch.setattr(platform_module, "sg3_utils_facts", lambda *a, **k: dict(SG3_FACTS))
        monkeypatch.setattr(scan_module, "SysRoot", lambda: SysRoot(self.fake.root))
        monkeypatch.setattr(common, "require_root", lambda: None)
        monkeypatch.setattr(common, "require_sg3_utils", lambda: None)

    def report(self, hostname: str, names: "list[str] | None" = None) -> dict:
        """One node's JSON report, as ``guestprobe scan --json`` would write it."""
        self.fake.write("/proc/sys/kernel/hostname", hostname + "\n")
        collection = scan_module.collect(
            ProbeOptions(engine="cli"), names=names, sys=SysRoot(self.fake.root),
            udev=UdevView(run_dir=self.fake.p("/run/udev")),
        )
        return build_document(collection, pipeline.judge)


def run_cli(capsys, *args: str) -> "tuple[int, str, str]":
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture
def guest(tmp_path, fp, monkeypatch):
    return FakeGuest(tmp_path / "guest", fp, monkeypatch)


def _judgement(document: dict) -> list:
    return [
        (d["name"], d["transport"], d["facts"], d["verdicts"]) for d in document["disks"]
    ] + [document["guest_verdicts"], document["logical_units"]]


def _unpack(bundle: "Path") -> "dict[str, bytes]":
    with tarfile.open(bundle, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}


def test_scan_collect_report_same_verdicts(guest, tmp_path, capsys):
    status, scanned, _ = run_cli(capsys, "scan", "--json")
    assert status == 0
    bundle = tmp_path / "case.tar.gz"
    status, out, _ = run_cli(capsys, "collect", "-o", str(bundle))
    assert status == 0
    assert out.startswith(f"{bundle}: 3 disks, ")
    assert stat.S_IMODE(os.stat(bundle).st_mode) == 0o600
    members = _unpack(bundle)
    assert sorted(members) == ["manifest.json", "report.html", "report.json", "versions.json"]
    page = members["report.html"].decode()  # the page of the very report the bundle holds
    codes = {r["code"] for d in json.loads(members["report.json"])["disks"]
             for v in d["verdicts"] if v["status"] != "usable" for r in v["reasons"]}
    assert codes and all(code in page for code in codes)
    assert "Redacted bundle" not in page
    status, reported, _ = run_cli(capsys, "report", "--json", str(bundle))
    assert status == 0
    assert _judgement(json.loads(reported)) == _judgement(json.loads(scanned))
    status, table, _ = run_cli(capsys, "report", str(bundle))
    assert status == 0 and "sda" in table and "virtio-scsi/passthrough" in table


def test_collect_redacted_bundle_still_judges_the_same(guest, tmp_path, capsys):
    plain, redacted = tmp_path / "plain.tar.gz", tmp_path / "redacted.tar.gz"
    assert run_cli(capsys, "collect", "-o", str(plain))[0] == 0
    status, out, _ = run_cli(capsys, "collect", "--redact", "-o", str(redacted))
    assert status == 0 and out.rstrip().endswith("redacted")
    members = _unpack(redacted)
    raw = b"".join(members.values())
    for secret in (b"node1", b"beaf11", b"SHDSER01", b"VBLKSER01", b"60000000000000000e0000"):
        assert secret not in raw
    manifest = json.loads(members["manifest.json"])
    assert manifest["redaction"] == {"method": "hmac-sha256", "key": "random"}
    assert "Redacted bundle" in members["report.html"].decode()  # (and no secret: see above)
    status, out, _ = run_cli(capsys, "report", "--json", str(redacted))
    again = json.loads(out)
    first = json.loads(_unpack(plain)["report.json"])
    def judged(document: dict) -> list:  # reason texts quote (redacted) identifiers
        return [(d["transport"], [(v["feature"], v["status"], [r["code"] for r in v["reasons"]])
                                  for v in d["verdicts"]]) for d in document["disks"]]

    assert judged(again) == judged(first)
    sda = next(d for d in again["disks"] if d["name"] == "sda")
    assert sda["facts"]["identity"]["lu_designator"].startswith("naa.6")
    assert sda["facts"]["persistent_reservations"]["read_keys_outcome"] == "ok"


def test_bad_bundles_one_line_exit_8(guest, tmp_path, capsys):
    bundle = tmp_path / "good.tar.gz"
    assert run_cli(capsys, "collect", "-o", str(bundle))[0] == 0
    data = bundle.read_bytes()
    members = _unpack(bundle)
    report = json.loads(members["report.json"])
    tampered = dict(members, **{"report.json": members["report.json"].replace(b"sda", b"sdq")})
    newer = dict(report, schema_version="2.0")
    cases = {
        "truncated.tar.gz": (data[: len(data) // 2], "truncated"),
        "tampered.tar.gz": (_tar_gz(tampered), "does not match the bundle manifest"),
        "foreign.tar.gz": (_tar_gz({"etc/hosts": b"127.0.0.1 localhost\n"}), "not a guestprobe"),
        "newer.json": (json.dumps(newer).encode(), "schema version 2.0"),
        "notes.txt": (b"hello\n", "not valid JSON"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        for command in (["report", str(path)], ["compare", str(bundle), str(path)]):
            status, _, err = run_cli(capsys, *command)
            assert status == 8, (name, command, err)
            assert err.count("\n") == 1 and err.startswith("guestprobe: "), err
            assert message in err and "Traceback" not in err


def test_compare_two_and_three_nodes(guest, tmp_path, capsys):
    paths = {}
    for host, names in (("node1", None), ("node2", None), ("node3", ["vda", "sdb"])):
        paths[host] = tmp_path / f"{host}.json"
        paths[host].write_text(json.dumps(guest.report(host, names)))
    status, out, _ = run_cli(capsys, "compare", "--json", str(paths["node1"]), str(paths["node2"]))
    assert status == 0
    two = json.loads(out)
    assert [n["name"] for n in two["nodes"]] == ["node1", "node2"]
    assert all(not row["missing_from"] for row in two["logical_units"])
    tgt = next(r for r in two["logical_units"] if r["lu_designator"].startswith("naa.6"))
    assert [p["read_keys_outcome"] for node in ("node1", "node2") for p in tgt["paths"][node]] == [
        "ok", "ok"]
    assert tgt["pr_capable_from_all"] != "no"
    assert two["coordinator_disks"]["enough"] is False  # one LU is not three

    status, out, _ = run_cli(capsys, "compare", "--json", *map(str, paths.values()))
    three = json.loads(out)
    assert three["missing_by_node"]["node3"] == [tgt["lu_designator"]]
    status, table, _ = run_cli(capsys, "compare", *map(str, paths.values()))
    assert status == 0
    assert f"node3 does not see: {tgt['lu_designator']}" in table
    assert "Coordinator disks: NOT ENOUGH" in table


def test_compare_refuses_the_same_node_twice(guest, tmp_path, capsys):
    report = tmp_path / "node1.json"
    report.write_text(json.dumps(guest.report("node1")))
    copy = tmp_path / "copy.json"
    copy.write_text(report.read_text())
    status, _, err = run_cli(capsys, "compare", str(report), str(copy))
    assert status == 8 and "same report" in err
    rescan = guest.report("node1")
    rescan["scan"]["started_at"] = "2026-11-28T03:00:00+00:00"  # a later scan of the same node
    other_scan = tmp_path / "rescan.json"
    other_scan.write_text(json.dumps(rescan))
    status, _, err = run_cli(capsys, "compare", str(report), str(other_scan))
    assert status == 8 and "both come from node node1" in err
    status, _, err = run_cli(capsys, "compare", str(report))
    assert status == 2


def test_a_rule_changed_after_collection_changes_the_verdict(guest, tmp_path, capsys, monkeypatch):
    bundle = tmp_path / "case.tar.gz"
    assert run_cli(capsys, "collect", "-o", str(bundle))[0] == 0
    collected = json.loads(_unpack(bundle)["report.json"])

    def fencing(document: dict) -> dict:
        vda = next(d for d in document["disks"] if d["name"] == "vda")
        verdict = next(v for v in vda["verdicts"] if v["feature"] == "pr_fencing")
        return {"status": verdict["status"], "code": verdict["reasons"][0]["code"]}

    assert fencing(collected) == {"status": "not_usable", "code": "virtio_blk_no_pr"}
    # a newer rule set: virtio-blk disks judged by a new first case of the pr_fencing rule
    from guestprobe.check.rules import bundled_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(bundled_rules_dir(), rules)
    rule = rules / "pr_fencing.toml"
    text = rule.read_text()
    first_case = text.index("[[case]]")
    rule.write_text(
        text[:first_case]
        + '[[case]]\nwhen = { "transport.kind" = "virtio-blk" }\nstatus = "degraded"\n'
        + 'code = "virtio_blk_pr_emulated"\ntext = "A newer rule."\n\n'
        + text[first_case:]
    )
    monkeypatch.setenv("GUESTPROBE_RULES_DIR", str(rules))
    status, out, _ = run_cli(capsys, "report", "--json", str(bundle))
    assert status == 0
    assert fencing(json.loads(out)) == {"status": "degraded", "code": "virtio_blk_pr_emulated"}
    monkeypatch.delenv("GUESTPROBE_RULES_DIR")
    status, out, _ = run_cli(capsys, "report", "--json", str(bundle))
    assert fencing(json.loads(out)) == fencing(collected)


def test_collect_shows_progress_on_a_terminal(guest, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    status, _, err = run_cli(capsys, "collect", "-o", str(tmp_path / "b.tar.gz"))
    assert status == 0
    assert "\rprobed 3/3 disks\n" in err


def test_read_full_status_outcomes_on_the_captured_guest(guest, capsys):
    """READ FULL STATUS on the kvm-mixed guest (captured, replayed): the tgt LUN refuses the
    service action (exit 5); not sent to QEMU's scsi-hd, which has no PR IN at all (READ KEYS
    exit 9), nor to virtio-blk, which has no SG_IO (INQUIRY exit 75); none a decode error."""
    status, out, _ = run_cli(capsys, "scan", "--json")
    assert status == 0
    facts = {d["name"]: d["facts"] for d in json.loads(out)["disks"]}
    got = {name: (f["pr_full_status"]["outcome"], f["pr_full_status"]["decoded"])
           for name, f in facts.items()}
    assert got == {"sda": ("not_supported", None), "sdb": ("skipped", None),
                   "vda": ("skipped", None)}
    assert not any(e["probe"].endswith("pr_read_full_status")
                   for f in facts.values() for e in f["decode_errors"])
