"""The cluster rig (``cluster_rig.py``): three guests, one tgt target, ansible/ from the host.

One boot for the module: ``cluster.yml`` (install into a venv, collect, compare), a refused
``fencing.yml`` (node 3 has the data LU mounted), the real cross-node ``fencing.yml`` on a
coordinator LU, then every backing image must be unchanged.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from .cluster_rig import COORDINATOR_LUNS, NODES, SERIALS, ClusterRig
from .rig import REPO

pytestmark = pytest.mark.vm


def _compare_has_fail_on() -> bool:
    """compare --fail-on comes with issue 20's other half (the lead merges both); until then
    the playbook is run without it and everything else is still checked."""
    proc = subprocess.run([sys.executable, "-m", "guestprobe", "compare", "--help"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    return "--fail-on" in proc.stdout


@pytest.fixture(scope="module")
def cluster():
    rig = ClusterRig(keep=os.environ.get("RIG_KEEP") == "1")
    try:
        yield rig.start()
    finally:
        rig.close()


@pytest.fixture(scope="module")
def report(cluster):
    """cluster.yml, the README's command, and the bundles it fetched."""
    fail_on = "not_usable" if _compare_has_fail_on() else ""
    proc = cluster.playbook("cluster.yml", {"guestprobe_install": "venv",
                                            "guestprobe_fail_on": fail_on})  # fmt: skip
    bundles = cluster.run_dir / "results" / "bundles"
    compared = subprocess.run(
        [sys.executable, "-m", "guestprobe", "compare", "--json",
         *sorted(str(p) for p in bundles.glob("*.tar.gz"))],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    return proc, json.loads(compared.stdout or "null"), fail_on


def _lu_of(cluster, serial: str) -> str:
    """The designator of the LU with VPD 0x80 ``serial``, from node 1's bundle."""
    import tarfile

    with tarfile.open(cluster.run_dir / "results" / "bundles" / "node1.tar.gz") as bundle:
        document = json.load(bundle.extractfile("report.json"))
    for disk in document["disks"]:
        if disk["facts"]["identity"].get("unit_serial_number") == serial:
            return disk["facts"]["identity"]["lu_designator"]
    raise AssertionError(f"no disk with serial {serial} in node1's bundle")


def _dev_of(cluster, node: str, serial: str) -> str:
    import tarfile

    with tarfile.open(cluster.run_dir / "results" / "bundles" / f"{node}.tar.gz") as bundle:
        document = json.load(bundle.extractfile("report.json"))
    return next(d["dev_path"] for d in document["disks"]
                if d["facts"]["identity"].get("unit_serial_number") == serial)  # fmt: skip


def test_cluster_yml_collects_every_node_and_compares_them(cluster, report):
    proc, compared, _fail_on = report
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    results = cluster.run_dir / "results"
    assert sorted(p.name for p in (results / "bundles").iterdir()) == [
        f"node{n}.tar.gz" for n in range(1, NODES + 1)
    ]
    text = (results / "cluster.txt").read_text()
    assert "node1" in text and "node3" in text, text
    assert (results / "cluster.html").read_text().lstrip().lower().startswith("<!doctype html")
    # every tgt LU is seen by all three nodes under one designator, PR-capable from each
    designators = {_lu_of(cluster, serial) for serial in SERIALS.values()}
    assert len(designators) == len(SERIALS)
    assert compared is not None
    lus = {lu["lu_designator"]: lu for lu in compared["logical_units"]}
    for designator in designators:
        assert lus[designator]["seen_by"] == [f"node{n}" for n in range(1, NODES + 1)]
        assert lus[designator]["pr_capable_from_all"] == "yes"
    assert compared["coordinator_disks"]["enough"] is True
    assert sorted(compared["coordinator_disks"]["candidates"]) == sorted(designators)


@pytest.fixture(scope="module")
def refused(cluster, report):
    """fencing.yml on the data LU while node 3 has it mounted (read-only)."""
    data = _lu_of(cluster, SERIALS[4])
    node3 = cluster.nodes[2]
    dev = _dev_of(cluster, "node3", SERIALS[4])
    mounted = cluster.ssh(node3, f"mkdir -p /tmp/data && mount -t ext2 -o ro {dev} /tmp/data")
    assert mounted.returncode == 0, mounted.stderr
    run_id = secrets.token_hex(5)
    try:
        proc = cluster.playbook("fencing.yml", {"fencing_lu": data, "fencing_confirm": True,
                                                "fencing_run_id": run_id,
                                                "guestprobe_install": "venv"})  # fmt: skip
    finally:
        cluster.ssh(node3, "umount /tmp/data")
    return proc, _fencing_results(cluster, run_id)


@pytest.fixture(scope="module")
def fenced(cluster, refused):
    """fencing.yml on coordinator LU 1: node1 reserves and preempts node2."""
    run_id = secrets.token_hex(5)
    lu = _lu_of(cluster, SERIALS[COORDINATOR_LUNS[0]])
    proc = cluster.playbook("fencing.yml", {"fencing_lu": lu, "fencing_confirm": True,
                                            "fencing_run_id": run_id,
                                            "guestprobe_install": "venv"})  # fmt: skip
    return proc, _fencing_results(cluster, run_id)


def _fencing_results(cluster, run_id: str):
    folder = cluster.run_dir / "results" / "fencing"
    verdict = folder / f"{run_id}.json"
    document = json.loads(verdict.read_text()) if verdict.exists() else None
    records = [json.loads(line) for path in sorted((folder / run_id).glob("*.jsonl"))
               for line in path.read_text().splitlines()]  # fmt: skip
    return document, records


def test_a_node_with_the_lu_mounted_refuses_and_nothing_is_sent(refused):
    proc, (document, records) = refused
    assert proc.returncode != 0
    assert document is not None, proc.stdout[-4000:]
    assert document["verdict"]["code"] == "refused", document["verdict"]
    assert [(r["host"], r["code"]) for r in document["refusals"]] == [("node3", "in_use_mounted")]
    assert sorted(r["step"] for r in records) == sorted(["preflight", "cleanup", "status"] * 3)
    sent = [step["argv"] for record in records for step in record["steps"]]
    assert not any("--out" in argv or argv[0] == "sg_raw" for argv in sent), sent
    assert document["cleanup"]["verified"] is True


def test_the_preempted_node_is_fenced_off_and_nothing_is_left(fenced):
    proc, (document, records) = fenced
    assert document is not None, proc.stdout[-4000:]
    # tgt 1.0.85 refuses PREEMPT AND ABORT (ILLEGAL REQUEST): PREEMPT is used and the verdict
    # (and the play) says so; everything else must have passed
    assert document["verdict"]["code"] == "preempt_abort_unsupported", document["verdict"]
    assert proc.returncode != 0
    rows = {(row["host"], row["step"], row["id"]): row for row in document["rows"]}
    assert rows[("node1", "preempt", "preempt_abort")]["exit_status"] == 5
    assert rows[("node1", "preempt", "preempt")]["exit_status"] == 0
    assert all(row["status"] in ("pass", "unsupported") for row in document["rows"]), rows
    proof = document["fence_proof"]
    assert proof["result"] == "proven"
    answers = {(row["host"], row["step"], row["id"]): row for row in document["rows"]}
    refused = answers[("node2", "prove-read", "proof_read")]
    accepted = answers[("node1", "exclusive", "proof_read")]
    assert (refused["exit_status"], accepted["exit_status"]) == (24, 0)
    # tgt checks SYNCHRONIZE CACHE against Write Exclusive (issue 20's table)
    assert answers[("node2", "prove-write", "proof_sync_cache")]["exit_status"] == 24
    assert answers[("node2", "prove-write", "read_keys")]["attempts"] == 2  # the UNIT ATTENTION
    views = list(document["views"].values())
    assert len(views) == NODES and all(view == views[0] for view in views)
    assert len(views[0]["keys"]) == NODES
    status = [r for r in records if r["step"] == "status"]
    assert len(status) == NODES
    for record in status:
        keys = next(s for s in record["steps"] if s["id"] == "read_keys")["observed"]
        held = next(s for s in record["steps"] if s["id"] == "read_reservation")["observed"]
        assert (keys["keys"], held["reservation"]) == ([], None), record["host"]
    assert document["cleanup"] == {"verified": True, "leftovers": []}
    for row in document["rows"]:  # nothing but PR commands, READ(10) and SYNCHRONIZE CACHE(10)
        argv = row["command"].split()
        assert argv[0] == "sg_persist" or argv[-10] in ("28", "35"), row


def test_every_backing_image_is_unchanged(cluster, fenced):
    cluster.close()
    assert cluster.checksums_before == cluster.checksums_after
    assert len(cluster.checksums_before) == len(SERIALS)
    for name, seconds in sorted(cluster.timings.items()):
        print(f"cluster rig {name}: {seconds} s")
    for node in cluster.nodes:
        print(f"cluster rig {node.name}: ssh after {node.ready_s} s, exit {node.exit_status}")
    assert all(node.exit_status == 0 for node in cluster.nodes)
    assert Path(cluster.run_dir).name.startswith("cluster-")
