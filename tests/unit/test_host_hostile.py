"""``guestprobe host`` and its join under hostile input (issue 18, the host side): YAML that is not
JSON, mistyped VMI/VirtualMachine fields, domain XMLs that would expand without bound, a redacted
bundle joined with its host's real view, and what the host view missed or contradicted
(``<hostdev type='scsi'>``, KubeVirt volumes without disks, the default error policy, IDE/SATA
addresses). Every refusal is one line and exit 8; nothing is an internal error (70)."""


import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_bundle_cli import run_cli

from guestprobe.errors import BadInputError, ExitStatus
from guestprobe.host import collect
from guestprobe.host.judge import host_document

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "host"
EXAMPLES = ROOT / "examples"
CHECKS = ROOT / "checks"
BAD = ExitStatus.BAD_INPUT


# PyYAML is a test dependency (pyproject.toml, tests/run-all.sh): the YAML tests run in CI
def _host(capsys, *args: str) -> "tuple[int, str, str]":
    return run_cli(capsys, "host", *args)


def _refused(status: int, err: str, *words: str) -> bool:
    return status == BAD and len(err.splitlines()) == 1 and all(w in err for w in words)


def _vmi_yaml(tmp_path, serial: str, head: str = "") -> str:
    path = tmp_path / "vmi.yaml"
    path.write_text(head + "kind: VirtualMachineInstance\nmetadata:\n  name: gp\nspec:\n"
                    "  domain:\n    devices:\n      disks:\n      - name: d1\n"
                    f"        disk: {{bus: scsi}}\n        serial: {serial}\n")
    return str(path)


# -- 1. YAML: aliases, depth, JSON types only -------------------------------------------------
def _alias_bomb(levels: int) -> str:
    """``&a0 [x, x, ...]`` then each level nine aliases of the one before: 9**levels strings
    once expanded (the issue's 595-byte bomb is nine levels: 387 million)."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_in_one_line(capsys, tmp_path):
    import yaml  # noqa: F401 -- a test dependency (pyproject.toml, tests/run-all.sh)
    # five levels (59,049 strings) keep the old code's failure cheap: it took and printed them
    path = tmp_path / "vmi.yaml"
    path.write_text(_alias_bomb(5) + "kind: VirtualMachineInstance\nmetadata: {name: gp}\n"
                    "spec:\n  domain:\n    devices:\n      disks:\n      - name: d1\n"
                    "        disk: {bus: scsi}\n        serial: *a5\n")
    status, out, err = _host(capsys, "--json", "--vmi", str(path))
    assert _refused(status, err, "alias"), (status, err[:300])
    assert out == ""


@pytest.mark.parametrize("serial, words", [
    ("2002-01-01", ["spec.domain.devices.disks[0].serial", "timestamp"]),
    ("!!binary aGVsbG8=", ["disks[0].serial", "!!binary"]),
    ("!!set {a, b}", ["disks[0].serial", "!!set"]),
    ("!gp/custom 5", ["disks[0].serial", "tag"]),
    (".nan", ["disks[0].serial", "JSON number"]),
    ("{1: one}", ["disks[0].serial", "JSON keys are strings"]),
])
def test_yaml_values_that_are_not_json_are_refused_naming_the_field(capsys, tmp_path, serial,
                                                                    words):
    import yaml  # noqa: F401
    status, _, err = _host(capsys, "--json", "--vmi", _vmi_yaml(tmp_path, serial))
    assert _refused(status, err, *words), (status, err[:300])


def test_yaml_nested_deeper_than_json_is_refused(capsys, tmp_path):
    import yaml  # noqa: F401
    deep = "[" * 5000 + "]" * 5000
    status, _, err = _host(capsys, "--vmi", _vmi_yaml(tmp_path, deep))
    assert _refused(status, err, "deeper than 64"), (status, err[:300])


def test_yaml_with_more_values_than_a_vmi_has_is_refused(capsys, tmp_path):
    import yaml  # noqa: F401

    path = tmp_path / "vmi.yaml"
    path.write_text("kind: VirtualMachineInstance\nmetadata:\n  name: gp\n  labels:\n"
                    + "  - 1\n" * 20_001)
    status, _, err = _host(capsys, "--vmi", str(path))
    assert _refused(status, err, "more than 20000 YAML values"), (status, err[:300])
    path.write_text("kind: VirtualMachineInstance\nmetadata:\n  name: '" + "n" * 1_100_000 + "'\n")
    status, _, err = _host(capsys, "--vmi", str(path))
    assert _refused(status, err, "KiB a VMI in YAML may be"), (status, err[:300])


def test_yaml_vmi_reads_as_its_json(capsys, tmp_path):
    import yaml
    document = json.loads((FIXTURES / "vmi.json").read_text())
    path = tmp_path / "vmi.yaml"
    path.write_text(yaml.safe_dump(document))
    assert collect.load_vmi(str(path))["disks"] == collect.load_vmi(
        str(FIXTURES / "vmi.json"))["disks"]


# -- 2. every VMI / VirtualMachine field x every JSON value: 0 or 8 ---------------------------
@pytest.fixture
def rules_once(monkeypatch):
    """The host rules read once for the many runs of a property test (reading the TOML is most
    of a run's time; the rules are the same every time)."""
    import functools

    from guestprobe.host import judge

    monkeypatch.setattr(judge, "load_rules", functools.lru_cache()(judge.load_rules))


VALUES = [None, True, False, 0, -1, 1.5, 2**70, "", "q35", [], [1], {}, {"a": 1},
          "\x1b[2J\x00\x9b\u202e\ud800", "x" * 100_000, json.loads("[" * 40 + "]" * 40)]


def _places(value: "object", path: "tuple" = ()) -> "list[tuple]":
    """Every path into ``value`` (object keys and list indices), the document itself excepted."""
    out = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _places(item, (*path, index))
    return out


def _set(document: "object", path: "tuple", value: "object") -> "object":
    changed = copy.deepcopy(document)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def _vmi_documents() -> "list[tuple[str, dict]]":
    docs = [(name, json.loads((FIXTURES / name).read_text())) for name in ("vmi.json", "vm.json")]
    sata = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "gp-vmi-sata"},
            "spec": {"domain": {"devices": {}}, "volumes": [
                {"name": "containerdisk", "containerDisk": {"image": "registry.invalid/c"}}]}}
    return [*docs, ("vmi-sata", sata)]


@pytest.mark.parametrize("name, document", _vmi_documents(), ids=lambda v: str(v)[:12])
def test_every_vmi_field_as_every_json_value_gives_0_or_8(capsys, tmp_path, name, document,
                                                          rules_once):
    """The property test of the issue: 16 JSON values in every field of the fixture VMIs (and
    of a VirtualMachine); the old code gave 68 internal errors in 1,696 runs."""
    path = tmp_path / "vmi.json"
    outcomes: "dict[int, int]" = {}
    internal = []
    for place in _places(document):
        if place == ("kind",):
            continue  # not a VMI at all: refused before any field is read
        for value in VALUES:
            path.write_text(json.dumps(_set(document, place, value)))
            status, _, err = _host(capsys, "--json", "--vmi", str(path))
            outcomes[status] = outcomes.get(status, 0) + 1
            if status not in (0, BAD) or (status == BAD and len(err.splitlines()) != 1):
                internal.append((place, repr(value)[:40], status, err[:200]))
    assert not internal, internal[:5]
    assert outcomes.get(0) and outcomes.get(BAD), outcomes


def test_mistyped_vmi_fields_name_the_field(capsys, tmp_path):
    document = json.loads((FIXTURES / "vmi.json").read_text())
    path = tmp_path / "vmi.json"
    for place, value, words in [
        (("spec", "domain", "machine"), "q35", ["spec.domain.machine", "an object", "a string"]),
        (("spec", "domain", "machine", "type"), 5, ["machine.type", "a string", "a number"]),
        (("spec", "domain", "devices", "disks"), True, ["devices.disks", "a list"]),
        (("spec", "volumes"), 7, ["spec.volumes", "a list"]),
        (("status", "phase"), ["Running"], ["status.phase", "a string"]),
        (("spec", "domain", "devices", "disks", 1, "shareable"), "yes", ["shareable", "true"]),
    ]:
        path.write_text(json.dumps(_set(document, place, value)))
        status, _, err = _host(capsys, "--vmi", str(path))
        assert _refused(status, err, *words), (place, status, err)
    vm = json.loads((FIXTURES / "vm.json").read_text())
    for place, value in [(("spec", "template"), "x"), (("spec", "template", "spec"), [])]:
        path.write_text(json.dumps(_set(vm, place, value)))
        status, _, err = _host(capsys, "--vmi", str(path))
        assert _refused(status, err, ".".join(place)), (place, status, err)


def _attribute_places(root: "ET.Element") -> "list[tuple[int, str]]":
    return [(i, name) for i, element in enumerate(root.iter()) for name in element.attrib]


def test_every_domain_xml_attribute_as_odd_text_gives_0_or_8(capsys, tmp_path, rules_once):
    """The same for ``host --xml``, where it is cheap: every attribute of mixed.xml set to text
    a hostile XML may hold (XML attributes are text only)."""
    text = (FIXTURES / "hostdev-scsi.xml").read_text()
    values = ["", "q35", "-1", str(2**70), "\x9b\u202e", "y" * 5000]
    path = tmp_path / "d.xml"
    outcomes: "dict[int, int]" = {}
    places = _attribute_places(ET.fromstring(text))
    assert len(places) > 40
    for index, name in places:
        for value in values:
            root = ET.fromstring(text)
            list(root.iter())[index].set(name, value)
            path.write_bytes(ET.tostring(root))
            status, _, err = _host(capsys, "--json", "--xml", str(path))
            outcomes[status] = outcomes.get(status, 0) + 1
            assert status in (0, BAD) and len(err.splitlines()) <= 1, (index, name, value, err)
    assert outcomes.get(0) and outcomes.get(BAD), outcomes


# -- 6. bounded work: disks per domain, text length, input and output size --------------------
def _domain_xml(disks: int, path: str = "/dev/sdb", serial: str = "S1") -> str:
    disk = ("<disk type='block' device='lun'><driver name='qemu' cache='none'/>"
            f"<source dev='{path}'/><target dev='sdb' bus='scsi'/><serial>{serial}</serial>"
            "</disk>")
    return ("<domain type='kvm'><name>big</name><os><type machine='q35'>hvm</type></os>"
            f"<devices>{disk * disks}</devices></domain>")


def test_more_disks_than_the_cap_is_one_line_exit_8(capsys, tmp_path):
    path = tmp_path / "d.xml"
    path.write_text(_domain_xml(1025))
    status, out, err = _host(capsys, "--json", "--xml", str(path))
    assert _refused(status, err, "1025 disks, more than the 1024"), err[:300]
    assert out == ""


@pytest.mark.parametrize("xml", [
    _domain_xml(1, path="/dev/" + "p" * 4995),
    _domain_xml(1, serial="S" * 5000),
], ids=["attribute", "text"])
def test_an_attribute_or_text_past_the_cap_is_one_line_exit_8(capsys, tmp_path, xml):
    path = tmp_path / "d.xml"
    path.write_text(xml)
    status, _, err = _host(capsys, "--xml", str(path))
    assert _refused(status, err, "5000 characters long, more than the 4096"), err[:300]


def test_a_long_description_is_not_read_so_not_refused(capsys, tmp_path):
    path = tmp_path / "d.xml"
    path.write_text(_domain_xml(1).replace("<devices>", "<description>" + "d" * 20000
                                           + "</description><devices>"))
    status, _, err = _host(capsys, "--json", "--xml", str(path))
    assert status == 0, err


def test_input_and_output_past_their_caps_are_one_line_exit_8(capsys, tmp_path, monkeypatch):
    from guestprobe.cli import host as host_cli

    xml = str(FIXTURES / "mixed.xml")
    monkeypatch.setattr(collect, "MAX_HOST_INPUT_BYTES", 1000)
    status, _, err = _host(capsys, "--xml", xml)
    assert _refused(status, err, "a domain XML or VMI may be"), err
    monkeypatch.undo()
    monkeypatch.setattr(host_cli, "MAX_HOST_DISKS", 2)  # mixed.xml has 3
    status, _, err = _host(capsys, "--xml", xml)
    assert _refused(status, err, "3 disks", "name fewer"), err
    monkeypatch.undo()
    monkeypatch.setattr(host_cli, "MAX_HOST_OUTPUT_BYTES", 10_000)
    status, out, err = _host(capsys, "--json", "--xml", xml)
    assert _refused(status, err, "host document would be") and out == "", err


def test_a_vmi_with_more_disks_than_the_cap_is_exit_8(capsys, tmp_path):
    document = json.loads((FIXTURES / "vmi.json").read_text())
    document["spec"]["domain"]["devices"]["disks"] = [
        {"name": f"d{i}", "disk": {}} for i in range(1025)]
    path = tmp_path / "vmi.json"
    path.write_text(json.dumps(document))
    status, _, err = _host(capsys, "--vmi", str(path))
    assert _refused(status, err, "more than the 1024"), err


def test_a_host_document_with_too_many_disks_is_refused_by_the_join(tmp_path):
    from guestprobe.host.join import check_host_document

    disk = {"target_dev": "sdb"}
    for domains in ([{"disks": [disk] * 1025}], [{"disks": [disk] * 1000}] * 5):
        document = {"kind": "guestprobe-host", "schema_version": "1.0", "domains": domains}
        with pytest.raises(BadInputError, match="a join reads"):
            check_host_document(document, "host.json")
    document["domains"] = [{"disks": [disk] * 1000}] * 4  # 4,000: read
    assert len(check_host_document(document, "host.json")) == 4


# -- 7. redaction survives the join -----------------------------------------------------------
def _host_json(tmp_path, xml: str = "mixed.xml") -> "tuple[str, dict]":
    document = host_document([collect.domain_from_file(str(FIXTURES / xml))],
                             {"source": "files"}).to_dict()
    path = tmp_path / "host.json"
    path.write_text(json.dumps(document))
    return str(path), document


def _secrets(host: dict) -> "list[str]":
    """What the host's view names that a redacted bundle must not show."""
    domain = host["domains"][0]
    found = [domain["uuid"], domain["name"]]
    for disk in domain["disks"]:
        source = disk["source"]
        found += [disk["serial"], disk["wwn"], source["path"], source["name"], *source["hosts"]]
    found += [p.split(":", 1)[0] for p in host["domains"][0]["disks"][2]["source"]["hosts"]]
    found.append("iqn.2026-11.test.guestprobe:rig")
    return [s for s in found if s]


def test_a_redacted_bundle_without_its_key_is_not_joined(capsys, tmp_path):
    host, _ = _host_json(tmp_path)
    status, out, err = run_cli(capsys, "report", str(EXAMPLES / "mixed-redacted.tar.gz"),
                               "--host", host)
    assert _refused(status, err, "redacted", "--redact-key") and out == "", err
    status, out, err = run_cli(capsys, "compare", str(EXAMPLES / "mixed-redacted.tar.gz"),
                               str(EXAMPLES / "mixed.tar.gz"), "--host", host)
    assert _refused(status, err, "redacted", "--redact-key") and out == "", err


def test_a_per_bundle_random_key_is_refused_and_says_how_to_join():
    from guestprobe.host.join import host_view_for

    with pytest.raises(BadInputError, match=r"random key.*--redact-key KEY"):
        host_view_for([], {"method": "hmac-sha256", "key": "random"}, b"k", "b.tar.gz")
    assert host_view_for([{"a": 1}], None, None, "r.json") == [{"a": 1}]


def test_the_host_view_is_redacted_with_the_bundles_key(capsys, tmp_path):
    """report BUNDLE --redact-key KEY --host HOST.json: the host's serials get the bundle's very
    tokens (sda and vda now match by serial), nothing of the host's is left in the JSON, the
    terminal or the page, and no token stands beside the value it hides."""
    from guestprobe.document.model import DiskReport
    from guestprobe.host.join import guest_keys

    host, document = _host_json(tmp_path)
    bundle = str(EXAMPLES / "mixed-redacted.tar.gz")
    page = tmp_path / "page.html"
    status, out, err = run_cli(capsys, "report", "--json", bundle, "--redact-key", "example-key",
                               "--host", host)
    assert status == 0, err
    joined = json.loads(out)
    status, terminal, err = run_cli(capsys, "report", bundle, "--redact-key", "example-key",
                                    "--host", host, "--html", str(page))
    assert status == 0, err
    html = page.read_text()
    for secret in _secrets(document):
        for where, text in (("json", out), ("terminal", terminal), ("page", html)):
            assert secret not in text, (secret, where)
    join = joined["host_join"]
    assert join["host_redacted"] is True
    guest_serials = {d["name"]: guest_keys(DiskReport.from_dict(d)).serial
                     for d in joined["disks"]}
    by_serial = {m["guest_disk"]: m["key"] for m in join["matches"] if m["matched_by"] == "serial"}
    assert by_serial and all(guest_serials[g] == key for g, key in by_serial.items())
    assert not [c for c in join["conflicts"] if c["code"] == "serial_differs"]
    assert "Host view redacted with the bundle's key" in terminal
    assert "host view joined to it (--host) is redacted" in html


def test_compare_notes_say_the_host_view_was_redacted(tmp_path):
    """compare --host judges each node as _load_node does (compare refuses one bundle twice,
    and the examples hold one keyed bundle)."""
    from guestprobe.cli.report import _load_node
    from guestprobe.host.join import load_host_file

    host, document = _host_json(tmp_path)
    node = _load_node(str(EXAMPLES / "mixed-redacted.tar.gz"), b"example-key",
                      load_host_file(host))
    assert any("host view redacted with the bundle's key" in n for n in node.notes), node.notes
    assert node.notes[0].startswith("host host-")  # the domain's name, redacted
    text = json.dumps(node.report.to_dict())
    assert not [s for s in _secrets(document) if s in text]


def test_redacting_a_host_view_keeps_the_guests_tokens():
    """The mapping is derived from the key alone: the host's serial, NAA designator and IQN get
    the tokens the bundle's Redactor gives the same values."""
    from guestprobe.bundle.redact import Redactor, redact_host_domains

    key = b"k" * 16
    naa = "6001405aabbccddeeff0011223344556"
    domains = [{"name": "node1", "uuid": "0c7d3d5e-2f1a-4f51-9d5e-6a7b8c9d0e1f", "disks": [{
        "serial": "SERIAL0001", "wwn": naa, "lu_designator": "naa." + naa,
        "source": {"kind": "iscsi", "path": "/var/lib/libvirt/images/node1-fence.qcow2",
                   "name": "iqn.2026-01.com.example:fence/3", "hosts": ["192.0.2.7:3260"]},
        "reservations": {"enabled": True, "managed": False, "socket_path": "/run/node1/pr.sock"},
    }]}]
    out = redact_host_domains(domains, key)[0]
    guest = Redactor(key)
    disk = out["disks"][0]
    assert disk["serial"] == guest.token("SERIAL0001") != "SERIAL0001"
    assert disk["lu_designator"] == "naa." + guest.add_binary(bytes.fromhex(naa), 0x3).hex()
    assert disk["lu_designator"].startswith("naa.6001405") and naa not in json.dumps(out)
    guest.add_text("iqn.2026-01.com.example:fence")
    assert disk["source"]["name"] == guest.apply_text("iqn.2026-01.com.example:fence") + "/3"
    text = json.dumps(out)
    for secret in ("node1", "0c7d3d5e", "192.0.2.7", "example", "fence.qcow2"):
        assert secret not in text, secret
    assert disk["source"]["path"].startswith("/var/lib/libvirt/images/")
    assert disk["source"]["path"].endswith(".qcow2")
    assert domains[0]["disks"][0]["serial"] == "SERIAL0001"  # the input is left as it was


# -- 12. what the host view missed or contradicted --------------------------------------------
def test_scsi_hostdevs_are_host_disks(capsys):
    domain = collect.domain_from_file(str(FIXTURES / "hostdev-scsi.xml"))
    disks = {d["target_dev"]: d for d in domain["disks"]}
    assert set(disks) == {"hda", "sdc", "hostdev0", "hostdev1"}
    sg, iscsi = disks["hostdev0"], disks["hostdev1"]
    assert (sg["device"], sg["qemu_device"], sg["passthrough"], sg["scsi_address"],
            sg["controller_pci_slot"], sg["sgio"], sg["shareable"]) == (
        "hostdev", "scsi-generic", True, "0:0:4:8", "0000:00:04.0", "unfiltered", True)
    assert sg["source"]["kind"] == "scsi-host" and sg["source"]["path"] == "scsi_host2 0:0:1"
    assert (iscsi["source"]["kind"], iscsi["source"]["name"], iscsi["source"]["hosts"]) == (
        "iscsi", "iqn.2026-01.invalid.gp:fence/2", ["127.0.0.1:3260"])
    status, out, err = _host(capsys, "--xml", str(FIXTURES / "hostdev-scsi.xml"))
    assert status == 0, err
    assert "scsi-generic" in out
    assert "host_hostdev_pr_unmanaged" in out and "host_hostdev_unprivileged" not in out
    judged = host_document([domain], {"source": "files"}).to_dict()["domains"][0]
    codes = {d["target_dev"]: {v["feature"]: [r["code"] for r in v["reasons"]]
                               for v in d["verdicts"]} for d in judged["disks"]}
    assert codes["hostdev0"]["fast_recovery"] == ["host_scsi_generic"]
    assert codes["hostdev0"]["pr_fencing"][0] == "host_hostdev_pr_unmanaged"
    assert codes["hostdev1"]["pr_fencing"][0] == "host_hostdev_iscsi"
    no_sgio = copy.deepcopy(domain)
    for disk in no_sgio["disks"]:
        disk["sgio_effective"] = "filtered"
    no_sgio = host_document([no_sgio], {"source": "files"}).to_dict()["domains"][0]
    fencing = next(v for v in no_sgio["disks"][2]["verdicts"] if v["feature"] == "pr_fencing")
    assert fencing["reasons"][0]["code"] == "host_hostdev_unprivileged"


def test_a_scsi_hostdev_joins_its_guest_disk_by_scsi_address():
    from dataclasses import replace

    from guestprobe.host.join import match_domain
    from guestprobe.pipeline import rejudge

    domain = collect.domain_from_file(str(FIXTURES / "hostdev-scsi.xml"))
    # a guest with one virtio-scsi pass-through disk that names nothing but its address
    report = rejudge(str(EXAMPLES / "mixed.tar.gz"))[1]
    disk = report.disks[0]
    disk = replace(
        disk, name="sdb", hctl=None,
        transport=replace(disk.transport, kind="virtio-scsi", mode="passthrough"),
        inventory=replace(disk.inventory, hctl="2:0:4:8", serial=None, wwid=None,
                          sysfs_path="/sys/devices/pci0000:00/0000:00:04.0/"
                          "virtio1/host2/target2:0:4/2:0:4:8/block/sdb"),
        facts=replace(disk.facts, identity=replace(
            disk.facts.identity, kernel_serial=None, unit_serial_number=None,
            lu_designator=None)))
    guest = replace(report, disks=[disk])
    matches = match_domain(guest, domain)
    assert [(g.name, h.target_dev, key, value) for g, _, h, key, value in matches] == [
        ("sdb", "hostdev0", "scsi_address", "0000:00:04.0/0:4:8")]


def test_addresses_are_printed_by_their_bus(capsys):
    domain = collect.domain_from_file(str(FIXTURES / "hostdev-scsi.xml"))
    disks = {d["target_dev"]: d for d in domain["disks"]}
    assert disks["hda"]["address"] == "ide 0:0:0" and disks["hda"]["scsi_address"] is None
    assert disks["sdc"]["address"] == "sata 0 port 2" and disks["sdc"]["scsi_address"] is None
    assert disks["hostdev0"]["address"] == "scsi 0:0:4:8 @0000:00:04.0"
    mixed = {d["target_dev"]: d for d in collect.domain_from_file(
        str(FIXTURES / "mixed.xml"))["disks"]}
    assert mixed["vda"]["address"] == "pci 0000:00:05.0"
    status, out, _ = _host(capsys, "--brief", "--xml", str(FIXTURES / "hostdev-scsi.xml"))
    assert status == 0
    # at 80 columns the address stands in the disk's stacked line, by its bus
    row = next(line for line in out.splitlines() if line.strip().startswith("hda: "))
    assert "address ide 0:0:0" in row and "scsi" not in row


def test_kubevirt_volumes_without_disks_are_virtio_disks():
    document = json.loads((FIXTURES / "vm.json").read_text())
    domain = collect.load_vmi(str(FIXTURES / "vm.json"))
    disks = {d["target_dev"]: d for d in domain["disks"]}
    # cloudinit has no disk entry: a virtio disk; shared is a filesystem (virtiofs): no disk
    assert set(disks) == {"rootdisk", "fence1", "iso", "cloudinit"}
    assert (disks["cloudinit"]["bus"], disks["cloudinit"]["qemu_device"]) == (
        "virtio", "virtio-blk-pci")
    assert (disks["iso"]["bus"], disks["iso"]["qemu_device"]) == ("sata", "ide-cd")
    assert disks["fence1"]["error_policy_effective"] == "report"
    assert disks["rootdisk"]["error_policy_effective"] == "stop"  # what KubeVirt writes
    assert document["kind"] == "VirtualMachine"


def test_the_new_disks_follow_the_schema(capsys):
    jsonschema = pytest.importorskip("jsonschema")  # as test_host.py: a CI test dependency
    status, out, err = _host(capsys, "--json", "--xml", str(FIXTURES / "hostdev-scsi.xml"),
                             "--vmi", str(FIXTURES / "vm.json"))
    assert status == 0, err
    schema = json.loads((ROOT / "guestprobe" / "host" / "schema.json").read_text())
    jsonschema.validate(json.loads(out), schema)
    assert "hostdev" in schema["$defs"]["disk"]["properties"]["device"]["enum"]


def test_kubevirts_vmi_sata_example_has_its_disk():
    import yaml  # noqa: F401
    domain = collect.load_vmi(str(FIXTURES / "vmi-sata.yaml"))
    assert [(d["target_dev"], d["bus"], d["source"]["kind"]) for d in domain["disks"]] == [
        ("containerdisk", "virtio", "file")]
    assert domain["virtio_blk_count"] == 1


def test_one_truth_about_the_default_error_policy():
    """libvirt without error_policy passes no werror/rerror: QEMU's block backend defaults,
    werror=enospc and rerror=report, apply; only KubeVirt writes error_policy='stop'."""
    from guestprobe.host.domain_xml import DEFAULT_ERROR_POLICY, DEFAULT_RERROR_POLICY

    assert (DEFAULT_ERROR_POLICY, DEFAULT_RERROR_POLICY) == ("enospc", "report")
    texts = {str(p.relative_to(CHECKS)): p.read_text()
             for p in [*CHECKS.glob("*.toml"), *CHECKS.glob("host/*.toml")]}
    for name, text in texts.items():
        assert "libvirt's default is error_policy='stop'" not in text, name
        assert "libvirt's default error_policy='stop'" not in text, name
    remedies = texts["_remedies.toml"]
    remedy = remedies[remedies.index("[remedy.libvirt_error_policy_report]"):]
    remedy = remedy[:remedy.index("[remedy.", 10)]
    guest_note = texts["pr_fencing.toml"]
    guest_note = guest_note[guest_note.index('code = "error_policy_stop_pauses_guest"'):]
    guest_note = guest_note[:guest_note.index("\n[[")]
    for text in (remedy, guest_note):
        assert "werror=enospc" in text and "rerror=report" in text, text
    domain = collect.domain_from_file(str(FIXTURES / "mixed.xml"))
    unset = [d for d in domain["disks"] if d["error_policy"] is None]
    assert unset and all((d["error_policy_effective"], d["rerror_policy_effective"]) == (
        "enospc", "report") for d in unset)
