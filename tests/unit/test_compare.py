"""The cluster comparison on the reports of two and three nodes."""


import copy
import functools
from pathlib import Path

import pytest

from guestprobe import pipeline
from guestprobe.bundle import compare
from guestprobe.bundle.compare import NodeReport, render_comparison, report_fingerprint
from guestprobe.check import cluster
from guestprobe.check.cluster import judge_coordinator_disks
from guestprobe.document.model import DiskReport, Report
from guestprobe.errors import BadInputError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

LU_A = "naa.6001405aaaaaaaaaaaaaaaaaaaaaaaaa"
LU_B = "naa.6001405bbbbbbbbbbbbbbbbbbbbbbbbb"
LU_C = "naa.6001405ccccccccccccccccccccccccc"
LU_D = "naa.6001405ddddddddddddddddddddddddd"


def _disk(name: str, lu: "str | None", keys: str = "ok", fencing: "str | None" = None) -> dict:
    verdicts = []
    if fencing:
        verdicts.append({"feature": "pr_fencing", "title": "I/O fencing with SCSI-3 PR",
                         "status": fencing, "reasons": [], "evidence": []})
    return {
        "name": name,
        "size_bytes": 1 << 30,
        "facts": {
            "identity": {"vendor": "LIO-ORG", "product": "disk", "lu_designator": lu},
            "persistent_reservations": {"read_keys_outcome": keys},
        },
        "inventory": {"name": name},
        "probes": [],
        "verdicts": verdicts,
    }


@functools.lru_cache(maxsize=None)
def _template() -> "dict":
    """A whole judged report (an example's) whose first disk every test disk starts from."""
    return pipeline.rejudge(str(EXAMPLES / "two-paths.tar.gz"))[1].to_dict()


def _merged(base: "dict", part: "dict") -> "dict":
    """``base`` with ``part``'s values, object by object."""
    out = dict(base)
    for key, value in part.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = _merged(base[key], value) if both and value else value
    return out


def _typed_disk(disk: "dict") -> "DiskReport":
    """A test disk (the facts it cares about) as a whole typed disk: the template's, with no
    PR facts and no verdicts but those given."""
    base = copy.deepcopy(_template()["disks"][0])
    base["facts"]["persistent_reservations"].update(
        keys=None, reservation=None, veritas_keys=[], registered_key_count=None)
    base["facts"]["pr_full_status"] = {"decoded": None, "outcome": None, "evidence": []}
    base["probes"] = []
    return DiskReport.from_dict(_merged(base, dict(disk, inventory=base["inventory"])))


def _typed(document: "dict") -> "Report":
    whole = dict(_template(), disks=[], platform=dict(
        _template()["platform"], hostname=document["platform"]["hostname"]))
    report = Report.from_dict(whole)
    report.disks = [_typed_disk(disk) for disk in document["disks"]]
    return report


def _node(host: "str | None", disks: "list[dict]", source: "str | None" = None) -> "NodeReport":
    document = {
        "schema_version": "1.0",
        "platform": {"hostname": host},
        "scan": {"started_at": "2026-11-28T02:00:00+00:00"},
        "disks": disks,
    }
    return NodeReport(source or f"{host}.json", _typed(document), report_fingerprint(document))


def compare_nodes(nodes: "list[NodeReport]", cluster_id: "int | None" = None) -> "dict":
    """The comparison as ``compare --json`` prints it (render_comparison reads it back)."""
    return compare.compare_nodes(nodes, cluster_id).to_dict()


def path_pr_state(disk: "dict") -> "dict":
    return cluster.path_pr_state(_typed_disk(disk)).to_dict()


def test_two_nodes_one_lu_missing_on_one():
    first = _node("node1", [_disk("sdb", LU_A), _disk("sdc", LU_B), _disk("vda", None, "skipped")])
    second = _node("node2", [_disk("sdc", LU_A)])
    result = compare_nodes([first, second])
    rows = {row["lu_designator"]: row for row in result["logical_units"]}
    assert rows[LU_A]["seen_by"] == ["node1", "node2"]
    assert rows[LU_A]["pr_capable_from_all"] == "yes"
    assert rows[LU_B]["missing_from"] == ["node2"]
    assert rows[LU_B]["pr_capable_from_all"] == "no"
    assert result["missing_by_node"] == {"node1": [], "node2": [LU_B]}
    assert result["disks_without_designator"] == {"node1": ["vda"]}
    assert result["coordinator_disks"]["enough"] is False
    assert result["coordinator_disks"]["candidate_count"] == 1
    text = render_comparison(result)
    assert "node2 does not see: " + LU_B in text
    assert "Coordinator disks: NOT ENOUGH" in text
    assert "sdc:PR" in text


def test_three_nodes_three_shared_pr_capable_lus_make_enough_coordinators():
    shared = [LU_A, LU_B, LU_C]
    nodes = [
        _node("node1", [_disk(f"sd{c}", lu) for c, lu in zip("bcd", shared)]),
        _node("node2", [_disk(f"sd{c}", lu) for c, lu in zip("dcb", shared)]),
        _node("node3", [*[_disk(f"sd{c}", lu) for c, lu in zip("bcd", shared)],
                        _disk("sde", LU_D)]),
    ]
    result = compare_nodes(nodes)
    coordinator = result["coordinator_disks"]
    assert coordinator["candidates"] == shared
    assert coordinator["largest_odd_set"] == 3
    assert coordinator["enough"] is True
    rows = {row["lu_designator"]: row for row in result["logical_units"]}
    assert rows[LU_D]["missing_from"] == ["node1", "node2"]
    assert "Coordinator disks: OK: 3 LUs" in render_comparison(result)


def test_four_shared_lus_hold_three_coordinators():
    lus = [LU_A, LU_B, LU_C, LU_D]
    nodes = [_node(h, [_disk(f"sd{i}", lu) for i, lu in enumerate(lus)]) for h in ("n1", "n2")]
    coordinator = compare_nodes(nodes)["coordinator_disks"]
    assert (coordinator["candidate_count"], coordinator["largest_odd_set"]) == (4, 3)


def test_pr_capable_needs_every_node_and_every_path():
    # node2 reaches LU_A through two paths; PR IN fails on one of them (a QEMU-emulated path)
    nodes = [
        _node("node1", [_disk("sdb", LU_A), _disk("sdc", LU_B), _disk("sdd", LU_C)]),
        _node("node2", [_disk("sdb", LU_A), _disk("sdf", LU_A, "not_supported"),
                        _disk("sdc", LU_B), _disk("sdd", LU_C)]),
    ]
    result = compare_nodes(nodes)
    rows = {row["lu_designator"]: row for row in result["logical_units"]}
    assert rows[LU_A]["pr_capable_by_node"] == {"node1": "yes", "node2": "no"}
    assert result["coordinator_disks"]["enough"] is False
    assert "sdf:noPR(not_supported)" in render_comparison(result)


def test_fencing_verdicts_count_where_present():
    assert path_pr_state(_disk("sdb", LU_A))["pr_capable"] == "yes"
    assert path_pr_state(_disk("sdb", LU_A, fencing="usable"))["pr_capable"] == "yes"
    assert path_pr_state(_disk("sdb", LU_A, fencing="degraded"))["pr_capable"] == "yes"
    assert path_pr_state(_disk("sdb", LU_A, fencing="not_usable"))["pr_capable"] == "no"
    assert path_pr_state(_disk("sdb", LU_A, fencing="unknown"))["pr_capable"] == "unknown"
    assert path_pr_state(_disk("sdb", LU_A, keys="timed_out"))["pr_capable"] == "no"


def test_unknown_verdicts_are_not_counted_but_named():
    lus = [LU_A, LU_B, LU_C]
    nodes = [
        _node("n1", [_disk(f"sd{i}", lu) for i, lu in enumerate(lus)]),
        _node("n2", [_disk("sd0", LU_A), _disk("sd1", LU_B),
                     _disk("sd2", LU_C, fencing="unknown")]),
    ]
    result = compare_nodes(nodes)
    rows = {row["lu_designator"]: row for row in result["logical_units"]}
    assert rows[LU_C]["pr_capable_by_node"] == {"n1": "yes", "n2": "unknown"}
    assert rows[LU_C]["pr_capable_from_all"] == "unknown"
    coordinator = result["coordinator_disks"]
    assert (coordinator["candidate_count"], coordinator["unconfirmed"]) == (2, [LU_C])
    assert "1 more seen by all may be: their PR verdict" in coordinator["reason"]
    assert "sd2:PR?" in render_comparison(result)


def test_same_node_twice_is_refused():
    with pytest.raises(BadInputError, match="both come from node node1"):
        compare_nodes([_node("node1", [_disk("sdb", LU_A)]),
                       _node("node1", [_disk("sdc", LU_A)], source="again.json")])
    same = _node(None, [_disk("sdb", LU_A)], source="a.json")
    copy = _node(None, [_disk("sdb", LU_A)], source="b.json")
    with pytest.raises(BadInputError, match=r"a\.json are the same report"):
        compare_nodes([same, copy])


@pytest.mark.parametrize(
    ("count", "code", "largest_odd_set"),
    [(0, "too_few_coordinator_disks", 0), (2, "too_few_coordinator_disks", 1),
     (3, "coordinator_disks_enough", 3), (4, "coordinator_disks_enough", 3)],
)
def test_coordinator_disk_judgement_has_a_stable_code(count, code, largest_odd_set):
    judged = judge_coordinator_disks([f"naa.{n}" for n in range(count)], [])
    assert (judged.code, judged.largest_odd_set, judged.enough) == (
        code, largest_odd_set, code == "coordinator_disks_enough"
    )
