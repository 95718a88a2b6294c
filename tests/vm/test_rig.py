"""guestprobe in real QEMU guests: one boot per scenario (tests/vm/scenarios.py) for all its tests.

Two kinds of assertion. What the rig itself captured in the guest (the exact probe argvs of
guestprobe/collect/sg3.py, run by the guest agent before the scan) pins down what the devices
really do; those hold whatever guestprobe reports. Then ``guestprobe scan --json``, run in the
same boot, must report those facts: transports, identifiers, PR, WRITE SAME outcomes, verdicts.
And around everything: not one block of any backing image and not one registration changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guestprobe.collect.sg3 import far_lba
from guestprobe.errors import ExitStatus

from .rig import REPO, SCENARIOS, RunResult, summary
from .scenarios import VIRTIO_BLK

pytestmark = pytest.mark.vm

SCHEMA = REPO / "guestprobe" / "document" / "schema.json"
ENOTTY_EXIT = 75  # sg3_utils: 50 + ENOTTY, SG_IO refused by virtio-blk
INVALID_OPCODE_EXIT = 9
ILLEGAL_REQUEST_EXIT = 5
LBA_OUT_OF_RANGE_EXIT = 22
NAA = 3  # VPD 0x83 designator type
FOREIGN_KEY = SCENARIOS["foreign-reservation"].foreign_reservation.key  # type: ignore[union-attr]
SCSI_PROBES = (
    "inquiry", "vpd_0x00", "vpd_0x80", "vpd_0x83", "vpd_0xb0", "vpd_0xb1", "vpd_0xb2",
    "readcap16", "pr_read_keys", "pr_read_reservation", "pr_report_capabilities",
)  # fmt: skip


# -- helpers ----------------------------------------------------------------------------------


def explain(result: RunResult) -> str:
    """What to show when an assertion fails: the run's summary and the console's tail."""
    return f"\n{summary(result)}\n--- console (tail) ---\n{result.console[-3000:]}"


def hexdump_bytes(text: str) -> bytes:
    """sg3_utils' ``--hex --hex`` dump to bytes.

    >>> hexdump_bytes(" 00     00 00 00 01 00 00 00 08  f0 e1 d2 c3 b4 a5 96 87\\n")[:8].hex()
    '0000000100000008'
    """
    data = bytearray()
    for line in text.splitlines():
        tokens = line.split()[1:]  # the first is the offset
        for token in tokens:
            if not re.fullmatch(r"[0-9a-fA-F]{2}", token):
                break
            data.append(int(token, 16))
    return bytes(data)


def registered_keys(read_keys_dump: str) -> list[int]:
    """The keys of a PERSISTENT RESERVE IN READ KEYS response (SPC-4 6.16.2)."""
    data = hexdump_bytes(read_keys_dump)
    length = int.from_bytes(data[4:8], "big")
    return [int.from_bytes(data[8 + i : 16 + i], "big") for i in range(0, length, 8)]


def reservation(read_reservation_dump: str) -> tuple[int, int] | None:
    """(holder's key, type) of a READ RESERVATION response; None when nothing is reserved."""
    data = hexdump_bytes(read_reservation_dump)
    if int.from_bytes(data[4:8], "big") == 0:
        return None
    return int.from_bytes(data[8:16], "big"), data[21] & 0x0F


def lu_naa_designators(vpd_0x83: bytes) -> set[str]:
    """NAA designators of the logical unit itself (association 0) in a raw VPD page 0x83."""
    found = set()
    offset = 4
    end = 4 + int.from_bytes(vpd_0x83[2:4], "big")
    while offset + 4 <= min(end, len(vpd_0x83)):
        association = (vpd_0x83[offset + 1] >> 4) & 0x3
        designator_type = vpd_0x83[offset + 1] & 0x0F
        length = vpd_0x83[offset + 3]
        value = vpd_0x83[offset + 4 : offset + 4 + length]
        if association == 0 and designator_type == NAA:
            found.add(value.hex())
        offset += 4 + length
    return found


def scan_disk(result: RunResult, label: str) -> dict[str, Any]:
    """The scan report's disk for a scenario disk (found by the kernel name the guest gave it)."""
    assert result.scan is not None, "guestprobe wrote no scan.json" + explain(result)
    name = result.disks[label]["kernel_name"]
    for disk in result.scan["disks"]:
        if disk["name"] == name:
            return disk
    raise AssertionError(f"{label} ({name}) is not in the scan report" + explain(result))


def probe(disk: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in disk["probes"] if p["name"] == name)


def verdict(disk: dict[str, Any], feature: str) -> dict[str, Any]:
    return next(v for v in disk["verdicts"] if v["feature"] == feature)


def reason_codes(item: dict[str, Any]) -> set[str]:
    return {reason["code"] for reason in item["reasons"]}


# -- fixtures: one boot per scenario ----------------------------------------------------------


@pytest.fixture(scope="module", params=[n for n, s in SCENARIOS.items() if s.scan_tests])
def any_scenario(request: pytest.FixtureRequest, boot: Callable[[str], RunResult]) -> RunResult:
    return boot(request.param)


def _scenario(name: str) -> Any:
    """A module-scoped fixture for one scenario's (session-wide, single) boot."""

    @pytest.fixture(scope="module")
    def booted(boot: Callable[[str], RunResult]) -> RunResult:
        return boot(name)

    return booted


mixed = _scenario("mixed")
mixed_udev = _scenario("mixed-udev")
two_paths = _scenario("two-paths")
many_virtio_blk = _scenario("many-virtio-blk")
sata_nvme = _scenario("sata-nvme")
hung_target = _scenario("hung-target")
foreign_reservation = _scenario("foreign-reservation")


# -- every scenario ---------------------------------------------------------------------------


def test_guest_ran_to_the_end(any_scenario: RunResult) -> None:
    result = any_scenario
    assert not result.qemu_timed_out, "QEMU had to be killed" + explain(result)
    assert result.qemu_exit == 0, explain(result)
    assert not result.guest.get("errors"), explain(result)
    assert set(result.disks) == {disk.label for disk in result.scenario.disks}, explain(result)


def test_no_backing_image_changed(any_scenario: RunResult) -> None:
    result = any_scenario
    assert result.checksums_before, "no image was checksummed"
    assert result.checksums_after == result.checksums_before, explain(result)


def test_no_registration_or_reservation_changed(any_scenario: RunResult) -> None:
    result = any_scenario
    scsi = {label for label, info in result.disks.items() if info["sg"] and info["visible"]}
    assert set(result.pr_before) == scsi, explain(result)  # every SCSI disk, SATA too
    assert result.pr_after == result.pr_before, explain(result)


def test_nothing_left_running(any_scenario: RunResult) -> None:
    run_dir = str(any_scenario.run_dir)
    leftovers = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if run_dir in text:
            leftovers.append(f"{cmdline.parent.name}: {text[:200]}")
    assert not leftovers


def test_scan_finished_and_matches_the_schema(any_scenario: RunResult) -> None:
    import jsonschema  # the [test] extra has it; only this test needs it

    result = any_scenario
    command = result.command or {}
    assert not command.get("timed_out"), explain(result)
    # a disk that timed out makes the scan partial: report written, exit status says so
    partial = result.scenario.stop_target_during_command
    expected = ExitStatus.PARTIAL if partial else ExitStatus.OK
    assert command.get("rc") == expected, result.command_stderr + explain(result)
    assert result.scan is not None, explain(result)
    jsonschema.validate(result.scan, json.loads(SCHEMA.read_text()))
    assert result.scan["scan"]["complete"] is not partial
    visible = {result.disks[d.label]["kernel_name"] for d in result.scenario.visible_disks}
    assert {disk["name"] for disk in result.scan["disks"]} == visible
    assert result.scan["scan"]["disk_count"] == len(visible)
    assert result.scan["platform"]["kernel_release"] == result.versions["kernel_package"].replace(
        "linux-image-", ""
    )


def test_write_probes_go_to_the_far_lbas_after_a_fresh_capacity_read(
    any_scenario: RunResult,
) -> None:
    """Every WRITE SAME the scan sent addresses the far LBA of guestprobe/collect/sg3.py with one
    block, right after a READ CAPACITY(16) that agreed with the first; nothing else is sent."""
    result = any_scenario
    assert result.scan is not None, explain(result)
    for disk in result.scan["disks"]:
        probes = disk["probes"]
        names = [p["name"] for p in probes]
        sent = [p for p in probes if p["name"].startswith("write_same") and p["argv"]]
        if not sent:
            continue
        recheck = probe(disk, "readcap16_recheck")
        assert recheck["outcome"] == "ok", disk["name"]
        assert recheck["stdout_hex"] == probe(disk, "readcap16")["stdout_hex"]
        assert names.index("readcap16_recheck") + 1 == names.index(sent[0]["name"])
        for ws in sent:
            lba = far_lba(10 if "--10" in ws["argv"] else 16)
            assert f"--lba={lba}" in ws["argv"] and "--num=1" in ws["argv"], ws["argv"]
            assert ws["outcome"] in ("lba_out_of_range", "not_supported"), (disk["name"], ws)


# -- mixed: virtio-blk + scsi-hd + a passed-through tgt LUN --------------------------------


def test_mixed_virtio_blk_refuses_every_scsi_command(mixed: RunResult) -> None:
    for name in SCSI_PROBES:
        assert mixed.exit_status("virtio-blk_VBLKSER01", name) == ENOTTY_EXIT, name
    assert mixed.disks["virtio-blk_VBLKSER01"]["sg"] is None


def test_mixed_scsi_hd_has_no_persistent_reservations(mixed: RunResult) -> None:
    label = "scsi-hd_SHDSER01"
    for name in ("pr_read_keys", "pr_read_reservation", "pr_report_capabilities",
                 "pr_read_full_status", "opcodes"):
        assert mixed.exit_status(label, name) == INVALID_OPCODE_EXIT, name
    assert mixed.probe(label, "inquiry").stdout[8:16] == b"QEMU    "
    for name in ("write_same16_oor", "write_same10_oor", "write_same16_unmap_oor"):
        assert mixed.exit_status(label, name) == LBA_OUT_OF_RANGE_EXIT, name


def test_mixed_tgt_lun_answers_for_itself(mixed: RunResult) -> None:
    label = "tgt-lun1_path1"
    assert mixed.probe(label, "inquiry").stdout[8:16] == b"IET     "
    for name in ("pr_read_keys", "pr_read_reservation", "pr_report_capabilities", "opcodes"):
        assert mixed.exit_status(label, name) == 0, name
    assert registered_keys(mixed.probe(label, "pr_read_keys").stdout.decode()) == []
    # tgt 1.0.85 has no READ FULL STATUS: ILLEGAL REQUEST (invalid field: the service action)
    assert mixed.exit_status(label, "pr_read_full_status") == ILLEGAL_REQUEST_EXIT
    assert lu_naa_designators(mixed.probe(label, "vpd_0x83").stdout)
    assert mixed.exit_status(label, "write_same16_oor") == LBA_OUT_OF_RANGE_EXIT
    assert mixed.exit_status(label, "write_same10_oor") == LBA_OUT_OF_RANGE_EXIT
    # tgt without thin provisioning refuses the UNMAP bit before it looks at the LBA
    assert mixed.exit_status(label, "write_same16_unmap_oor") == ILLEGAL_REQUEST_EXIT


def test_mixed_scan_transports(mixed: RunResult) -> None:
    vblk = scan_disk(mixed, "virtio-blk_VBLKSER01")["transport"]
    shd = scan_disk(mixed, "scsi-hd_SHDSER01")["transport"]
    lun = scan_disk(mixed, "tgt-lun1_path1")["transport"]
    assert vblk["kind"] == VIRTIO_BLK
    assert (shd["kind"], shd["mode"]) == ("virtio-scsi", "emulated")
    assert (lun["kind"], lun["mode"]) == ("virtio-scsi", "passthrough")


def test_mixed_scan_probe_outcomes_match_the_devices(mixed: RunResult) -> None:
    """The scan's exit statuses are the ones the rig saw with the same argvs."""
    for label in ("virtio-blk_VBLKSER01", "scsi-hd_SHDSER01", "tgt-lun1_path1"):
        disk = scan_disk(mixed, label)
        for scanned in disk["probes"]:
            if scanned["source"] != "sg3_utils":
                continue
            # the fresh READ CAPACITY(16) before the write probes: the captured readcap16's argv
            name = "readcap16" if scanned["name"] == "readcap16_recheck" else scanned["name"]
            captured = mixed.probe(label, name)
            assert scanned["exit_status"] == captured.rc, (label, scanned["name"])
    assert probe(scan_disk(mixed, "virtio-blk_VBLKSER01"), "inquiry")["outcome"] == (
        "passthrough_unavailable"
    )
    shd = scan_disk(mixed, "scsi-hd_SHDSER01")
    assert probe(shd, "pr_read_keys")["outcome"] == "not_supported"
    assert probe(shd, "write_same16_oor")["outcome"] == "lba_out_of_range"
    lun = scan_disk(mixed, "tgt-lun1_path1")
    assert probe(lun, "pr_read_keys")["outcome"] == "ok"
    assert probe(lun, "write_same16_unmap_oor")["outcome"] == "not_supported"


def test_mixed_scan_identifiers(mixed: RunResult) -> None:
    lun = scan_disk(mixed, "tgt-lun1_path1")
    naa = lu_naa_designators(mixed.probe("tgt-lun1_path1", "vpd_0x83").stdout)
    designator = lun["facts"]["identity"]["lu_designator"]
    assert designator.startswith("naa.") and designator[4:] in naa
    assert scan_disk(mixed, "scsi-hd_SHDSER01")["facts"]["identity"]["lu_designator"] is None
    vblk = scan_disk(mixed, "virtio-blk_VBLKSER01")
    assert vblk["facts"]["identity"]["kernel_serial"] == "VBLKSER01"
    [unit] = mixed.scan["logical_units"]  # type: ignore[index]
    assert unit["lu_designator"] == designator and unit["path_count"] == 1


def test_mixed_scan_fencing_verdicts(mixed: RunResult) -> None:
    assert verdict(scan_disk(mixed, "virtio-blk_VBLKSER01"), "pr_fencing")["status"] == (
        "not_usable"
    )
    assert verdict(scan_disk(mixed, "scsi-hd_SHDSER01"), "pr_fencing")["status"] == "not_usable"
    assert verdict(scan_disk(mixed, "tgt-lun1_path1"), "pr_fencing")["status"] == "usable"


def test_mixed_without_udevd_has_no_udev_facts(mixed: RunResult) -> None:
    """No udevd in the plain guests: guestprobe says so and makes up no links."""
    assert mixed.scan is not None and mixed.udev is None
    assert mixed.scan["platform"]["udev_database_populated"] is False
    for disk in mixed.scan["disks"]:
        assert disk["by_id"] == disk["by_path"] == [] and disk["inventory"]["udev_links"] == []
        assert "no_by_id_link" not in reason_codes(verdict(disk, "naming"))  # unknown, not false


# -- mixed-udev: the same disks, systemd-udevd run before the scan -------------------------


def pci_slot(sysfs_path: str) -> str:
    """The PCI function a disk hangs off (the last ``0000:00:05.0``-like part of its path)."""
    return re.findall(r"/([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])/", sysfs_path)[-1]


def test_mixed_udev_udevd_ran_and_stopped(mixed_udev: RunResult) -> None:
    udev = mixed_udev.udev
    assert udev is not None, explain(mixed_udev)
    steps = {step["step"]: step for step in udev["steps"]}
    assert list(steps) == ["start", "ping", "trigger", "settle", "exit"], explain(mixed_udev)
    assert all(step["rc"] == 0 for step in steps.values()), udev["steps"]
    assert udev["left_running"] == []
    assert udev["database_entries"] >= len(mixed_udev.disks)


def test_mixed_udev_database_populated(mixed_udev: RunResult) -> None:
    assert mixed_udev.scan is not None, explain(mixed_udev)
    platform = mixed_udev.scan["platform"]
    assert platform["udev_database_populated"] is True
    assert platform["udev_unavailable_reason"] is None


def test_mixed_udev_links_are_the_ones_in_dev(mixed_udev: RunResult) -> None:
    """pyudev's links for each disk are exactly the /dev/disk symlinks the agent saw to it."""
    links = mixed_udev.udev["links"]  # type: ignore[index]
    for label, info in mixed_udev.disks.items():
        disk = scan_disk(mixed_udev, label)
        node = f"../../{info['kernel_name']}"
        in_dev = {link for link, target in links.items() if target == node}
        assert set(disk["inventory"]["udev_links"]) == in_dev, label
        assert disk["by_id"] and disk["by_path"], label
        assert set(disk["by_id"] + disk["by_path"]) <= in_dev


def test_mixed_udev_virtio_blk(mixed_udev: RunResult) -> None:
    label = "virtio-blk_VBLKSER01"
    disk = scan_disk(mixed_udev, label)
    assert disk["by_id"] == ["/dev/disk/by-id/virtio-VBLKSER01"]
    slot = pci_slot(mixed_udev.disks[label]["sysfs_path"])
    assert f"/dev/disk/by-path/pci-{slot}" in disk["by_path"]
    assert f"/dev/disk/by-path/virtio-pci-{slot}" in disk["by_path"]
    properties = disk["inventory"]["udev_properties"]
    assert properties["ID_SERIAL"] == "VBLKSER01"
    assert properties["ID_PATH"] == f"pci-{slot}"


def test_mixed_udev_scsi_hd(mixed_udev: RunResult) -> None:
    label = "scsi-hd_SHDSER01"
    disk = scan_disk(mixed_udev, label)
    # scsi_id: no NAA on a scsi-hd without wwn=, so the vendor-specific designator
    # (type 0, hence the leading "0"), vendor and model from INQUIRY and the serial
    assert disk["by_id"] == ["/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_SHDSER01"]
    properties = disk["inventory"]["udev_properties"]
    assert properties["ID_SERIAL"] == "0QEMU_QEMU_HARDDISK_SHDSER01"
    assert properties["ID_SERIAL_SHORT"] == properties["ID_SCSI_SERIAL"] == "SHDSER01"
    assert "ID_WWN" not in properties
    slot = pci_slot(mixed_udev.disks[label]["sysfs_path"])
    _host, channel_target_lun = disk["hctl"].split(":", 1)
    [by_path] = disk["by_path"]
    assert re.fullmatch(rf"/dev/disk/by-path/pci-{slot}-scsi-\d+:{channel_target_lun}", by_path)


def test_mixed_udev_tgt_lun_named_by_its_naa(mixed_udev: RunResult) -> None:
    label = "tgt-lun1_path1"
    disk = scan_disk(mixed_udev, label)
    designator = disk["facts"]["identity"]["lu_designator"]
    assert designator and designator.startswith("naa.6"), designator  # NAA IEEE Registered Ext.
    naa = designator[4:]
    assert sorted(disk["by_id"]) == [
        f"/dev/disk/by-id/scsi-3{naa}",  # scsi_id: designator type 3 (NAA), then its hex
        f"/dev/disk/by-id/wwn-0x{naa}",
    ]
    properties = disk["inventory"]["udev_properties"]
    assert properties["ID_SERIAL"] == f"3{naa}"
    assert properties["ID_WWN_WITH_EXTENSION"] == f"0x{naa}"
    assert properties["ID_VENDOR"] == "IET"
    _host, channel_target_lun = disk["hctl"].split(":", 1)
    [by_path] = disk["by_path"]
    assert by_path.endswith(f":{channel_target_lun}")


def test_mixed_udev_naming_sees_the_by_id_links(mixed_udev: RunResult) -> None:
    """With udev's database populated, a disk that has a by-id link gets no no_by_id_link note."""
    expected = {
        "virtio-blk_VBLKSER01": ("degraded", "virtio_blk_serial_only"),
        "scsi-hd_SHDSER01": ("degraded", "host_configured_serial"),
        "tgt-lun1_path1": ("usable", "array_lu_designator"),
    }
    for label, (status, code) in expected.items():
        naming = verdict(scan_disk(mixed_udev, label), "naming")
        assert naming["status"] == status and code in reason_codes(naming), (label, naming)
        assert "no_by_id_link" not in reason_codes(naming), label


# -- two-paths: one LUN, two initiator names ------------------------------------------------


def test_two_paths_are_one_logical_unit(two_paths: RunResult) -> None:
    one = lu_naa_designators(two_paths.probe("tgt-lun1_path1", "vpd_0x83").stdout)
    two = lu_naa_designators(two_paths.probe("tgt-lun1_path2", "vpd_0x83").stdout)
    assert one and one == two
    disks = two_paths.disks
    assert disks["tgt-lun1_path1"]["sg"] != disks["tgt-lun1_path2"]["sg"]
    for label in disks:
        assert two_paths.exit_status(label, "pr_read_keys") == 0


def test_two_paths_scan_groups_the_paths(two_paths: RunResult) -> None:
    assert two_paths.scan is not None
    [unit] = two_paths.scan["logical_units"]
    names = {two_paths.disks[label]["kernel_name"] for label in two_paths.disks}
    assert set(unit["disks"]) == names and unit["path_count"] == 2
    for label in two_paths.disks:
        transport = scan_disk(two_paths, label)["transport"]
        assert (transport["kind"], transport["mode"]) == ("virtio-scsi", "passthrough")


# -- many-virtio-blk: 30 disks, some behind a pci-bridge -----------------------------------


def test_many_virtio_blk_all_found_some_behind_the_bridge(many_virtio_blk: RunResult) -> None:
    disks = many_virtio_blk.disks
    assert len(disks) == 30
    assert all(info["kernel_name"].startswith("vd") for info in disks.values())
    behind = [info for info in disks.values() if re.search(r"/0000:01:", info["sysfs_path"])]
    assert behind, "no disk behind the pci-bridge"
    assert any("pci-bridge" in arg for arg in many_virtio_blk.qemu_argv)


def test_many_virtio_blk_scan(many_virtio_blk: RunResult) -> None:
    for disk in many_virtio_blk.scenario.disks:
        scanned = scan_disk(many_virtio_blk, disk.label)
        assert scanned["transport"]["kind"] == VIRTIO_BLK
        assert scanned["facts"]["identity"]["kernel_serial"] == disk.serial
        assert probe(scanned, "inquiry")["exit_status"] == ENOTTY_EXIT
    assert many_virtio_blk.scan["scan"]["abandoned_processes"] == 0  # type: ignore[index]


def test_many_virtio_blk_hits_the_device_limit(many_virtio_blk: RunResult) -> None:
    """30 virtio-blk disks and the rig's two 9p shares: 32 VirtIO devices, past the guide's 28."""
    assert many_virtio_blk.scan is not None
    limit = next(
        v for v in many_virtio_blk.scan["guest_verdicts"] if v["feature"] == "device_limit"
    )
    assert limit["status"] == "not_usable", limit


# -- sata-nvme ----------------------------------------------------------------------------


def test_sata_through_libata(sata_nvme: RunResult) -> None:
    label = "sata_SATASER1"
    assert sata_nvme.probe(label, "inquiry").stdout[8:16] == b"ATA     "
    for name in ("pr_read_keys", "write_same16_oor", "write_same10_oor", "write_same16_unmap_oor"):
        assert sata_nvme.exit_status(label, name) == INVALID_OPCODE_EXIT, name
    assert scan_disk(sata_nvme, label)["transport"]["kind"] == "ata"


def test_thin_tgt_lun_answers_far_lba_write_same_unmap_out_of_range(sata_nvme: RunResult) -> None:
    """thin_provisioning=1: tgt takes WRITE SAME(16) with UNMAP and checks the LBA (22), where the
    thick LUN of `mixed` refuses the UNMAP bit first (5)."""
    label = "tgt-lun2_path1"
    for name in ("write_same16_oor", "write_same10_oor", "write_same16_unmap_oor"):
        assert sata_nvme.exit_status(label, name) == LBA_OUT_OF_RANGE_EXIT, name
        assert probe(scan_disk(sata_nvme, label), name)["exit_status"] == LBA_OUT_OF_RANGE_EXIT
    lbp = scan_disk(sata_nvme, label)["facts"]["capacity"]
    assert lbp["decoded"]["lbpme"] is True, lbp


def test_nvme_translated_by_sg3_utils(sata_nvme: RunResult) -> None:
    label = "nvme_NVMESER1"
    assert sata_nvme.disks[label]["sg"] is None
    assert sata_nvme.exit_status(label, "inquiry") == 0
    assert sata_nvme.exit_status(label, "pr_read_keys") == INVALID_OPCODE_EXIT
    assert sata_nvme.exit_status(label, "write_same16_oor") == LBA_OUT_OF_RANGE_EXIT
    disk = scan_disk(sata_nvme, label)
    assert disk["transport"]["kind"] == "nvme"
    # sg_inq answers with NVMe Identify Controller data: decoded as such, not as INQUIRY
    identity = disk["facts"]["identity"]
    assert (identity["vendor"], identity["product"]) == ("NVMe", "QEMU NVMe Ctrl")
    assert disk["facts"]["inquiry"]["nvme_identify_controller"]["serial_number"] == "NVMESER1"


# -- hung-target: tgtd stopped while the scan runs ----------------------------------------


def test_hung_target_was_stopped_during_the_scan(hung_target: RunResult) -> None:
    events = hung_target.target_events
    assert "stopped" in events and "resumed" in events, explain(hung_target)
    assert hung_target.guest.get("target_stopped") is True


def test_hung_target_scan_ends_within_its_timeout(hung_target: RunResult) -> None:
    assert hung_target.scan is not None, explain(hung_target)
    timeout_s = hung_target.scan["scan"]["options"]["timeout_s"]
    # one timeout for the hung disk (it costs one, not one per probe), plus the start-up
    assert hung_target.command["duration_s"] < 3 * timeout_s + 30, explain(hung_target)
    lun = scan_disk(hung_target, "tgt-lun1_path1")
    assert lun["status"] == "timed_out"
    assert [p["name"] for p in lun["probes"] if p["outcome"] == "timed_out"] == ["inquiry"]
    assert lun["processes"] == 1  # nothing more is sent to a disk that timed out once
    shd = scan_disk(hung_target, "scsi-hd_SHDSER02")
    assert shd["status"] == "probed"
    assert probe(shd, "inquiry")["outcome"] == "ok"


def test_hung_target_verdicts_are_unknown_not_negative(hung_target: RunResult) -> None:
    lun = scan_disk(hung_target, "tgt-lun1_path1")
    for feature in ("discovery", "naming", "pr_fencing"):
        assert verdict(lun, feature)["status"] == "unknown", feature


# -- foreign-reservation: another initiator registered and reserved -----------------------


def test_foreign_reservation_is_seen_from_the_other_path(foreign_reservation: RunResult) -> None:
    result = foreign_reservation
    assert [step["rc"] for step in result.reservation_setup or []] == [0, 0], explain(result)
    assert result.disks["tgt-lun1_path2"].get("deleted") is True
    label = "tgt-lun1_path1"
    keys = registered_keys(result.probe(label, "pr_read_keys").stdout.decode())
    assert keys == [FOREIGN_KEY]
    held = reservation(result.probe(label, "pr_read_reservation").stdout.decode())
    assert held == (FOREIGN_KEY, 5)  # Write Exclusive - Registrants Only
    # tgt checks the LBA before the reservation: no RESERVATION CONFLICT for out-of-range probes
    assert result.exit_status(label, "write_same16_oor") == LBA_OUT_OF_RANGE_EXIT


def test_foreign_reservation_scan(foreign_reservation: RunResult) -> None:
    lun = scan_disk(foreign_reservation, "tgt-lun1_path1")
    pr = lun["facts"]["persistent_reservations"]
    assert pr["keys"]["keys_hex"] == [f"{FOREIGN_KEY:016x}"]
    held = pr["reservation"]["reservation"]
    assert (held["key_hex"], held["type_code"]) == (f"{FOREIGN_KEY:016x}", 5)
    (veritas,) = pr["veritas_keys"]  # another node's VxFEN key: "VF1A2B03"
    assert (veritas["ascii"], veritas["cluster_id"], veritas["node_id"]) == ("VF1A2B03", 6699, 3)
    fencing = verdict(lun, "pr_fencing")
    assert fencing["status"] == "degraded"
    assert "reserved_by_veritas_cluster" in reason_codes(fencing)
    assert "cluster 6699, node 3" in fencing["reasons"][0]["text"]
