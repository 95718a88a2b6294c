"""The whole scan, end to end, on a fake guest: sysfs laid from captures, sg3_utils replayed."""


import json
import time
from pathlib import Path

import jsonschema
import pytest
from documents import build_document
from fakesys import MIXED, kvm_mixed
from replay import SG_INQ_VERSION, register_disk

from guestprobe.check.rule_engine import apply_checks
from guestprobe.collect import process
from guestprobe.collect.probe import ProbeOptions
from guestprobe.collect.scan import collect
from guestprobe.collect.sg3 import SG3_TOOLS
from guestprobe.collect.sysfs import SysRoot
from guestprobe.collect.udev import UdevView
from guestprobe.document.build import collection_from_document

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "guestprobe/document/schema.json").read_text()
)


def validate(document: dict) -> None:
    jsonschema.validate(document, SCHEMA)


def _scan(fake, fp, **options):
    fp.register(["sg_inq", "--version"], stderr=SG_INQ_VERSION)
    sys = SysRoot(fake.root)
    return collect(ProbeOptions(engine="cli", **options), sys=sys,
                   udev=UdevView(run_dir=fake.p("/run/udev")))


@pytest.fixture
def mixed(tmp_path, fp):
    fake = kvm_mixed(tmp_path)
    register_disk(fp, MIXED / "0x1af4_VBLKSER01", "/dev/vda")
    register_disk(fp, MIXED / "IET_beaf11", "/dev/sg1")
    register_disk(fp, MIXED / "QEMU_SHDSER01", "/dev/sg0")
    return fake


def test_mixed_guest_three_transports(mixed, fp):
    document = build_document(_scan(mixed, fp))
    validate(document)
    disks = {d["name"]: d for d in document["disks"]}
    assert disks["vda"]["transport"]["kind"] == "virtio-blk"
    assert (disks["sda"]["transport"]["kind"], disks["sda"]["transport"]["mode"]) == (
        "virtio-scsi",
        "passthrough",
    )
    assert disks["sdb"]["transport"]["mode"] == "emulated"
    # virtio-blk: the live INQUIRY fails with ENOTTY and nothing more is sent
    vda_probes = {p["name"]: p for p in disks["vda"]["probes"]}
    assert vda_probes["inquiry"]["exit_status"] == 75
    assert vda_probes["inquiry"]["outcome"] == "passthrough_unavailable"
    assert all(p["outcome"] == "skipped" for n, p in vda_probes.items() if n != "inquiry")
    assert disks["vda"]["processes"] == 1
    # the tgt LUN: its NAA designator, PR IN working, WRITE SAME implemented
    sda = disks["sda"]["facts"]
    assert sda["identity"]["lu_designator"].startswith("naa.6")
    assert sda["persistent_reservations"]["read_keys_outcome"] == "ok"
    assert sda["write_same"]["write_same16_oor"]["outcome"] == "lba_out_of_range"
    assert sda["write_same"]["write_same16_unmap_oor"]["outcome"] == "not_supported"
    # QEMU scsi-hd: PR IN is an invalid opcode, the follow-ups are skipped
    sdb = disks["sdb"]["facts"]["persistent_reservations"]
    assert sdb["read_keys_outcome"] == "not_supported"
    assert sdb["read_reservation_outcome"] == "skipped"
    # VPD pages came from the kernel's sysfs copies, not from processes
    sda_probes = {p["name"]: p for p in disks["sda"]["probes"]}
    assert sda_probes["vpd_0x83"]["source"] == "sysfs"
    assert sda_probes["inquiry"]["source"] == "sg3_utils"


def test_no_write_probes_sends_no_write_same(mixed, fp):
    document = build_document(_scan(mixed, fp, write_probes=False))
    for disk in document["disks"]:
        for probe in disk["probes"]:
            assert not (probe["argv"] or [""])[0].startswith("sg_write_same")
    assert not any(call[0] == "sg_write_same" for call in fp.calls)


def test_report_round_trips_through_json(mixed, fp):
    document = build_document(_scan(mixed, fp))
    again = build_document(collection_from_document(json.loads(json.dumps(document))))
    for first, second in zip(document["disks"], again["disks"]):
        assert first["facts"] == second["facts"]
        assert first["transport"] == second["transport"]


def test_hung_disk_times_out_once_and_the_rest_go_on(tmp_path, fp):
    mixed = kvm_mixed(tmp_path)
    fp.register(["sg_inq", "--version"], stderr=SG_INQ_VERSION)
    # the tgt LUN's target stops answering: its INQUIRY never returns
    register_disk(fp, MIXED / "0x1af4_VBLKSER01", "/dev/vda", timeout_s=1)
    register_disk(fp, MIXED / "QEMU_SHDSER01", "/dev/sg0", timeout_s=1)
    hung = ["sg_inq", "--raw", "--only", "/dev/sg1"]
    fp.pass_command(["sleep", "30"])  # a real process that does not answer in time

    def run(argv, timeout_s):
        if list(argv) == hung:
            return process.run(["sleep", "30"], timeout_s)
        return process.run(argv, timeout_s)

    sys = SysRoot(mixed.root)
    start = time.monotonic()
    collection = collect(
        ProbeOptions(engine="cli", timeout_s=0.5), sys=sys,
        udev=UdevView(run_dir=mixed.p("/run/udev")), run=run,
    )
    assert time.monotonic() - start < 10
    document = build_document(collection, apply_checks)
    validate(document)
    disks = {d["name"]: d for d in document["disks"]}
    assert disks["sda"]["status"] == "timed_out"
    # no answer is not a "no": the hung disk's verdicts are unknown, not negative
    verdicts = {v["feature"]: v["status"] for v in disks["sda"]["verdicts"]}
    for feature in ("discovery", "naming", "pr_fencing", "fast_recovery"):
        assert verdicts[feature] == "unknown", feature
    assert disks["sda"]["processes"] == 1  # one timeout, then nothing more to that disk
    assert disks["sdb"]["status"] == "probed"
    assert document["scan"]["complete"] is False


def test_collect_asks_sg3_utils_release_through_the_runner_and_leaves_the_options_alone(
    tmp_path, fp
):
    """``sg_inq --version`` goes through the injected runner with the scan's timeout, and the
    release it names adapts the plan without touching the caller's (frozen) options."""
    fake = kvm_mixed(tmp_path)
    register_disk(fp, MIXED / "0x1af4_VBLKSER01", "/dev/vda")
    register_disk(fp, MIXED / "IET_beaf11", "/dev/sg1")
    register_disk(fp, MIXED / "QEMU_SHDSER01", "/dev/sg0")
    asked = []

    def run(argv, timeout_s):
        if list(argv) == ["sg_inq", "--version"]:
            asked.append(timeout_s)
            return process.CommandResult(
                argv=tuple(argv), exit_status=0, duration_s=0.0, stdout=b"",
                stderr=SG_INQ_VERSION,  # sg3_utils 1.46
            )
        return process.run(argv, timeout_s)

    options = ProbeOptions(engine="cli", timeout_s=15.0)  # the captures were sent with --timeout=15
    collection = collect(
        options, sys=SysRoot(fake.root), udev=UdevView(run_dir=fake.p("/run/udev")), run=run
    )
    assert asked == [15.0]  # the scan's own timeout (it was a fixed 10 s, outside the runner)
    assert options == ProbeOptions(engine="cli", timeout_s=15.0)  # no sg3_release written into it
    with pytest.raises(AttributeError):
        options.sg3_release = (1, 44)  # type: ignore[misc]
    assert collection.platform.sg3_utils["release"] == "1.46"


def test_tools_that_flood_cost_the_scan_its_output_cap_and_the_scan_goes_on(
    tmp_path, monkeypatch
):
    """Every tool writes without end (`yes`): each is killed at its stream's limit until the
    scan's total is kept, then every probe with output is output_too_large at once; every
    disk is still probed and the report holds at most the total."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in SG3_TOOLS:
        script = bin_dir / name
        script.write_text(
            "#!/bin/sh\n"
            'if [ "$1" = --version ]; then echo "version: 2.01 20200417" >&2; exit 0; fi\n'
            "exec yes\n"
        )
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setattr(process, "OUTPUT_LIMIT", 1024 * 1024)
    monkeypatch.setattr(process, "TOTAL_OUTPUT_LIMIT", 3 * 1024 * 1024, raising=False)
    fake = kvm_mixed(tmp_path / "root")
    udev = UdevView(run_dir=fake.p("/run/udev"))
    collection = collect(ProbeOptions(engine="cli", timeout_s=20), sys=SysRoot(fake.root),
                         udev=udev)
    probes = [p for d in collection.disks for p in d.probes if p.source == "sg3_utils"]
    kept = sum(len(p.stdout_hex) // 2 for p in probes)
    assert kept <= 3 * 1024 * 1024
    flooded = [p for p in probes if p.outcome == "output_too_large"]
    assert len(flooded) == len(probes) >= 3  # a disk each, at least: none skipped for it
    assert any("output limit" in p.exit_meaning for p in flooded)
    assert {d.disk.name for d in collection.disks} == {"vda", "sda", "sdb"}
    validate(build_document(collection))
