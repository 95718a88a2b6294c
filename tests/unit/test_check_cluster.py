"""The cluster verdict (check/cluster.py) as compare builds it: per LU who sees it, whether it is
PR-capable where seen, who holds it, whose keys are on it, and which nodes cannot fence each
other because one initiator serves them."""


import struct

from test_compare import LU_A, LU_B, LU_C, _disk, _node, compare_nodes

from guestprobe.bundle.compare import render_comparison
from guestprobe.check.cluster import LU_CODES
from guestprobe.document.host import HostJoin, JoinedDisk

VF = {n: b"VF1A2B0" + str(n).encode() for n in range(10)}


def _held(disk: dict, holder: "bytes | None", keys: "list[bytes]" = ()) -> dict:
    """``disk`` whose READ KEYS lists ``keys`` (and the holder) and READ RESERVATION ``holder``."""
    pr = disk["facts"]["persistent_reservations"]
    keys = list(keys) + ([holder] if holder and holder not in keys else [])
    pr["keys"] = {"generation": 1, "keys": [int(k.hex(), 16) for k in keys],
                  "keys_hex": [k.hex() for k in keys], "truncated": False}
    pr["reservation"] = {"generation": 1, "truncated": False, "reservation": None
                         if holder is None else {
        "key": int(holder.hex(), 16), "key_hex": holder.hex(), "scope": 0, "scope_name": "lu",
        "type_code": 6, "type_name": "write_exclusive_registrants_only"}}
    return disk


def _full_status(disk: dict, *registrations: "tuple[bytes, str, str]") -> dict:
    """READ FULL STATUS facts: (key, iSCSI name, ISID) per registration."""
    disk["facts"]["pr_full_status"] = {"outcome": "ok", "evidence": [], "decoded": {
        "generation": 1, "truncated": False, "registrations": [
            {"key": int(key.hex(), 16), "key_hex": key.hex(), "reservation_holder": False,
             "all_tg_pt": False, "scope": None, "type_code": None, "type_name": None,
             "relative_target_port": 1,
             "transport_id": {"protocol_id": 5, "protocol": "iscsi", "format_code": 0,
                              "initiator": name, "isid": isid, "raw_hex": ""}}
            for key, name, isid in registrations]}}
    return disk


def _codes(result: dict, lu: "str | None" = None) -> "list[str]":
    return [v["code"] for v in result["cluster_verdicts"] if lu is None or v["lu_designator"] == lu]


def test_every_lu_code_is_stable_and_documented():
    from guestprobe.check import cluster

    for code in LU_CODES:
        assert f"``{code}``" in cluster.__doc__


def test_seen_by_all_and_pr_capable_where_seen_are_two_answers():
    """LU_B is PR-capable from both nodes that see it, and not seen by node3: the old single
    column said 'PR from all: NO'; now it is 'seen by all: NO', 'PR where seen: yes'."""
    nodes = [_node("n1", [_disk("sdb", LU_A), _disk("sdc", LU_B)]),
             _node("n2", [_disk("sdb", LU_A), _disk("sdc", LU_B)]),
             _node("n3", [_disk("sdb", LU_A)])]
    result = compare_nodes(nodes)
    rows = {row["lu_designator"]: row for row in result["logical_units"]}
    assert (rows[LU_B]["seen_by_all"], rows[LU_B]["pr_capable_where_seen"]) == (False, "yes")
    assert _codes(result, LU_B) == ["lu_not_seen_by_all"]
    line = next(li for li in render_comparison(result).splitlines() if li.startswith(LU_B))
    assert line.split()[-3:] == ["NO", "yes", "-"]  # - : no node read a reservation


def test_two_paths_inside_one_node_are_not_shared():
    """node1's two paths to LU_A count once: LU_A is seen by one node, so it gets no cluster
    verdict, and a lone node's LU is neither shared nor 'not seen by all'."""
    result = compare_nodes([_node("n1", [_disk("sdb", LU_A), _disk("sdc", LU_A)]),
                            _node("n2", [_disk("sdb", LU_B)])])
    rows = {row["lu_designator"]: row for row in result["logical_units"]}
    assert rows[LU_A]["seen_by"] == ["n1"] and len(rows[LU_A]["paths"]["n1"]) == 2
    assert _codes(result, LU_A) == []


def test_the_holder_is_named_and_whose_keys_decides_the_candidate():
    lus = [LU_A, LU_B, LU_C]

    def nodes():
        return [_node(h, [_held(_disk(f"sd{i}", lu), VF[3] if lu == LU_A else None)
                          for i, lu in enumerate(lus)]) for h in ("n1", "n2", "n3")]

    unknown = compare_nodes(nodes())
    row = unknown["logical_units"][0]
    assert row["holders"][0]["holder_text"] == "VF1A2B03: cluster 6699, node 3"
    assert row["use"]["code"] == "lu_veritas_keys_cluster_unknown"
    assert unknown["coordinator_disks"]["unconfirmed"] == [LU_A]
    assert "VF1A2B03: cluster 6699, node 3" in render_comparison(unknown)
    own = compare_nodes(nodes(), cluster_id=6699)
    assert own["logical_units"][0]["use"]["code"] == "lu_own_cluster_keys"
    assert own["coordinator_disks"]["enough"] is True
    other = compare_nodes(nodes(), cluster_id=7)
    assert _codes(other, LU_A) == ["lu_foreign_keys"]
    assert other["coordinator_disks"]["candidates"] == [LU_B, LU_C]
    fence_scsi = struct.pack(">Q", 0x7AB20002)
    foreign = compare_nodes([_node(h, [_held(_disk("sdb", LU_A), fence_scsi)])
                             for h in ("n1", "n2")], cluster_id=6699)
    assert _codes(foreign, LU_A) == ["lu_foreign_keys"]
    assert "0x7ab20002: cluster hash 7ab2, node 2" in foreign["cluster_verdicts"][0]["text"]


def test_full_status_shows_two_nodes_behind_one_initiator():
    host_iqn, own = "iqn.2008-11.org.linux-kvm", "iqn.2026-01.example:n3"
    shared = [(VF[0], host_iqn, "23d000000001"), (VF[1], host_iqn, "23d000000002"),
              (VF[2], own, None)]
    nodes = [_node(h, [_full_status(_held(_disk("sdb", LU_A), None, [VF[0], VF[1], VF[2]]),
                                    *shared)]) for h in ("n1", "n2", "n3")]
    result = compare_nodes(nodes, cluster_id=6699)
    (verdict,) = [v for v in result["cluster_verdicts"] if v["code"] == "nodes_share_initiator"]
    assert verdict["status"] == "not_usable" and "nodes 0, 1 (cluster 6699)" in verdict["text"]
    assert f"iscsi {host_iqn}" in verdict["text"]
    # each node behind its own initiator (two paths of one node: one key, two sessions): fine
    apart = [(VF[0], "iqn.a", "1"), (VF[0], "iqn.a", "2"), (VF[1], "iqn.b", None)]
    nodes = [_node(h, [_full_status(_held(_disk("sdb", LU_A), None, [VF[0], VF[1]]), *apart)])
             for h in ("n1", "n2")]
    assert "nodes_share_initiator" not in _codes(compare_nodes(nodes, cluster_id=6699))


def _on_host(node, host: str, kind: str = "iscsi-block", socket: "str | None" = None):
    node.host = host
    disk = {"target_dev": "sda", "kind": kind, "passthrough": True,
            "reservations": {"enabled": True, "managed": socket is None, "socket_path": socket}}
    node.report.host_join = HostJoin(
        source="host.json", host_redacted=False, domain="vm", domain_facts={}, weak_only=False,
        matches=[], unmatched_guest_disks=[], unmatched_host_disks=[], conflicts=[],
        disks={d.name: JoinedDisk(disk, "serial", "x") for d in node.report.disks})
    return node


def test_host_views_show_two_nodes_behind_one_host_initiator():
    def pair(first_host: str, second_host: str, kind: str = "iscsi-block",
             socket: "str | None" = None) -> "list[str]":
        nodes = [_on_host(_node(h, [_disk("sdb", LU_A)]), host, kind, socket)
                 for h, host in (("n1", first_host), ("n2", second_host))]
        return [v["text"] for v in compare_nodes(nodes)["cluster_verdicts"]
                if v["code"] == "nodes_share_host_initiator"]

    (text,) = pair("hostA.json", "hostA.json")
    assert "nodes n1, n2 reach this LU through the host's own initiator on host hostA.json" in text
    assert pair("hostA.json", "hostB.json") == []
    assert pair("hostA.json", "hostA.json", kind="iscsi") == []  # QEMU's own libiscsi sessions
    (text,) = pair("hostA.json", "hostA.json", kind="iscsi", socket="/run/pr-helper.sock")
    assert "qemu-pr-helper socket /run/pr-helper.sock" in text


def test_compare_records_which_host_view_joined_each_node(capsys, tmp_path):
    """compare --host: the node joined with a domain of HOST.json carries that file as its host
    (what nodes_share_host_initiator groups by); a node nothing joined has none."""
    import json

    from test_bundle_cli import run_cli
    from test_host import EXAMPLES, FIXTURES, _host_json

    host = _host_json(tmp_path, (FIXTURES / "mixed.xml").read_text())
    status, out, err = run_cli(capsys, "compare", "--json", str(EXAMPLES / "mixed.tar.gz"),
                               str(EXAMPLES / "two-paths.tar.gz"), "--host", host)
    assert status == 0, err
    assert {n["name"]: n["host"] for n in json.loads(out)["nodes"]} == {
        "node2": host, "node1": None}


def test_the_comparison_reads_back_as_it_was_written():
    """compare --json's record (holders, full-status registrations, a joined host disk) read
    back from its JSON gives the same JSON, and the text of the one is the text of the other."""
    from guestprobe.bundle.compare import compare_nodes as typed_compare
    from guestprobe.document.compare import Comparison

    host_iqn = "iqn.2008-11.org.linux-kvm"
    nodes = [_on_host(_node(h, [_full_status(_held(_disk("sdb", LU_A), VF[n], [VF[0], VF[1]]),
                                             (VF[n], host_iqn, f"23d00000000{n}")),
                                _disk("sdc", LU_B)]), "hostA.json", socket="/run/pr.sock")
             for n, h in enumerate(("n1", "n2"))]
    comparison = typed_compare(nodes, cluster_id=6699)
    written = comparison.to_dict()
    assert written["logical_units"][0]["paths"]["n1"][0]["registrations"][0]["initiator"] == (
        f"iscsi {host_iqn}")
    assert written["logical_units"][0]["host_disks"]["n1"][0]["host"] == "hostA.json"
    assert {h["key_hex"] for h in written["logical_units"][0]["holders"]} == {
        VF[0].hex(), VF[1].hex()}
    read = Comparison.from_dict(written)
    assert read.to_dict() == written
    assert render_comparison(read) == render_comparison(comparison)
