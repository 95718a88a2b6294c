"""The rig's own captures (real tgt LUNs, PR data as `sg_persist --hex --hex`) replayed through
the whole pipeline — discovery, probes, decoders, classifier, rules — without booting QEMU."""


from documents import build_document
from fakesys import RIG, rig_probe_node, rig_virtio_scsi_guest
from replay import SG_INQ_VERSION, register_disk

from guestprobe.check.rule_engine import apply_checks
from guestprobe.collect.probe import ProbeOptions
from guestprobe.collect.scan import collect
from guestprobe.collect.sysfs import SysRoot
from guestprobe.collect.udev import UdevView


def scan_rig(tmp_path, fp, scenario: str) -> "tuple[dict, dict[str, str]]":
    fake, names = rig_virtio_scsi_guest(tmp_path, scenario)
    fp.register(["sg_inq", "--version"], stderr=SG_INQ_VERSION)
    for label in names:
        capture = RIG / scenario / label
        register_disk(fp, capture, rig_probe_node(capture))
    collection = collect(
        ProbeOptions(engine="cli"), sys=SysRoot(fake.root),
        udev=UdevView(run_dir=fake.p("/run/udev")),
    )
    return build_document(collection, apply_checks), names


def verdicts(disk: dict) -> "dict[str, dict]":
    return {v["feature"]: v for v in disk["verdicts"]}


def test_two_paths_are_one_lu_and_pr_capable(tmp_path, fp):
    document, names = scan_rig(tmp_path, fp, "two-paths")
    assert len(document["disks"]) == 2
    (group,) = document["logical_units"]
    assert group["path_count"] == 2 and sorted(group["disks"]) == sorted(names.values())
    assert group["lu_designator"].startswith("naa.6")
    for disk in document["disks"]:
        assert disk["transport"]["mode"] == "passthrough"
        assert disk["facts"]["persistent_reservations"]["keys"]["keys"] == []
        assert verdicts(disk)["pr_fencing"]["status"] == "usable"
        assert disk["facts"]["decode_errors"] == []


def test_foreign_reservation_names_the_holder(tmp_path, fp):
    document, _ = scan_rig(tmp_path, fp, "foreign-reservation")
    (disk,) = document["disks"]
    pr = disk["facts"]["persistent_reservations"]
    assert pr["keys"]["keys_hex"] == ["5646314132423033"]  # "VF1A2B03"
    assert pr["reservation"]["reservation"]["type_name"] == "write_exclusive_registrants_only"
    (veritas,) = pr["veritas_keys"]
    assert (veritas["kind"], veritas["cluster_id"], veritas["node_id"]) == ("coordinator", 6699, 3)
    fencing = verdicts(disk)["pr_fencing"]
    assert fencing["status"] == "degraded"
    assert fencing["reasons"][0]["code"] == "reserved_by_veritas_cluster"
    assert ("0x5646314132423033 'VF1A2B03' (Veritas coordinator key: cluster 6699, node 3)"
            in fencing["reasons"][0]["text"])
    assert disk["facts"]["decode_errors"] == []
