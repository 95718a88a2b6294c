"""The terminal report's first screen: it fits 80x24 and answers there; the fixes fit the case."""


import json

import checkfacts as cf
import pytest
from documents import judge_in_place as apply_checks
from reportpages import EXAMPLE_BUNDLES, EXAMPLES, example_report, judge, terminal_of, view_of
from test_bundle_cli import run_cli

from guestprobe.report.table import STATUS_SYMBOLS, feature_head, matrix_features

WIDTH = 80
SCREEN = 24


def _printed(capsys, monkeypatch, bundle, *options: str) -> str:
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    status, out, err = run_cli(capsys, "report", *options, str(bundle))
    assert status == 0, err
    return out


def _outside_xml(text: str) -> "list[str]":
    """The lines that are not the domain XML of a fix (which is kept whole, to be copied)."""
    return [line for line in text.splitlines() if not line.strip().startswith("<")]


@pytest.mark.parametrize("brief", [False, True], ids=["full", "brief"])
@pytest.mark.parametrize("bundle", EXAMPLE_BUNDLES, ids=lambda p: p.name)
def test_the_report_fits_80_columns_and_answers_on_the_first_screen(
    capsys, monkeypatch, bundle, brief
):
    text = _printed(capsys, monkeypatch, bundle, *(["--brief"] if brief else []))
    wide = [line for line in _outside_xml(text) if len(line) > WIDTH]
    assert not wide, wide
    _, out, _ = run_cli(capsys, "report", "--json", str(bundle))
    document = json.loads(out)
    screen = text.splitlines()[:SCREEN]
    first = "\n".join(screen)
    platform = document["platform"]
    assert f"node {platform['hostname']}," in first
    assert f"kernel {platform['kernel_release']}," in first
    assert f"sg3_utils {platform['sg3_utils']['release']} " in first
    view = view_of(document)
    features = matrix_features(view)
    head = next(line for line in screen if line.startswith("DISK "))
    assert head.split()[-len(features):] == [feature_head(f) for f in features]
    for disk in view.disks:  # every disk's row of the matrix, cell for cell
        cells = [STATUS_SYMBOLS[disk.verdicts[f].status] for f in features]
        assert any(line.split()[:1] == [disk.name] and line.split()[-len(features):] == cells
                   for line in screen), disk.name
    if bundle.name == "foreign-reservation.tar.gz":
        assert "held by VF1A2B03: cluster 6699, node 3" in " ".join(
            line.strip() for line in screen)


def test_the_holder_s_remedy_is_the_fix_that_matters(capsys, monkeypatch):
    text = _printed(capsys, monkeypatch, EXAMPLES / "foreign-reservation.tar.gz")
    screen = " ".join(line.strip() for line in text.splitlines()[:SCREEN])
    assert "fix [1]: Use this LU only as a member of the Veritas cluster that holds it" in screen
    fixes = text.split("\nFIXES (", 1)[1]
    first = fixes.split("\n[2] ", 1)[0]
    assert "vxfenclearpre" in first and "InfoScale configuration — for sdb: pr_fencing" in first


def test_no_fix_the_guest_already_has(capsys, monkeypatch):
    # the guest's one disk already is a LUN passed through on virtio-scsi: fencing readiness
    # asks for more LUNs like it, not for "the LUN itself"
    text = _printed(capsys, monkeypatch, EXAMPLES / "foreign-reservation.tar.gz")
    assert "Give the guest the LUN itself" not in text
    assert "give it more LUNs the same way" in " ".join(text.split())


def test_a_fix_for_one_disk_names_its_wwid_and_target():
    disk = cf.passthrough_pr_filtered()
    document = cf.document([disk])
    apply_checks(document)
    view = view_of(document)
    name, designator = disk["name"], disk["facts"]["identity"]["lu_designator"]
    lun = next(r for r in view.remedies if "<reservations managed=" in r.text)
    assert f"dm-uuid-mpath-3{designator[4:]}" in lun.text and "-WWID" not in lun.text
    assert f"<target dev='{name}' bus='scsi'/>" in lun.text


def test_an_unknown_hypervisor_gets_no_libvirt_fix():
    document = cf.document([cf.virtio_blk()], {
        "dmi_sys_vendor": "", "dmi_product_name": "", "sys_hypervisor_type": None,
        "cpu_hypervisor_flag": True})
    apply_checks(document)
    view = view_of(document)
    assert view.remedies and all(r.platform != "libvirt" for r in view.remedies)
    text = terminal_of(document, width=WIDTH)
    assert "the guest runs on unknown" not in text
    assert "the hypervisor is unknown, so no hypervisor's own fixes are given" in " ".join(
        text.split())


def _permission_denied(disk: dict) -> dict:
    for probe in disk["probes"]:
        if probe.get("source") == "sg3_utils":
            probe.update(outcome="permission_denied", exit_status=51)
    return disk


def test_eperm_as_root_is_a_guest_wide_finding_not_a_transport_verdict():
    document = cf.document([_permission_denied(cf.passthrough())], {"euid": 0})
    apply_checks(document)
    raw_io = {v["feature"]: v for v in document["guest_verdicts"]}["raw_io"]
    assert (raw_io["status"], raw_io["reasons"][0]["code"]) == (
        "not_usable", "no_raw_io_capability")
    for verdict in document["disks"][0]["verdicts"]:
        if verdict["feature"] in ("discovery", "pr_fencing", "fast_recovery", "thin_reclaim",
                                  "naming"):
            assert (verdict["status"], verdict["reasons"][0]["code"]) == (
                "unknown", "raw_io_denied"), verdict["feature"]
    text = terminal_of(document, width=WIDTH)
    assert "guest  Raw SCSI I/O from this process: NOT USABLE (no_raw_io_capability)" in text


def test_a_scan_that_could_send_reports_raw_io_usable():
    document = judge(example_report(EXAMPLES / "mixed.tar.gz"))
    raw_io = {v["feature"]: v for v in document["guest_verdicts"]}["raw_io"]
    assert raw_io["status"] == "usable"


def test_disk_and_feature_narrow_the_printed_report(capsys, monkeypatch):
    bundle = EXAMPLES / "mixed.tar.gz"
    text = _printed(capsys, monkeypatch, bundle, "--disk", "/dev/sdb", "--feature", "pr_fencing")
    rows = [line.split()[0] for line in text.splitlines() if line[:4] in ("sda ", "sdb ", "vda ")]
    assert set(rows) == {"sdb"}
    assert "thin_reclaim" not in text and "FENC" in text and "DISC" not in text
    status, _, err = run_cli(capsys, "report", "--disk", "sdz", str(bundle))
    assert status == 2 and "no disk sdz in this report (it has sda, sdb, vda)" in err
    status, _, err = run_cli(capsys, "report", "--feature", "nope", str(bundle))
    assert status == 2 and "no feature nope" in err


def test_json_with_brief_is_refused(capsys):
    status, out, err = run_cli(capsys, "report", "--json", "--brief",
                               str(EXAMPLES / "mixed.tar.gz"))
    assert status == 2 and not out and "--brief" in err and "--json" in err


def test_a_redacted_bundle_says_so_in_the_header(capsys, monkeypatch):
    text = _printed(capsys, monkeypatch, EXAMPLES / "mixed-redacted.tar.gz")
    assert "REDACTED" in "\n".join(text.splitlines()[:4])
    text = _printed(capsys, monkeypatch, EXAMPLES / "mixed.tar.gz")
    assert "not redacted" in "\n".join(text.splitlines()[:4])


def test_words_have_their_plurals():
    text = terminal_of(judge(example_report(EXAMPLES / "foreign-reservation.tar.gz")))
    for wrong in ("1 disks", "LU(s)", "verdict(s)", "path(s)", "controller(s)", "'report'.;"):
        assert wrong not in text, wrong
    assert "1 disk in " in text
