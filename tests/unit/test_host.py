"""guestprobe host: domain XML / KubeVirt VMI into host facts and verdicts (no libvirt needed),
and the join of a guest's report with the host's document (report --host, compare --host)."""


import json
import sys
from pathlib import Path

import pytest
from test_bundle_cli import run_cli

from guestprobe.errors import BadInputError, ExitStatus
from guestprobe.host import collect
from guestprobe.host.domain_xml import lu_designator_of_path
from guestprobe.host.judge import host_document

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "host"
EXAMPLES = ROOT / "examples"
SCHEMA = ROOT / "guestprobe" / "host" / "schema.json"


def _domain(name: str) -> dict:
    return collect.domain_from_file(str(FIXTURES / name))


def _judged(name: str) -> dict:
    return host_document([_domain(name)], {"source": "files"}).to_dict()["domains"][0]


def _disk(domain: dict, target: str) -> dict:
    return next(d for d in domain["disks"] if d["target_dev"] == target)


def _verdict(verdicts: list, feature: str) -> dict:
    return next(v for v in verdicts if v["feature"] == feature)


def _codes(verdict: dict) -> "list[str]":
    return [r["code"] for r in verdict["reasons"]]


def _fix(verdict: dict) -> str:
    return "\n".join(r["text"] for r in verdict["remediation"])


def test_mixed_xml_facts():
    domain = _domain("mixed.xml")
    assert (domain["name"], domain["machine"], domain["machine_family"]) == (
        "gp-mixed", "pc-i440fx-7.2", "i440fx")
    vda, sda, sdb = (_disk(domain, t) for t in ("vda", "sda", "sdb"))
    assert (vda["bus"], vda["device"], vda["serial"], vda["pci_slot"]) == (
        "virtio", "disk", "VBLKSER01", "0000:00:05.0")
    assert (sda["qemu_device"], sda["serial"], sda["scsi_address"], sda["controller_pci_slot"]) == (
        "scsi-hd", "SHDSER01", "0:0:0:0", "0000:00:04.0")
    assert sda["cache_effective"] == "none" and sda["host_cache_off"] is True
    assert sda["discard"] is None and sda["discard_effective"] == "ignore"
    assert (sdb["device"], sdb["passthrough"], sdb["source"]["kind"], sdb["scsi_address"]) == (
        "lun", True, "iscsi", "0:0:1:0")
    assert sdb["source"]["hosts"] == ["127.0.0.1:3260"]
    assert sdb["error_policy"] is None and sdb["error_policy_effective"] == "enospc"
    # two 9p shares, the virtio-scsi controller and the virtio-blk disk
    assert sorted(v["kind"] for v in domain["virtio_devices"]) == ["9p", "9p", "block", "scsi"]
    root = domain["pci_buses"][0]
    assert root["model"] == "pci-root" and root["used_slots"] == [2, 3, 4, 5]
    assert domain["free_hotplug_slots"] == 26  # slots 2..31 less the four taken


def test_by_id_paths_name_the_lu():
    assert lu_designator_of_path("/dev/disk/by-id/dm-uuid-mpath-3600a0980383030534") == (
        "naa.600a0980383030534")
    assert lu_designator_of_path("/dev/disk/by-id/wwn-0x600a098038303053453f463045727a44") == (
        "naa.600a098038303053453f463045727a44")
    assert lu_designator_of_path("/var/lib/libvirt/images/a.qcow2") is None


# The held-out domain: each mistake is named, with the XML that fixes it.
def test_mistakes_writeback_on_a_shared_lun():
    sdb = _disk(_judged("mistakes.xml"), "sdb")
    cache = _verdict(sdb["verdicts"], "host_cache")
    assert (cache["status"], _codes(cache)) == ("not_usable", ["shared_disk_host_cache_on"])
    assert "cache='writeback'" in cache["reasons"][0]["text"]
    assert "cache='none'" in _fix(cache)
    recovery = _verdict(sdb["verdicts"], "fast_recovery")
    assert (recovery["status"], _codes(recovery)) == ("not_usable", ["host_cache_not_none"])


def test_mistakes_error_policy_stop():
    sdc = _disk(_judged("mistakes.xml"), "sdc")
    fencing = _verdict(sdc["verdicts"], "pr_fencing")
    assert fencing["status"] == "degraded"
    assert _codes(fencing)[0] == "host_error_policy_stop"
    assert "error_policy='report'" in _fix(fencing)
    # the rest of that disk is right: the mistake does not spill over
    assert _verdict(sdc["verdicts"], "host_cache")["status"] == "usable"
    assert _verdict(sdc["verdicts"], "fast_recovery")["status"] == "usable"


def test_mistakes_device_disk_where_pr_is_expected():
    sdd = _disk(_judged("mistakes.xml"), "sdd")
    fencing = _verdict(sdd["verdicts"], "pr_fencing")
    assert (fencing["status"], _codes(fencing)) == ("not_usable", ["host_device_disk"])
    assert "device='lun'" in _fix(fencing) and "<reservations managed='yes'/>" in _fix(fencing)


def test_mistakes_lun_without_reservations():
    sde = _disk(_judged("mistakes.xml"), "sde")
    fencing = _verdict(sde["verdicts"], "pr_fencing")
    assert fencing["status"] == "not_usable"
    assert _codes(fencing) == ["host_no_reservations"]
    assert sde["lu_designator"] == "naa.600a098038303053453f463045727a44"


def test_mistakes_thirty_virtio_blk_on_i440fx():
    domain = _judged("mistakes.xml")
    assert domain["virtio_blk_count"] == 30 and domain["virtio_device_count"] == 33
    assert domain["free_hotplug_slots"] == 0 and domain["pci_addresses_complete"] is False
    limit = _verdict(domain["domain_verdicts"], "device_limit")
    assert (limit["status"], _codes(limit)) == ("not_usable", ["at_virtio_limit",
                                                              "host_machine_slots"])
    assert "i440fx" in limit["reasons"][0]["text"]
    assert "<controller type='scsi' model='virtio-scsi'/>" in _fix(limit)
    hot_plug = _verdict(_disk(domain, "vdad")["verdicts"], "hot_plug")
    assert (hot_plug["status"], _codes(hot_plug)) == ("degraded", ["no_free_pci_slot"])


def test_good_q35_domain_is_usable_throughout():
    domain = _judged("good-q35.xml")
    sda = _disk(domain, "sda")
    assert sda["source"]["kind"] == "dm-multipath"
    assert sda["reservations"]["socket_path"].endswith("/pr-helper0.sock")
    assert {v["feature"]: v["status"] for v in sda["verdicts"]} == {
        "fast_recovery": "usable", "pr_fencing": "usable", "thin_reclaim": "usable",
        "hot_plug": "usable", "host_cache": "usable"}
    assert domain["machine_family"] == "q35" and domain["free_hotplug_slots"] == 1
    assert _verdict(domain["domain_verdicts"], "device_limit")["status"] == "usable"


def test_pr_helper_state_from_proc(tmp_path):
    for pid, argv in (("41", ["/usr/bin/qemu-pr-helper", "-k",
                              "/var/lib/libvirt/qemu/domain-7-infoscale-node2/pr-helper0.sock"]),
                      ("42", ["/usr/bin/qemu-pr-helper", "--socket=/run/pr.sock"]),
                      ("43", ["/usr/bin/qemu-system-x86_64", "-k", "/not/a/helper"])):
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "cmdline").write_bytes("\0".join(argv).encode() + b"\0")
    (tmp_path / "self").mkdir()
    sockets = collect.pr_helper_sockets(tmp_path)
    assert sorted(sockets) == ["/run/pr.sock",
                               "/var/lib/libvirt/qemu/domain-7-infoscale-node2/pr-helper0.sock"]
    domain = _domain("good-q35.xml")
    domain["state"] = "running"
    domain = collect.mark_pr_helpers(domain, sockets, 7)
    assert _disk(domain, "sda")["pr_helper_running"] is True
    # another domain id: not this domain's helper
    domain = collect.mark_pr_helpers(domain, sockets, 8)
    assert _disk(domain, "sda")["pr_helper_running"] is False
    judged = host_document([domain], {"source": "libvirt"}).to_dict()["domains"][0]
    fencing = _verdict(_disk(judged, "sda")["verdicts"], "pr_fencing")
    assert (fencing["status"], _codes(fencing)) == ("not_usable", ["host_pr_helper_not_running"])


def test_vmi_json():
    domain = collect.load_vmi(str(FIXTURES / "vmi.json"))
    judged = host_document([domain], {"source": "files"}).to_dict()["domains"][0]
    fence, data = _disk(judged, "fence1"), _disk(judged, "data1")
    assert (fence["device"], fence["reservations"]["enabled"], fence["serial"]) == (
        "lun", True, "FENCE1")
    assert _verdict(fence["verdicts"], "pr_fencing")["status"] == "usable"
    cache = _verdict(data["verdicts"], "host_cache")
    assert (cache["status"], _codes(cache)) == ("not_usable", ["shared_disk_host_cache_on"])


def test_vmi_yaml_needs_pyyaml(tmp_path, monkeypatch):
    path = tmp_path / "vmi.yaml"
    path.write_text("kind: VirtualMachineInstance\nmetadata:\n  name: x\n")
    monkeypatch.setitem(sys.modules, "yaml", None)  # as on a host without PyYAML
    with pytest.raises(BadInputError, match="YAML needs PyYAML"):
        collect.load_vmi(str(path))


def test_host_json_follows_the_schema(capsys):
    jsonschema = pytest.importorskip("jsonschema")
    status, out, err = run_cli(capsys, "host", "--json", *[
        arg for name in ("mixed.xml", "mistakes.xml", "good-q35.xml")
        for arg in ("--xml", str(FIXTURES / name))], "--vmi", str(FIXTURES / "vmi.json"))
    assert status == 0, err
    document = json.loads(out)
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    assert [d["name"] for d in document["domains"]] == [
        "gp-mixed", "infoscale-node1", "infoscale-node2", "infoscale-node3"]


def test_host_table_and_fail_on(capsys):
    status, out, _ = run_cli(capsys, "host", "--xml", str(FIXTURES / "mistakes.xml"),
                             "--fail-on", "not_usable")
    assert status == ExitStatus.FAIL_ON
    assert "shared_disk_host_cache_on" in out and "FIXES (each once, with the disks" in out
    status, out, _ = run_cli(capsys, "host", "--xml", str(FIXTURES / "good-q35.xml"), "--brief")
    assert status == 0 and "FINDINGS" not in out and "dm-multipath" in out


@pytest.mark.parametrize("text, message", [
    ("<!DOCTYPE d [<!ENTITY a 'aaaa'>]><domain>&a;</domain>", "DOCTYPE"),
    ("<domain><name>x</name>", "not XML"),
    ("<network><name>x</name></network>", "not a libvirt <domain>"),
])
def test_bad_xml_is_one_line_exit_8(capsys, tmp_path, text, message):
    path = tmp_path / "bad.xml"
    path.write_text(text)
    status, _, err = run_cli(capsys, "host", "--xml", str(path))
    assert status == ExitStatus.BAD_INPUT and message in err and len(err.splitlines()) == 1


def test_escape_sequences_in_the_xml_are_shown_not_obeyed(capsys, tmp_path):
    # ESC itself is not allowed in XML 1.0; the C1 CSI (0x9b) and a bidi override are
    text = (FIXTURES / "mixed.xml").read_text().replace("VBLKSER01", "VBLK&#x9b;2J&#x202e;")
    path = tmp_path / "evil.xml"
    path.write_text(text)
    status, out, _ = run_cli(capsys, "host", "--xml", str(path))
    assert status == 0 and "\x9b" not in out and "\u202e" not in out
    assert "VBLK\\x9b2J\\u202e" in out


def test_no_libvirt_binding_is_exit_11(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "libvirt", None)
    status, _, err = run_cli(capsys, "host", "somedomain")
    assert status == ExitStatus.HOST_UNAVAILABLE == 11
    assert "python3-libvirt" in err


# -- the join ---------------------------------------------------------------------------------
def _host_json(tmp_path, xml_text: str) -> str:
    xml = tmp_path / "host.xml"
    xml.write_text(xml_text)
    document = host_document([collect.domain_from_file(str(xml))],
                             {"source": "files"}).to_dict()
    path = tmp_path / "host.json"
    path.write_text(json.dumps(document))
    return str(path)


def _joined(capsys, host: str, example: str = "mixed.tar.gz") -> dict:
    status, out, err = run_cli(capsys, "report", "--json", str(EXAMPLES / example),
                               "--host", host)
    assert status == 0, err
    return json.loads(out)


def _guest_verdict(document: dict, disk: str, feature: str) -> dict:
    if disk == "guest":
        return _verdict(document["guest_verdicts"], feature)
    return _verdict(next(d for d in document["disks"] if d["name"] == disk)["verdicts"], feature)


def test_join_mixed_matches_every_disk_and_says_by_what(capsys, tmp_path):
    document = _joined(capsys, _host_json(tmp_path, (FIXTURES / "mixed.xml").read_text()))
    join = document["host_join"]
    assert join["domain"] == "gp-mixed"
    assert sorted((m["guest_disk"], m["host_disk"], m["matched_by"], m["key"])
                  for m in join["matches"]) == [
        ("sda", "sda", "serial", "SHDSER01"),
        ("sdb", "sdb", "scsi_address", "0000:00:04.0/0:1:0"),
        ("vda", "vda", "serial", "VBLKSER01"),
    ]
    assert join["conflicts"] == [] and join["unmatched_guest_disks"] == []


def test_join_mixed_turns_check_the_host_into_verdicts(capsys, tmp_path):
    status, out, _ = run_cli(capsys, "report", "--json", str(EXAMPLES / "mixed.tar.gz"))
    assert status == 0
    before = json.loads(out)
    after = _joined(capsys, _host_json(tmp_path, (FIXTURES / "mixed.xml").read_text()))
    # before: the guest can only say "check the host"
    assert _codes(_guest_verdict(before, "sdb", "fast_recovery")) == ["passthrough_cache_unseen"]
    assert "error_policy_stop_pauses_guest" in _codes(_guest_verdict(before, "sdb", "pr_fencing"))
    assert _codes(_guest_verdict(before, "sda", "host_cache")) == ["guest_sees_write_back"]
    assert _guest_verdict(before, "sda", "thin_reclaim")["status"] == "usable"
    # after: the host's cache='none', device='lun' over QEMU's iSCSI, discard unset
    recovery = _guest_verdict(after, "sdb", "fast_recovery")
    assert (recovery["status"], _codes(recovery)) == ("usable", ["passthrough_cache_none"])
    fencing = _guest_verdict(after, "sdb", "pr_fencing")
    assert fencing["status"] == "usable" and _codes(fencing)[0] == "pr_ready_host_confirmed"
    assert "error_policy_stop_pauses_guest" not in _codes(fencing)
    assert _codes(_guest_verdict(after, "sda", "host_cache")) == ["host_cache_off"]
    thin = _guest_verdict(after, "sda", "thin_reclaim")
    assert (thin["status"], _codes(thin)[0]) == ("not_usable", "host_discard_ignore")
    assert "discard='unmap'" in _fix(thin)
    changes = {(c["disk"], c["feature"]): (c["before"], c["after"])
               for c in after["host_join"]["changes"]}
    assert changes[("sda", "thin_reclaim")] == ("usable", "not_usable")
    assert changes[("sdb", "fast_recovery")] == ("usable", "usable")
    assert "host_machine_slots" in _codes(_guest_verdict(after, "guest", "device_limit"))


def test_join_host_writeback_and_stop_policy(capsys, tmp_path):
    text = (FIXTURES / "mixed.xml").read_text().replace(
        "<driver name='qemu' type='raw'/>",
        "<driver name='qemu' type='raw' error_policy='stop'/>").replace(
        "<driver name='qemu' type='raw' cache='none'/>\n      <source file='/var/lib/guestprobe"
        "/mixed/shd.img'/>",
        "<driver name='qemu' type='raw' cache='writeback'/>\n      <source file='/var/lib/"
        "guestprobe/mixed/shd.img'/>\n      <shareable/>")
    document = _joined(capsys, _host_json(tmp_path, text))
    fencing = _guest_verdict(document, "sdb", "pr_fencing")
    assert (fencing["status"], _codes(fencing)[0]) == ("degraded", "host_error_policy_stop")
    cache = _guest_verdict(document, "sda", "host_cache")
    assert (cache["status"], _codes(cache)) == ("not_usable", ["shared_disk_host_cache_on"])


def test_join_conflict_guest_passthrough_host_device_disk(capsys, tmp_path):
    text = (FIXTURES / "mixed.xml").read_text().replace("device='lun'", "device='disk'")
    document = _joined(capsys, _host_json(tmp_path, text))
    codes = {(c["disk"], c["code"]) for c in document["host_join"]["conflicts"]}
    assert codes == {("sdb", "guest_passthrough_host_disk"), ("sdb", "guest_pr_works_host_disk")}
    fencing = _guest_verdict(document, "sdb", "pr_fencing")
    assert (fencing["status"], _codes(fencing)[0]) == ("not_usable", "host_device_disk_conflict")
    status, out, _ = run_cli(capsys, "report", str(EXAMPLES / "mixed.tar.gz"), "--host",
                             _host_json(tmp_path, text), "--brief")
    assert status == 0 and "CONFLICTS between the guest's and the host's view" in out


def test_join_without_a_match_is_exit_8(capsys, tmp_path):
    text = (FIXTURES / "mistakes.xml").read_text()
    status, _, err = run_cli(capsys, "report", str(EXAMPLES / "mixed.tar.gz"), "--host",
                             _host_json(tmp_path, text))
    assert status == ExitStatus.BAD_INPUT and "no disk of this report matches" in err


@pytest.mark.parametrize("document", [
    {"kind": "something"}, {"kind": "guestprobe-host", "schema_version": "2.0", "domains": []},
    {"kind": "guestprobe-host", "schema_version": "1.0", "domains": [{"disks": [{"serial": 5}]}]},
    [1, 2],
])
def test_join_refuses_foreign_host_documents(capsys, tmp_path, document):
    path = tmp_path / "host.json"
    path.write_text(json.dumps(document))
    status, _, err = run_cli(capsys, "report", str(EXAMPLES / "mixed.tar.gz"), "--host", str(path))
    assert status == ExitStatus.BAD_INPUT and len(err.splitlines()) == 1


def test_compare_with_host_documents(capsys, tmp_path):
    host = _host_json(tmp_path, (FIXTURES / "mixed.xml").read_text().replace(
        "<driver name='qemu' type='raw'/>", "<driver name='qemu' type='raw' error_policy='stop'/>"))
    status, out, err = run_cli(capsys, "compare", "--json", str(EXAMPLES / "mixed.tar.gz"),
                               str(EXAMPLES / "two-paths.tar.gz"), "--host", host)
    assert status == 0, err
    notes = {n["source"]: n["notes"] for n in json.loads(out)["nodes"]}
    assert notes[str(EXAMPLES / "mixed.tar.gz")] == [
        "host gp-mixed: 3 disk(s) joined, 0 conflict(s)"]
    # two-paths' disks sit at the same SCSI addresses, but nothing names them the same: not joined
    assert notes[str(EXAMPLES / "two-paths.tar.gz")] == [
        "no --host domain matches this node's disks: judged without the host"]


def test_join_survives_every_field_of_a_host_document_being_any_json_type(tmp_path):
    """A host document is input like any other: each field of its first disk and of its domain,
    set to each JSON type in turn, gives a joined report or one BadInputError, nothing else."""
    from guestprobe.document.model import Report
    from guestprobe.host.join import join_report
    from guestprobe.pipeline import judge, rejudge
    from guestprobe.report.output import to_json

    guest = rejudge(str(EXAMPLES / "mixed.tar.gz"))[1].to_dict()
    host = json.loads(Path(_host_json(tmp_path, (FIXTURES / "mixed.xml").read_text())).read_text())
    values = (None, [{"a": 1}])  # null, and a container where text is expected
    places = [("disk", key) for key in host["domains"][0]["disks"][1]]
    places += [("domain", key) for key in host["domains"][0] if key != "disks"]
    outcomes = {"joined": 0, "refused": 0}
    for where, key in places:
        for value in values:
            document = json.loads(json.dumps(host))
            target = document["domains"][0]
            if where == "disk":
                target = target["disks"][1]
            target[key] = value
            report = Report.from_dict(json.loads(json.dumps(guest)))
            try:
                join_report(report, document, "host.json", judge)
            except BadInputError:
                outcomes["refused"] += 1
                continue
            to_json(report.to_dict())  # and it still serialises
            outcomes["joined"] += 1
    assert outcomes["joined"] > 0 and outcomes["refused"] > 0


def test_host_output_fits_80_columns_and_groups_alike_findings(capsys, monkeypatch):
    """The held-out XML of mixed mistakes (30 alike virtio-blk disks among four LUNs): every
    line fits 80 columns but the domain XML of a fix, and the 30 disks' alike verdicts are one
    entry each (before: 609 lines, a 214-column table, one entry per disk)."""
    monkeypatch.setenv("COLUMNS", "80")
    status, out, _ = run_cli(capsys, "host", "--xml", str(FIXTURES / "mistakes.xml"))
    assert status == 0
    wide = [line for line in out.splitlines()
            if len(line) > 80 and not line.strip().startswith("<")]
    assert not wide, wide
    heads = [line for line in out.splitlines() if line.startswith(("NOT USABLE", "DEGRADED"))]
    virtio = [line for line in heads if "vda" in line]
    assert len(virtio) == 5  # pr_fencing, fast_recovery, thin_reclaim, hot_plug, host_cache
    assert all("vda, vdb, vdc … vdad (30 disks)" in line for line in virtio)
    assert not any(line.startswith(("NOT USABLE  vdb", "DEGRADED  vdb")) for line in heads)
    assert "vda…vdad (30)" in out  # the disk table and the matrix group them too
    assert "The guest cannot see the host's cache mode" not in out


def test_host_texts_say_why_the_cache_mode_matters_or_not(capsys):
    status, out, _ = run_cli(capsys, "host", "--xml", str(FIXTURES / "mixed.xml"), "--json")
    assert status == 0
    disks = {d["target_dev"]: {v["feature"]: v for v in d["verdicts"]}
             for d in json.loads(out)["domains"][0]["disks"]}
    cache = disks["sdb"]["host_cache"]["reasons"][0]
    assert cache["code"] == "host_cache_libiscsi"
    assert "cache='writeback', which does not matter on this path" in cache["text"]
    assert "libiscsi" in cache["text"] and "no host page cache" in cache["text"]
    assert disks["sdb"]["fast_recovery"]["reasons"][0]["code"] == "passthrough_libiscsi"
    assert "O_DIRECT" in disks["vda"]["host_cache"]["reasons"][0]["text"]
