"""The example bundles in examples/ (collected in the real-guest rig) stay readable and judged."""


import json
from pathlib import Path

import pytest
from test_bundle_cli import run_cli

from guestprobe import pipeline
from guestprobe.bundle.archive import read_bundle
from guestprobe.errors import ExitStatus

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TGT_LU = "naa.60000000000000000e00000000010001"


def _report(capsys, name: str) -> dict:
    status, out, err = run_cli(capsys, "report", "--json", str(EXAMPLES / name))
    assert status == 0, err
    return json.loads(out)


def _transports(document: dict) -> "dict[str, tuple]":
    return {d["name"]: (d["transport"]["kind"], d["transport"]["mode"]) for d in document["disks"]}


def _verdict(disk: dict, feature: str) -> str:
    return next(v["status"] for v in disk["verdicts"] if v["feature"] == feature)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.tar.gz")), ids=lambda p: p.name)
def test_every_example_is_a_valid_bundle(path):
    bundle = read_bundle(path.read_bytes(), path.name)
    assert bundle.report["scan"]["complete"] is True
    assert bundle.versions["sg3_utils"]["release"] == "1.46"


def _judgement(document: dict) -> list:
    """Every verdict's feature, status and reason codes (its sentences may be reworded)."""
    def codes(verdicts: list) -> list:
        return [(v["feature"], v["status"], [r["code"] for r in v["reasons"]]) for v in verdicts]

    return [(d["name"], codes(d["verdicts"])) for d in document["disks"]] + [
        ("guest", codes(document["guest_verdicts"]))
    ]


# Verdicts a rule changed on purpose after the examples were collected: (disk, feature, stored,
# judged now). Two paths of one LU inside one guest are multipathing, not sharing: host_cache
# no longer calls two-paths' LU "shared" (checks/host_cache.toml).
RULE_CHANGES_SINCE_COLLECTION = {
    "two-paths.tar.gz": [
        (disk, "host_cache", ("host_cache", "degraded", ["shared_disk_host_cache"]),
         ("host_cache", "usable", ["guest_sees_write_back"])) for disk in ("sda", "sdb")
    ],
}
RULES_NEWER_THAN_THE_EXAMPLES = {"raw_io"}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.tar.gz")), ids=lambda p: p.name)
def test_an_example_judged_again_keeps_its_stored_verdicts(path):
    """The pipeline's re-judgement of a bundle (``report``) against the report stored in it at
    collection: the same statuses and reason codes, the same LUs, platform and scan."""
    original, judged, manifest = pipeline.rejudge(str(path))
    document = judged.to_dict()
    assert manifest is not None
    # a rule newer than the examples adds its verdict; every stored one stays as it was
    document["guest_verdicts"] = [v for v in document["guest_verdicts"]
                                  if v["feature"] not in RULES_NEWER_THAN_THE_EXAMPLES]
    stored = _judgement(original)
    for disk, feature, old, new in RULE_CHANGES_SINCE_COLLECTION.get(path.name, ()):
        verdicts = dict(stored)[disk]
        index = next(i for i, v in enumerate(verdicts) if v[0] == feature)
        assert verdicts[index] == old  # the example still shows what the rule changed
        verdicts[index] = new
    assert _judgement(document) == stored
    assert len(_judgement(document)) > 1
    for key in ("logical_units", "platform", "scan", "schema_version"):
        assert document[key] == original[key], key


def test_mixed_guest(capsys):
    document = _report(capsys, "mixed.tar.gz")
    assert document["platform"]["hostname"] == "node2"
    assert sorted(_transports(document).values(), key=str) == sorted(
        [("virtio-blk", None), ("virtio-scsi", "emulated"), ("virtio-scsi", "passthrough")],
        key=str,
    )
    by_kind = {(d["transport"]["kind"], d["transport"]["mode"]): d for d in document["disks"]}
    assert _verdict(by_kind[("virtio-blk", None)], "pr_fencing") == "not_usable"
    assert _verdict(by_kind[("virtio-scsi", "passthrough")], "pr_fencing") == "usable"
    status, table, _ = run_cli(capsys, "report", str(EXAMPLES / "mixed.tar.gz"))
    assert status == 0 and TGT_LU in table


def test_two_paths_group_as_one_lu(capsys):
    document = _report(capsys, "two-paths.tar.gz")
    assert [(g["lu_designator"], g["path_count"]) for g in document["logical_units"]] == [
        (TGT_LU, 2)
    ]


def test_sata_and_nvme(capsys):
    document = _report(capsys, "sata-nvme.tar.gz")
    kinds = sorted(kind for kind, _ in _transports(document).values())
    assert kinds == ["ata", "nvme", "virtio-scsi"]  # the third: tgt LUN 2, thin-provisioned
    thin = {d["transport"]["kind"]: _verdict(d, "thin_reclaim") for d in document["disks"]}
    assert thin == {"ata": "not_usable", "nvme": "not_usable", "virtio-scsi": "usable"}


def test_foreign_reservation_belongs_to_another_veritas_node(capsys):
    """The LU is held with node 3's VxFEN key (VF1A2B03): in use by that Veritas cluster."""
    (disk,) = _report(capsys, "foreign-reservation.tar.gz")["disks"]
    assert _verdict(disk, "pr_fencing") == "degraded"
    fencing = next(v for v in disk["verdicts"] if v["feature"] == "pr_fencing")
    assert fencing["reasons"][0]["code"] == "reserved_by_veritas_cluster"
    (veritas,) = disk["facts"]["persistent_reservations"]["veritas_keys"]
    assert (veritas["ascii"], veritas["cluster_id"], veritas["node_id"]) == ("VF1A2B03", 6699, 3)


def test_redacted_example_hides_identifiers_and_still_judges(capsys):
    plain = _report(capsys, "mixed.tar.gz")
    redacted = _report(capsys, "mixed-redacted.tar.gz")
    text = json.dumps(redacted)
    for secret in ("node2", "VBLKSER01", "SHDSER01", "beaf", "0e00000000010001"):
        assert secret not in text
    assert sorted(_transports(redacted).values(), key=str) == sorted(
        _transports(plain).values(), key=str
    )
    statuses = sorted(
        (d["transport"]["kind"], str(d["transport"]["mode"]), v["feature"], v["status"])
        for d in redacted["disks"]
        for v in d["verdicts"]
    )
    assert statuses == sorted(
        (d["transport"]["kind"], str(d["transport"]["mode"]), v["feature"], v["status"])
        for d in plain["disks"]
        for v in d["verdicts"]
    )


def test_the_redacted_example_verifies_with_its_key_only(capsys):
    """mixed-redacted.tar.gz was collected with --redact-key example-key: its manifest's MAC
    verifies with that key, and another key (or none where one is asked for) is refused."""
    bundle = str(EXAMPLES / "mixed-redacted.tar.gz")
    data = (EXAMPLES / "mixed-redacted.tar.gz").read_bytes()
    assert read_bundle(data, bundle, b"example-key").verified
    status, out, err = run_cli(capsys, "report", "--json", bundle, "--redact-key", "example-key")
    assert status == 0 and json.loads(out)["disks"], err
    status, _, err = run_cli(capsys, "report", bundle, "--redact-key", "another-key")
    assert status == 8 and "MAC does not match" in err and err.count("\n") == 1, err
    status, _, err = run_cli(capsys, "report", str(EXAMPLES / "mixed.tar.gz"),
                             "--redact-key", "example-key")
    assert status == 8 and "carries no MAC" in err, err  # the plain example has none


def test_compare_the_example_nodes(capsys):
    nodes = [str(EXAMPLES / n) for n in ("two-paths.tar.gz", "mixed.tar.gz", "sata-nvme.tar.gz")]
    status, out, _ = run_cli(capsys, "compare", "--json", *nodes)
    assert status == 0
    result = json.loads(out)
    row, thin = result["logical_units"]  # node3's thin tgt LUN 2 is seen by node3 only
    assert (thin["lu_designator"], thin["seen_by"]) == (TGT_LU[:-1] + "2", ["node3"])
    assert row["lu_designator"] == TGT_LU
    assert row["seen_by"] == ["node1", "node2"] and row["missing_from"] == ["node3"]
    assert [p["disk"] for p in row["paths"]["node1"]] == ["sda", "sdb"]
    assert row["pr_capable_by_node"] == {"node1": "yes", "node2": "yes"}
    assert result["coordinator_disks"]["enough"] is False
    foreign = [*nodes[:2], str(EXAMPLES / "foreign-reservation.tar.gz")]
    status, out, _ = run_cli(capsys, "compare", "--json", *foreign)
    (row,) = json.loads(out)["logical_units"]
    assert row["seen_by_all"] is True
    # held by a Veritas node's key: PR works (degraded, not refused), but whose cluster holds it
    # is unknown without --cluster-id: a candidate that may be, not a sure one
    assert row["pr_capable_by_node"]["node4"] == "yes"
    coordinator = json.loads(out)["coordinator_disks"]
    assert (coordinator["candidates"], coordinator["unconfirmed"]) == ([], [TGT_LU])
    status, out, _ = run_cli(capsys, "compare", "--json", "--cluster-id", "6699", *foreign)
    assert json.loads(out)["coordinator_disks"]["candidates"] == [TGT_LU]
    status, out, _ = run_cli(capsys, "compare", "--json", "--cluster-id", "7", *foreign)
    assert [v["code"] for v in json.loads(out)["cluster_verdicts"]] == [
        "lu_foreign_keys", "too_few_coordinator_disks"]


def test_compare_names_the_holder_and_fails_on_too_few_coordinators(capsys, tmp_path):
    """The examples' three nodes: node4 reads a reservation of Veritas cluster 6699, node 3
    (VF1A2B03) on the LU all three see; the text, the JSON and the page name it, and --fail-on
    turns "Coordinator disks: NOT ENOUGH" into exit 1."""
    from reportpages import PageText

    nodes = [str(EXAMPLES / n) for n in
             ("two-paths.tar.gz", "mixed.tar.gz", "foreign-reservation.tar.gz")]
    page = tmp_path / "compare.html"
    status, text, _ = run_cli(capsys, "compare", *nodes, "--html", str(page))
    assert status == 0 and "Coordinator disks: NOT ENOUGH" in text
    row = next(line for line in text.splitlines() if line.startswith(TGT_LU))
    assert "sdb:PR/held:VF1A2B03" in row and "VF1A2B03: cluster 6699, node 3 (from node4)" in row
    shown = PageText(page.read_text()).text
    assert "VF1A2B03: cluster 6699, node 3 (from node4)" in shown
    assert "held by VF1A2B03: cluster 6699, node 3" in shown
    status, out, _ = run_cli(capsys, "compare", "--json", *nodes)
    (holder,) = json.loads(out)["logical_units"][0]["holders"]
    assert (holder["label"], holder["cluster"], holder["node"], holder["seen_from"]) == (
        "VF1A2B03", "6699", "3", ["node4"])
    for fail_on in ("not_usable", "unknown", "degraded"):
        status, out, _ = run_cli(capsys, "compare", *nodes, "--fail-on", fail_on)
        assert status == ExitStatus.FAIL_ON and "NOT ENOUGH" in out
    sata = [*nodes[:2], str(EXAMPLES / "sata-nvme.tar.gz")]
    status, out, _ = run_cli(capsys, "compare", *sata, "--fail-on", "not_usable")
    assert status == ExitStatus.FAIL_ON
    row = next(line for line in out.splitlines() if line.startswith(TGT_LU))
    assert row.split()[-3:] == ["NO", "yes", "none"]  # not seen by node3; PR where seen: yes
