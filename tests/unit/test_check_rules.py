"""Every shipped rule on every transport, from the recorded captures, and the odd cases."""


import checkfacts as cf
import pytest
from documents import judge_in_place as apply_checks

DISK_FEATURES = [
    "discovery", "naming", "fast_recovery", "pr_fencing", "thin_reclaim", "resize", "hot_plug",
    "host_cache", "vxfs",
]

# transport -> feature -> (status, code of the deciding reason)
EXPECTED = {
    "virtio-blk": {
        "discovery": ("not_usable", "virtio_blk_no_scsi"),
        "naming": ("degraded", "virtio_blk_serial_only"),
        "fast_recovery": ("not_usable", "virtio_blk_no_scsi"),
        "pr_fencing": ("not_usable", "virtio_blk_no_pr"),
        "thin_reclaim": ("not_usable", "virtio_blk_write_same_blocked"),
        "resize": ("not_usable", "virtio_no_online_resize"),
        "hot_plug": ("usable", "virtio_hot_plug"),
        "host_cache": ("usable", "guest_sees_write_back"),
        "vxfs": ("degraded", "virtio_blk_vxfs_risk"),
    },
    "scsi-hd": {
        "discovery": ("degraded", "emulated_identity"),
        "naming": ("degraded", "host_configured_serial"),
        "fast_recovery": ("not_usable", "not_the_real_lu"),
        "pr_fencing": ("not_usable", "emulated_no_pr"),
        "thin_reclaim": ("usable", "write_same_unmap_passes"),
        "resize": ("not_usable", "virtio_no_online_resize"),
        "hot_plug": ("usable", "virtio_hot_plug"),
        "host_cache": ("usable", "guest_sees_write_back"),
        "vxfs": ("usable", "not_virtio_blk"),
    },
    "scsi-hd-wwn": {
        "discovery": ("degraded", "emulated_identity"),
        "naming": ("degraded", "host_configured_designator"),
        "fast_recovery": ("not_usable", "not_the_real_lu"),
        "pr_fencing": ("not_usable", "emulated_no_pr"),
        "thin_reclaim": ("usable", "write_same_unmap_passes"),
        "resize": ("not_usable", "virtio_no_online_resize"),
        "hot_plug": ("usable", "virtio_hot_plug"),
        "host_cache": ("usable", "guest_sees_write_back"),
        "vxfs": ("usable", "not_virtio_blk"),
    },
    "passthrough": {
        "discovery": ("usable", "lu_identity_reaches_guest"),
        "naming": ("usable", "array_lu_designator"),
        "fast_recovery": ("usable", "passthrough_cache_unseen"),
        "pr_fencing": ("usable", "pr_ready_passive"),
        "thin_reclaim": ("not_usable", "not_thin_provisioned"),
        "resize": ("not_usable", "virtio_no_online_resize"),
        "hot_plug": ("usable", "virtio_hot_plug"),
        "host_cache": ("usable", "guest_sees_write_back"),
        "vxfs": ("usable", "not_virtio_blk"),
    },
    "pr-filtered": {
        "discovery": ("usable", "lu_identity_reaches_guest"),
        "naming": ("usable", "array_lu_designator"),
        "fast_recovery": ("usable", "passthrough_cache_unseen"),
        "pr_fencing": ("not_usable", "pr_filtered_by_host"),
        "thin_reclaim": ("not_usable", "not_thin_provisioned"),
        "resize": ("not_usable", "virtio_no_online_resize"),
        "hot_plug": ("usable", "virtio_hot_plug"),
        "host_cache": ("usable", "guest_sees_write_back"),
        "vxfs": ("usable", "not_virtio_blk"),
    },
    "sata": {
        "discovery": ("degraded", "hypervisor_translated"),
        "naming": ("degraded", "host_configured_serial"),
        "fast_recovery": ("not_usable", "not_the_real_lu"),
        "pr_fencing": ("not_usable", "pr_not_supported"),
        "thin_reclaim": ("not_usable", "write_same_refused"),
        "resize": ("unknown", "not_covered"),
        "hot_plug": ("not_usable", "ide_ahci_no_hot_plug"),
        "host_cache": ("usable", "guest_sees_write_back"),
        "vxfs": ("usable", "not_virtio_blk"),
    },
    "nvme": {
        "discovery": ("degraded", "hypervisor_translated"),
        "naming": ("degraded", "host_configured_serial"),
        "fast_recovery": ("not_usable", "not_the_real_lu"),
        "pr_fencing": ("not_usable", "pr_not_supported"),
        "thin_reclaim": ("not_usable", "not_thin_provisioned"),
        "resize": ("unknown", "not_covered"),
        "hot_plug": ("unknown", "not_covered"),
        "host_cache": ("usable", "guest_sees_write_back"),
        "vxfs": ("usable", "not_virtio_blk"),
    },
}


def judged(disks, **platform):
    document = cf.document(disks, platform or None)
    apply_checks(document)
    return document


def verdicts(disk):
    return {v["feature"]: v for v in disk["verdicts"]}


def reasons(verdict):
    return [r["code"] for r in verdict["reasons"]]


@pytest.mark.parametrize("transport", sorted(EXPECTED))
def test_every_rule_on_every_transport(transport):
    disk = judged([cf.TRANSPORTS[transport]()])["disks"][0]
    got = {f: (v["status"], v["reasons"][0]["code"]) for f, v in verdicts(disk).items()}
    assert list(got) == DISK_FEATURES
    assert got == EXPECTED[transport]


def test_dm_multipath_one_lu_through_two_paths():
    document = judged(cf.multipath_pair())
    disks = {d["name"]: verdicts(d) for d in document["disks"]}
    for path in ("sda", "sdc"):
        naming = disks[path]["naming"]
        assert naming["status"] == "usable"
        assert "several_paths" in reasons(naming)
        assert "2 paths (sda, sdc)" in naming["reasons"][1]["text"]
        # two paths inside one guest are multipathing, not sharing: host_cache says nothing more
        assert disks[path]["host_cache"]["reasons"][0]["code"] == "guest_sees_write_back"
        fencing = disks[path]["pr_fencing"]
        assert "guest_multipath" in reasons(fencing)
        assert any("mpathpersist" in r["text"] for r in fencing["remediation"])
    assert disks["dm-0"]["pr_fencing"]["reasons"][0]["code"] == "dm_multipath_map"
    assert disks["dm-0"]["discovery"]["status"] == "not_usable"
    readiness = {v["feature"]: v for v in document["guest_verdicts"]}["fencing_readiness"]
    assert readiness["status"] == "degraded"  # one LU, counted once
    assert "answer PERSISTENT RESERVE IN: only 1 " in readiness["reasons"][0]["text"]
    assert "guest_multipath" in reasons(readiness)


def test_pr_filtered_by_host_names_both_ways_out():
    for outcome, status in (("not_supported", 9), ("not_supported", 5),
                            ("passthrough_unavailable", 75)):
        disk = judged([cf.passthrough_pr_filtered(outcome, status)])["disks"][0]
        fencing = verdicts(disk)["pr_fencing"]
        assert fencing["status"] == "not_usable"
        assert fencing["reasons"][0]["code"] == "pr_filtered_by_host"
        platforms = {r["platform"] for r in fencing["remediation"]}
        assert {"libvirt", "infoscale"} <= platforms
        texts = " ".join(r["text"] for r in fencing["remediation"])
        assert "<reservations managed='yes'/>" in texts
        assert "<disk type='block' device='lun'>" in texts
        assert "sgio='unfiltered'" not in texts.replace("refuse sgio='unfiltered'", "")
        assert "vxdctl scsi3pr off" in texts and "data_disk_fencing=off" in texts
        assert "sda/pr_read_keys" in fencing["evidence"]
        assert verdicts(disk)["discovery"]["status"] == "usable"  # INQUIRY did pass


def test_pr_refused_without_opcode_list_is_still_judged():
    disk = cf.passthrough_pr_filtered()
    disk["facts"]["supported_opcodes"]["commands_of_interest"] = None
    fencing = verdicts(judged([disk])["disks"][0])["pr_fencing"]
    assert (fencing["status"], fencing["reasons"][0]["code"]) == (
        "not_usable", "pr_refused_passthrough")


def test_scsi_hd_with_wwn_is_not_the_arrays_name():
    naming = verdicts(judged([cf.scsi_hd_wwn()])["disks"][0])["naming"]
    assert naming["status"] == "degraded"
    assert "naa.5000c50015ea71ac" in naming["reasons"][0]["text"]
    assert "QEMU" in naming["reasons"][0]["text"]


# READ KEYS with a coordinator key of cluster 57069 node 1 and a CVM data disk key of node 0;
# READ RESERVATION: type 5 (write exclusive, registrants only) held by the coordinator key
VERITAS_KEYS = "00 00 00 04 00 00 00 10 56 46 44 45 45 44 30 31 41 50 47 52 30 30 30 31"
VERITAS_RESERVATION = (
    "00 00 00 04 00 00 00 10 56 46 44 45 45 44 30 31 00 00 00 00 00 05 00 00"
)
FOREIGN_RESERVATION = (
    "00 00 00 04 00 00 00 10 12 34 56 78 9a bc de f0 00 00 00 00 00 03 00 00"
)


def test_lu_reserved_by_another_nodes_veritas_key():
    disk = cf.set_pr(cf.passthrough(), VERITAS_KEYS, VERITAS_RESERVATION)
    fencing = verdicts(judged([disk])["disks"][0])["pr_fencing"]
    assert (fencing["status"], fencing["reasons"][0]["code"]) == (
        "degraded", "reserved_by_veritas_cluster")
    text = fencing["reasons"][0]["text"]
    assert "write_exclusive_registrants_only" in text
    assert "'VFDEED01' (Veritas coordinator key: cluster 57069, node 1)" in text
    assert "CVM shared disk group" in text
    shown = fencing["details"]["facts.persistent_reservations.veritas_keys"]
    assert [(k["kind"], k["node_id"]) for k in shown] == [("coordinator", 1), ("data_disk", 0)]
    document = judged([cf.set_pr(cf.passthrough(), VERITAS_KEYS, VERITAS_RESERVATION)])
    readiness = {v["feature"]: v for v in document["guest_verdicts"]}["fencing_readiness"]
    assert "coordinator_keys_present" in reasons(readiness)


def test_lu_reserved_by_a_foreign_key_is_not_usable():
    disk = cf.set_pr(cf.passthrough(), VERITAS_KEYS, FOREIGN_RESERVATION)
    fencing = verdicts(judged([disk])["disks"][0])["pr_fencing"]
    assert (fencing["status"], fencing["reasons"][0]["code"]) == ("not_usable", "reserved_by_other")
    assert "exclusive_access by key 0x123456789abcdef0" in fencing["reasons"][0]["text"]


def test_registrations_without_reservation_are_shown():
    disk = cf.set_pr(cf.passthrough(), VERITAS_KEYS)
    fencing = verdicts(judged([disk])["disks"][0])["pr_fencing"]
    assert fencing["status"] == "usable"
    assert "registrations_present" in reasons(fencing)
    host_cache = verdicts(judged([cf.set_pr(cf.passthrough(), VERITAS_KEYS)])["disks"][0])
    assert host_cache["host_cache"]["reasons"][0]["code"] == "shared_disk_host_cache"


def test_pr_keys_not_decoded_give_unknown_naming_the_fact():
    disk = cf.recorded_disk("mixed", "sda")
    pr = disk["facts"]["persistent_reservations"]
    pr["keys"] = pr["reservation"] = None  # what facts.py keeps of answers that do not decode
    pr["registered_key_count"] = None
    fencing = verdicts(judged([disk])["disks"][0])["pr_fencing"]
    assert fencing["status"] == "unknown"
    assert fencing["missing"] == ["facts.persistent_reservations.reservation"]
    assert fencing["reasons"][0]["code"] == "facts_missing"


def test_wero_missing_from_the_type_mask():
    disk = cf.passthrough()
    caps = disk["facts"]["persistent_reservations"]["capabilities"]
    caps["supported_types"] = ["exclusive_access", "write_exclusive"]
    fencing = verdicts(judged([disk])["disks"][0])["pr_fencing"]
    assert fencing["reasons"][0]["code"] == "wero_not_supported"
    caps["tmv"], caps["supported_types"] = False, None
    fencing = verdicts(judged([disk])["disks"][0])["pr_fencing"]
    assert (fencing["status"], fencing["reasons"][0]["code"]) == (
        "usable", "pr_ready_type_unverified")


def test_fencing_notes_error_policy_and_migrate_pr():
    fencing = verdicts(judged([cf.passthrough()])["disks"][0])["pr_fencing"]
    codes = reasons(fencing)
    assert "error_policy_stop_pauses_guest" in codes
    assert "sip_atp_maybe_hidden" in codes  # the tgt LUN sets neither bit
    assert any("error_policy='report'" in r["text"] for r in fencing["remediation"])


def _virtio_blk_named(index):
    disk = cf.rename(cf.virtio_blk(), f"vd{chr(ord('a') + index)}")
    disk["inventory"]["serial"] = disk["facts"]["identity"]["kernel_serial"] = f"VBLK{index:02d}"
    return disk


def _virtio_devices(blk, net, scsi=0):
    devices = []
    for kind, count, device_id in (("block", blk, 2), ("net", net, 1), ("scsi", scsi, 8)):
        devices += [{"name": f"virtio{len(devices) + i}", "device_id": device_id, "kind": kind,
                     "driver": None, "pci_slot": None} for i in range(count)]
    return devices


def test_thirty_virtio_blk_disks_hit_the_device_limit():
    disks = [_virtio_blk_named(i) for i in range(30)]
    document = judged(disks, virtio_devices=_virtio_devices(30, 2))
    limit = {v["feature"]: v for v in document["guest_verdicts"]}["device_limit"]
    assert (limit["status"], limit["reasons"][0]["code"]) == ("not_usable", "at_virtio_limit")
    assert "32 VirtIO devices (virtio-blk disks: 30, network interfaces: 2" in (
        limit["reasons"][0]["text"])
    assert "virtio-scsi" in limit["remediation"][0]["text"]
    near = judged(disks[:22], virtio_devices=_virtio_devices(22, 3))
    near_limit = {v["feature"]: v for v in near["guest_verdicts"]}["device_limit"]
    assert near_limit["status"] == "degraded"
    few = judged(disks[:2], virtio_devices=_virtio_devices(2, 1, 1))
    few_limit = {v["feature"]: v for v in few["guest_verdicts"]}["device_limit"]
    assert few_limit["status"] == "usable"
    assert "virtio_scsi_scales" in reasons(few_limit)


def test_vxfs_on_virtio_blk_is_critical():
    disk = cf.virtio_blk()
    disk["inventory"]["mounts"] = [
        {"devnum": "254:1", "mount_point": "/data", "fs_type": "vxfs", "source": "/dev/vda1"}]
    vxfs = verdicts(judged([disk])["disks"][0])["vxfs"]
    assert (vxfs["status"], vxfs["reasons"][0]["code"]) == (
        "not_usable", "vxfs_on_virtio_blk_critical")
    assert vxfs["reasons"][0]["text"].startswith("CRITICAL")
    assert "vda/inventory.mounts" in vxfs["evidence"]


def test_virtio_blk_serial_problems():
    no_serial = cf.virtio_blk()
    no_serial["inventory"]["serial"] = no_serial["facts"]["identity"]["kernel_serial"] = None
    naming = verdicts(judged([no_serial])["disks"][0])["naming"]
    assert (naming["status"], naming["reasons"][0]["code"]) == (
        "not_usable", "virtio_blk_no_serial")
    cut = cf.virtio_blk()
    cut["facts"]["identity"]["kernel_serial"] = "600A0B800029ECE60000"  # 20 of a longer WWID
    naming = verdicts(judged([cut])["disks"][0])["naming"]
    assert naming["reasons"][0]["code"] == "virtio_blk_serial_truncated"


def test_vpd83_target_port_only_and_empty():
    disk = cf.passthrough()
    identity = disk["facts"]["identity"]
    for designator in identity["designators"]:
        designator["association"] = "target_port"
    identity["lu_designator"] = identity["lu_designator_type"] = None
    naming = verdicts(judged([disk])["disks"][0])["naming"]
    assert naming["reasons"][0]["code"] == "vpd83_target_port_only"
    identity["designators"] = []
    naming = verdicts(judged([disk])["disks"][0])["naming"]
    assert naming["reasons"][0]["code"] == "vpd83_empty"


def test_fencing_readiness_counts_distinct_lus():
    luns = []
    for index in range(3):
        disk = cf.rename(cf.passthrough(), f"sd{'abc'[index]}")
        disk["facts"]["identity"]["lu_designator"] = f"naa.6000000000000000000000000000{index:04d}"
        luns.append(disk)
    document = judged(luns)
    readiness = {v["feature"]: v for v in document["guest_verdicts"]}["fencing_readiness"]
    assert (readiness["status"], readiness["reasons"][0]["code"]) == ("usable", "enough_pr_lus")
    none = judged([cf.virtio_blk(), cf.scsi_hd()])
    readiness = {v["feature"]: v for v in none["guest_verdicts"]}["fencing_readiness"]
    assert readiness["status"] == "not_usable"
    assert any(r["platform"] == "infoscale" for r in readiness["remediation"])


def test_timed_out_disk_makes_readiness_unknown():
    disk = cf.passthrough()
    disk["status"] = "timed_out"
    disk["facts"]["persistent_reservations"]["read_keys_outcome"] = "timed_out"
    document = judged([disk])
    fencing = verdicts(document["disks"][0])["pr_fencing"]
    assert (fencing["status"], fencing["reasons"][0]["code"]) == ("unknown", "pr_in_inconclusive")
    assert fencing["missing"] == ["facts.persistent_reservations.keys"]
    readiness = {v["feature"]: v for v in document["guest_verdicts"]}["fencing_readiness"]
    assert readiness["status"] == "unknown"


@pytest.mark.parametrize(("hypervisor_vendor", "platform"), [
    ("KubeVirt", "kubevirt"), ("oVirt", "ovirt"), ("QEMU", None)])
def test_remediation_speaks_the_platform(hypervisor_vendor, platform):
    document = judged([cf.virtio_blk()], dmi_sys_vendor=hypervisor_vendor)
    fencing = verdicts(document["disks"][0])["pr_fencing"]
    platforms = [r["platform"] for r in fencing["remediation"]]
    # libvirt's domain XML only where the guest runs on plain KVM; KubeVirt and oVirt get theirs
    assert (platforms[0] == "libvirt") == (platform is None)
    assert ("kubevirt" in platforms) == (platform == "kubevirt")
    assert ("ovirt" in platforms) == (platform == "ovirt")
    if platform == "kubevirt":
        text = next(r["text"] for r in fencing["remediation"] if r["platform"] == "kubevirt")
        assert "reservation: true" in text and "bus: scsi" in text


def test_thin_reclaim_says_whether_plain_discard_works():
    thin = verdicts(judged([cf.virtio_blk()])["disks"][0])["thin_reclaim"]
    assert "guest_discard_works" in reasons(thin)
    disk = cf.virtio_blk()
    disk["inventory"]["queue"]["discard_max_bytes"] = 0
    thin = verdicts(judged([disk])["disks"][0])["thin_reclaim"]
    assert "guest_discard_off" in reasons(thin)


def test_thin_reclaim_without_write_probes_is_unknown():
    disk = cf.scsi_hd()
    for probe in disk["facts"]["write_same"].values():
        if isinstance(probe, dict):
            probe.update(outcome="skipped", implemented=None, exit_status=None)
    disk["facts"]["logical_block_provisioning"]["decoded"]["lbpu"] = False
    thin = verdicts(judged([disk])["disks"][0])["thin_reclaim"]
    assert thin["status"] == "unknown"
    assert thin["missing"] == ["facts.write_same.write_same16_oor.implemented"]
