"""guestprobe host against a real libvirtd, joined to the in-guest scan of that very domain.

One private libvirtd (tests/vm/libvirt_rig.py: its own mount namespace, no systemd) runs one
TCG domain with the rig's disk kinds — virtio-blk (cache none), QEMU scsi-hd (cache writeback,
error_policy stop, discard unmap) and a tgt LUN passed through with device='lun' (cache none,
error_policy report, shareable) — the rig's guest agent runs `guestprobe scan --json` inside it,
and `guestprobe host` reads it over the read-only socket while it runs. Marked ``vm``: skipped
only outside CI when libvirtd, the binding or QEMU are missing; in CI (``CI=true``) that fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import in_ci
from .libvirt_rig import LibvirtResult, libvirt_unavailable_reason, run_libvirt_scenario
from .rig import REPO

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module")
def booted() -> LibvirtResult:
    reason = libvirt_unavailable_reason()
    if reason is not None:
        if in_ci():
            pytest.fail(f"CI=true, and {reason}", pytrace=False)
        pytest.skip(reason)
    return run_libvirt_scenario(keep=os.environ.get("RIG_KEEP") == "1")


def _disk(domain: dict, target: str) -> dict:
    return next(d for d in domain["disks"] if d["target_dev"] == target)


def _verdict(verdicts: list, feature: str) -> dict:
    return next(v for v in verdicts if v["feature"] == feature)


def _codes(verdict: dict) -> list[str]:
    return [r["code"] for r in verdict["reasons"]]


def _report(tmp_path, booted: LibvirtResult, with_host: bool = True) -> dict:
    scan = tmp_path / "scan.json"
    scan.write_text(json.dumps(booted.run.scan))
    host = tmp_path / "host.json"
    host.write_text(json.dumps(booted.host_running))
    done = subprocess.run(
        [sys.executable, "-m", "guestprobe", "report", str(scan), "--json",
         *(("--host", str(host)) if with_host else ())],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_domain_ran_and_was_scanned_inside(booted):
    run = booted.run
    assert not run.qemu_timed_out, run.console[-2000:]
    assert run.command and run.command["rc"] == 0, run.command_stderr
    transports = sorted((d["transport"]["kind"], d["transport"]["mode"] or "")
                        for d in run.scan["disks"])
    assert transports == [("virtio-blk", ""), ("virtio-scsi", "emulated"),
                          ("virtio-scsi", "passthrough"), ("virtio-scsi", "passthrough")]
    assert run.checksums_before == run.checksums_after  # the scan wrote no data block


def test_host_reads_the_running_domain_over_libvirt(booted):
    document = booted.host_running
    assert document["host"]["source"] == "libvirt" and "libvirt-sock-ro" in document["host"]["uri"]
    (domain,) = document["domains"]
    assert domain["state"] == "running" and domain["source"]["kind"] == "libvirt"
    assert domain["machine_family"] == "i440fx" and domain["machine"].startswith("pc-i440fx-")
    assert domain["pci_addresses_complete"] is True  # libvirt assigned every address
    vda, sda, sdb = (_disk(domain, t) for t in ("vda", "sda", "sdb"))
    assert (vda["serial"], vda["cache"], vda["bus"]) == ("LVBLK01", "none", "virtio")
    assert vda["pci_slot"] is not None
    assert (sda["qemu_device"], sda["cache"], sda["error_policy"], sda["discard"]) == (
        "scsi-hd", "writeback", "stop", "unmap")
    assert (sdb["device"], sdb["source"]["kind"], sdb["error_policy"], sdb["shareable"]) == (
        "lun", "iscsi", "report", True)
    assert sda["controller_pci_slot"] == sdb["controller_pci_slot"] is not None
    assert sdb["reservations"]["enabled"] is False and sdb["pr_helper_running"] is None
    sdc = _disk(domain, "sdc")  # LUN 2, with <reservations managed='yes'/>
    assert sdc["reservations"]["managed"] is True and sdc["pr_helper_running"] is True
    assert sdc["reservations"]["socket_path"].endswith("/pr-helper0.sock")  # libvirt's own
    # 2 9p shares, the virtio-scsi controller, the virtio-blk disk
    assert domain["virtio_device_count"] == 4
    verdicts = {v["feature"]: v["status"] for v in sda["verdicts"]}
    assert verdicts["host_cache"] == "degraded" and verdicts["pr_fencing"] == "not_usable"
    assert _verdict(sdb["verdicts"], "pr_fencing")["status"] == "usable"


def test_join_of_the_scan_and_the_host(tmp_path, booted):
    before = _report(tmp_path, booted, with_host=False)
    after = _report(tmp_path, booted)
    join = after["host_join"]
    by_guest = {d["name"]: d for d in after["disks"]}
    kinds = {d["name"]: (d["transport"]["kind"], d["transport"]["mode"]) for d in after["disks"]}
    designators = {d["name"]: d["facts"]["identity"]["lu_designator"] for d in after["disks"]}
    lun = next(n for n, k in designators.items() if k and k.endswith("0001"))
    lun2 = next(n for n, k in designators.items() if k and k.endswith("0002"))
    hd = next(n for n, k in kinds.items() if k == ("virtio-scsi", "emulated"))
    blk = next(n for n, k in kinds.items() if k[0] == "virtio-blk")
    matched = {m["guest_disk"]: (m["host_disk"], m["matched_by"]) for m in join["matches"]}
    assert matched == {blk: ("vda", "serial"), hd: ("sda", "serial"),
                       lun: ("sdb", "scsi_address"), lun2: ("sdc", "scsi_address")}
    assert join["conflicts"] == [] and join["unmatched_host_disks"] == []

    def verdict(document, disk, feature):
        disks = {d["name"]: d for d in document["disks"]}
        return _verdict(disks[disk]["verdicts"], feature)

    # DMP fast recovery on the LUN: "check the host's cache" -> confirmed cache='none'
    assert _codes(verdict(before, lun, "fast_recovery")) == ["passthrough_cache_unseen"]
    assert _codes(verdict(after, lun, "fast_recovery")) == ["passthrough_cache_none"]
    # fencing on the LUN: the error_policy caveat -> the host's error_policy='report' confirmed
    assert "error_policy_stop_pauses_guest" in _codes(verdict(before, lun, "pr_fencing"))
    fencing = verdict(after, lun, "pr_fencing")
    assert fencing["status"] == "usable" and _codes(fencing)[0] == "pr_ready_host_confirmed"
    # LUN 2: the same, with managed reservations and its qemu-pr-helper running
    fencing2 = verdict(after, lun2, "pr_fencing")
    assert fencing2["status"] == "usable" and _codes(fencing2)[0] == "pr_ready_host_confirmed"
    assert "reservations yes" in fencing2["reasons"][0]["text"]
    assert "reservations no" in fencing["reasons"][0]["text"]  # QEMU's iSCSI sends PR OUT itself
    # the scsi-hd disk's cache='writeback', which the guest cannot tell from 'none'
    assert verdict(before, hd, "host_cache")["status"] == "usable"
    cache = verdict(after, hd, "host_cache")
    assert (cache["status"], _codes(cache)) == ("degraded", ["host_cache_on"])
    assert "cache='none'" in cache["remediation"][0]["text"]
    assert "host_discard_unmap" in _codes(verdict(after, hd, "thin_reclaim"))
    assert "host_confirms_device_disk" in _codes(verdict(after, hd, "pr_fencing"))
    assert _codes(verdict(after, blk, "host_cache")) == ["host_cache_off"]
    assert _codes(verdict(after, lun, "host_cache")) == ["host_cache_off"]
    assert "host_machine_slots" in _codes(_verdict(after["guest_verdicts"], "device_limit"))
    changed = {(c["disk"], c["feature"]) for c in join["changes"]}
    assert {(lun, "fast_recovery"), (lun, "pr_fencing"), (hd, "host_cache")} <= changed
    assert all(d["verdicts"] for d in by_guest.values())


def test_defined_domain_with_managed_reservations_and_no_helper(booted):
    extra = booted.extra
    assert extra["pr_domain_define_error"] is None
    assert extra["pr_domain_rc"] == 0
    (domain,) = extra["pr_domain"]["domains"]
    sda = _disk(domain, "sda")
    assert domain["state"] == "shutoff" and sda["reservations"]["managed"] is True
    assert sda["pr_helper_running"] is False
    fencing = _verdict(sda["verdicts"], "pr_fencing")
    assert (fencing["status"], _codes(fencing)[0]) == ("not_usable", "host_pr_helper_not_running")


def test_unknown_domain_is_one_line_exit_11(booted):
    status, stderr = booted.extra["missing_domain"]
    assert status == 11 and "no domain named 'no-such-domain'" in stderr
    assert len(stderr.splitlines()) == 1


def test_scsi_hostdevs_as_libvirt_returns_them_are_host_disks(booted):
    """<hostdev type='scsi'> LUNs (scsi-generic) defined in a real libvirtd: libvirt assigns each
    a drive address on the virtio-scsi controller, and `guestprobe host` lists them as disks
    with that SCSI address (the join's key), next to an IDE disk shown by its IDE address."""
    extra = booted.extra
    assert extra["hostdev_define_error"] is None, extra["hostdev_define_error"]
    document = extra["hostdev_domain"]
    assert isinstance(document, dict), document
    disks = {d["target_dev"]: d for d in document["domains"][0]["disks"]}
    hostdevs = [d for d in disks.values() if d["device"] == "hostdev"]
    assert [(d["qemu_device"], d["source"]["kind"]) for d in hostdevs] == [
        ("scsi-generic", "iscsi"), ("scsi-generic", "scsi-host")]
    assert all(d["scsi_address"] and d["address"].startswith("scsi ") for d in hostdevs)
    assert len({d["scsi_address"] for d in hostdevs}) == 2
    assert hostdevs[1]["source"]["path"] == "scsi_host7 0:0:2" and hostdevs[1]["shareable"]
    assert disks["hda"]["address"].startswith("ide ") and disks["hda"]["scsi_address"] is None
