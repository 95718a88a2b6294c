"""The findings under the matrix: every verdict that is not usable, its reason and its fix."""


import copy
import json
import re
import sys

import pytest
from reportpages import (
    EXAMPLE_BUNDLES,
    EXAMPLES,
    PageText,
    example_report,
    judge,
    normalize,
    not_usable,
    page_of,
    terminal_of,
    unfilled,
    view_of,
)
from test_bundle_cli import FakeGuest, run_cli

from guestprobe.cli import common
from guestprobe.decode.hexdump import format_hexdump
from guestprobe.report.terminal import render_findings

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(params=EXAMPLE_BUNDLES, ids=lambda p: p.name)
def example(request, capsys, monkeypatch):
    """(the judged JSON, what ``guestprobe report`` prints) of one example bundle."""
    monkeypatch.setenv("COLUMNS", "100")
    status, out, err = run_cli(capsys, "report", "--json", str(request.param))
    assert status == 0, err
    status, text, err = run_cli(capsys, "report", str(request.param))
    assert status == 0, err
    return json.loads(out), text


def test_every_verdict_not_usable_is_listed_with_its_reasons_and_fix(example):
    document, text = example
    findings = text.split("FINDINGS:", 1)[1]
    flat = unfilled(normalize(findings))
    verdicts = not_usable(document)
    assert verdicts, "every example has verdicts that are not usable"
    for who, verdict in verdicts:
        status = {"not_usable": "NOT USABLE", "degraded": "DEGRADED", "unknown": "UNKNOWN"}
        heads = [
            line for line in findings.splitlines()
            if line.startswith(status[verdict["status"]])
            and f"  {verdict['feature']} (" in line and who in line
        ]
        assert heads, (who, verdict["feature"])
        for reason in verdict["reasons"]:
            assert f"{reason['code']}: {normalize(reason['text'])}" in flat, reason["code"]
        for remedy in verdict["remediation"]:
            assert unfilled(normalize(remedy["text"])) in flat, (who, verdict["feature"],
                                                                  remedy["platform"])


def test_each_fix_is_printed_once_with_whom_it_is_for(example):
    document, text = example
    fixes = text.split("FIXES (each once", 1)[1].split("\n", 1)[1] if "FIXES (" in text else ""
    remedies = {unfilled(normalize(r["text"]))
                for _, v in not_usable(document) for r in v["remediation"]}
    for remedy in remedies:
        assert unfilled(normalize(fixes)).count(remedy) == 1
    numbered = re.findall(r"^\[(\d+)\] .* — for (.+)$", fixes, re.M)
    assert [int(n) for n, _ in numbered] == list(range(1, len(numbered) + 1))
    findings = text.split("FINDINGS:", 1)[1].split("FIXES (each once", 1)[0]
    for number, _ in numbered:  # every fix is named by a finding or a caveat
        assert f"[{number}]" in findings


def test_a_verdict_without_a_remedy_says_so():
    document = judge(example_report(EXAMPLES / "foreign-reservation.tar.gz"))
    (name,) = [disk["name"] for disk in document["disks"]]
    block = terminal_of(document).split(f"NOT USABLE  {name}  thin_reclaim", 1)[1]
    assert "fix: none in the rules" in block.split("\n\n", 1)[0]


def test_the_holder_of_a_foreign_reservation_is_named():
    """The rig's other initiator holds the LU with a VxFEN key (VF1A2B03): cluster and node."""
    document = judge(example_report(EXAMPLES / "foreign-reservation.tar.gz"))
    (name,) = [disk["name"] for disk in document["disks"]]
    text = normalize(terminal_of(document))
    assert ("reservation holder: write_exclusive_registrants_only held by key 0x5646314132423033 "
            "'VF1A2B03' (Veritas coordinator key: cluster 6699, node 3)") in text
    assert "registered keys: 0x5646314132423033 (the holder's)" in text
    assert f"DEGRADED {name} pr_fencing" in text and "reserved_by_veritas_cluster" in text


def _pr_in(keys: "list[bytes]", reservation: "bytes | None") -> "tuple[str, str]":
    read_keys = (1).to_bytes(4, "big") + (8 * len(keys)).to_bytes(4, "big") + b"".join(keys)
    held = b"" if reservation is None else reservation + bytes([0, 0, 0, 0, 0, 0x05, 0, 0])
    read_reservation = (1).to_bytes(4, "big") + len(held).to_bytes(4, "big") + held
    return (format_hexdump(read_keys, 1).encode().hex(),
            format_hexdump(read_reservation, 1).encode().hex())


def _with_pr_in(keys: "list[bytes]", reservation: "bytes | None") -> "dict":
    """The foreign-reservation example judged as if its PR IN answers held these keys."""
    report = copy.deepcopy(example_report(EXAMPLES / "foreign-reservation.tar.gz"))
    keys_hex, reservation_hex = _pr_in(keys, reservation)
    for probe in report["disks"][0]["probes"]:
        if probe["name"] == "pr_read_keys":
            probe["stdout_hex"] = keys_hex
        elif probe["name"] == "pr_read_reservation":
            probe["stdout_hex"] = reservation_hex
    return judge(report)


def test_a_veritas_holder_is_decoded_to_cluster_and_node():
    """The foreign-reservation LU as held by node 1 of Veritas cluster 57069 (VFDEED01),
    with a CVM data disk key of node 2 registered: both decoded, in the terminal and the page."""

    document = _with_pr_in([b"VFDEED01", b"CPGR0001"], b"VFDEED01")
    (name,) = [disk["name"] for disk in document["disks"]]
    text = normalize(terminal_of(document))
    holder = ("reservation holder: write_exclusive_registrants_only held by key "
              "0x5646444545443031 'VFDEED01' (Veritas coordinator key: cluster 57069, node 1)")
    assert holder in text
    assert ("0x4350475230303031 'CPGR0001' (Veritas data disk key (CVM shared disk group), "
            "node 2)") in text
    assert f"DEGRADED {name} pr_fencing" in text and "reserved_by_veritas_cluster" in text
    page = PageText(page_of(document)).text
    assert holder.replace("reservation holder: ", "reservation holder ") in page


def test_a_holder_in_no_veritas_format_is_said_to_be_one():
    """The same LU held by a key in no Veritas format (another cluster's tool, a manual
    sg_persist): not usable, and the holder's key is called what it is."""
    key = bytes.fromhex("f0e1d2c3b4a59687")
    document = _with_pr_in([key], key)
    (name,) = [disk["name"] for disk in document["disks"]]
    text = normalize(terminal_of(document))
    assert ("reservation holder: write_exclusive_registrants_only held by key 0xf0e1d2c3b4a59687 "
            "(not a Veritas or fence_scsi key format: another cluster or a manual sg_persist)"
            ) in text
    assert f"NOT USABLE {name} pr_fencing" in text and "reserved_by_other" in text


def test_paths_of_one_lu_give_one_finding():
    text = terminal_of(judge(example_report(EXAMPLES / "two-paths.tar.gz")))
    lu = "LU naa.60000000000000000e00000000010001 (sda, sdb)"
    heads = [line for line in text.splitlines() if line.startswith(("NOT USABLE", "DEGRADED"))]
    assert heads and all(lu in line for line in heads if "guest" not in line)
    assert sum("  thin_reclaim (" in line for line in heads) == 1


def test_paths_that_disagree_are_listed_each():
    report = example_report(EXAMPLES / "two-paths.tar.gz")
    document = judge(report)
    sdb = next(d for d in document["disks"] if d["name"] == "sdb")
    resize = next(v for v in sdb["verdicts"] if v["feature"] == "resize")
    resize["reasons"][0]["text"] += " (only on this path)"
    view = view_of(document)
    subjects = [f.subject for f in view.findings if f.verdict.feature == "resize"]
    assert subjects == [
        "sda (a path to LU naa.60000000000000000e00000000010001)",
        "sdb (a path to LU naa.60000000000000000e00000000010001)",
    ]


def test_usable_with_a_caveat_is_one_entry_each():
    view = view_of(judge(example_report(EXAMPLES / "mixed.tar.gz")))
    caveats = {(f.subject, f.verdict.feature) for f in view.caveats}
    assert ("sdb", "pr_fencing") in caveats  # passive: not yet proven, error_policy note
    assert ("sdb", "fast_recovery") in caveats  # the host's cache='none' cannot be seen
    assert ("sdb", "discovery") not in caveats
    text = render_findings(view)
    entries = [line for line in text.splitlines() if line.startswith("  usable  ")]
    assert len(entries) == len(view.caveats)


def test_brief_keeps_only_the_tables(capsys):
    bundle = str(EXAMPLES / "mixed.tar.gz")
    status, brief, _ = run_cli(capsys, "report", "--brief", bundle)
    status_full, full, _ = run_cli(capsys, "report", bundle)
    assert status == status_full == 0
    assert "FINDINGS" not in brief and "FIXES" not in brief
    assert "FINDINGS" in full and full.startswith(brief)


def test_colour_only_adds_to_the_words():
    document = judge(example_report(EXAMPLES / "mixed.tar.gz"))
    plain = terminal_of(document, color=False)
    coloured = terminal_of(document, color=True)
    assert "\x1b[31mNOT USABLE\x1b[0m" in coloured and "\x1b[31mNO\x1b[0m" in coloured
    assert "\x1b" not in plain
    assert ANSI.sub("", coloured) == plain  # the words carry the meaning


class _Tty:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "no_color", "expected"),
    [(True, None, True), (True, "1", False), (False, None, False), (True, "", True)],
)
def test_colour_on_a_tty_without_no_color(monkeypatch, tty, no_color, expected):
    monkeypatch.setattr(sys, "stdout", _Tty(tty))
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert common.use_color() is expected


@pytest.mark.parametrize("width", [50, 80, 120])
def test_prose_wraps_to_the_width(width):
    view = view_of(judge(example_report(EXAMPLES / "mixed.tar.gz")))
    text = render_findings(view, width=width)
    for line in text.splitlines():
        verbatim = line.startswith("      ")  # a fix's domain XML or YAML, kept as written
        assert len(line) <= width or verbatim or " " not in line.strip(), line


def test_terminal_width_follows_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "72")
    assert common.terminal_width() == 72


def test_the_readme_shows_what_report_prints():
    readme = (EXAMPLES.parent / "README.md").read_text()
    intro = ("`COLUMNS=80 guestprobe report --brief\nexamples/foreign-reservation.tar.gz` "
             "(without `--brief`, the findings and fixes follow):\n\n```text\n")
    block = readme.split(intro, 1)
    assert len(block) == 2
    shown = block[1].split("\n```\n", 1)[0]
    document = judge(example_report(EXAMPLES / "foreign-reservation.tar.gz"))
    printed = terminal_of(document, width=80, brief=True).rstrip("\n")
    # (the scan line's duration is the bundle's: the same every time)
    assert shown == printed


def test_scan_writes_the_page_too(tmp_path, fp, monkeypatch, capsys):
    FakeGuest(tmp_path / "guest", fp, monkeypatch)  # the kvm-mixed guest, sg3_utils replayed
    page = tmp_path / "scan.html"
    status, out, err = run_cli(capsys, "scan", "--html", str(page))
    assert status == 0, err
    html = page.read_text()
    assert "FINDINGS:" in out and "virtio_blk_no_pr" in out
    assert html.startswith("<!DOCTYPE html>") and "virtio_blk_no_pr" in html


def test_an_unwritable_page_is_one_line_and_exit_7(tmp_path, capsys):
    target = tmp_path / "missing-folder" / "report.html"
    status, _, err = run_cli(capsys, "report", "--html", str(target),
                             str(EXAMPLES / "mixed.tar.gz"))
    assert status == 7
    assert err.startswith("guestprobe: cannot write") and err.count("\n") == 1


def test_alike_disks_share_a_finding():
    """Nine disks, three of each kind of the mixed guest: one finding per kind and feature."""
    document = judge(example_report(EXAMPLES / "mixed.tar.gz"))
    kinds = document["disks"]
    document["disks"] = []
    for index in range(9):
        disk = copy.deepcopy(kinds[index % 3])
        disk["name"] = f"d{index}"
        document["disks"].append(disk)
    view = view_of(document)
    single = view_of(judge(example_report(EXAMPLES / "mixed.tar.gz")))
    assert len(view.findings) == len(single.findings)
    vda_like = [f for f in view.findings if f.verdict.codes[0] == "virtio_blk_no_pr"]
    assert [(f.subject, f.disks) for f in vda_like] == [("d2, d5, d8", ["d2", "d5", "d8"])]
    assert ("d2, d5, d8", "pr_fencing") in view.remedies[vda_like[0].verdict.remedies[0]].applies_to


def test_a_redacted_bundle_renders_redacted(tmp_path, capsys):
    page_file = tmp_path / "redacted.html"
    bundle = str(EXAMPLES / "mixed-redacted.tar.gz")
    status, text, _ = run_cli(capsys, "report", "--html", str(page_file), bundle)
    assert status == 0
    page = page_file.read_text()
    assert "Redacted bundle" in page  # says so
    for secret in ("node2", "VBLKSER01", "SHDSER01", "beaf", "0e00000000010001"):
        assert secret not in page and secret not in text  # hex dumps' ASCII column included
    assert "virtio_blk_no_pr" in page and "virtio_blk_no_pr" in text


def test_each_cell_holds_its_evidence():
    """The pr_fencing cell of the foreign reservation: the commands, exit statuses, the PR IN
    data as bytes (read from sg_persist's own hex dump), and the decoded fields."""

    document = judge(example_report(EXAMPLES / "foreign-reservation.tar.gz"))
    view = view_of(document)
    name = view.disks[0].name
    verdict = view.disks[0].verdicts["pr_fencing"]
    assert [p.id for p in verdict.probes] == [
        f"{name}/pr_read_keys", f"{name}/pr_read_reservation", f"{name}/pr_report_capabilities"]
    reservation = verdict.probes[1]
    assert reservation.printed_as_hexdump and not reservation.raw_damaged
    assert reservation.raw[8:16] == b"VF1A2B03"
    page = page_of(document)
    opened = page.split('<td class="cell degraded"><details>')[1:]
    cells = [c.split("</details>", 1)[0] for c in opened]
    (cell,) = [c for c in cells if "<code>pr_fencing</code>" in c]
    assert "sg_persist --readonly --no-inquiry --in --hex --hex --read-reservation" in cell
    assert "0 — success" in cell
    assert " 00     00 00 00 01 00 00 00 10  56 46 31 41 32 42 30 33" in cell
    assert "reservation.reservation.type_name" in cell  # decoded fields
    assert "write_exclusive_registrants_only" in cell


def test_a_damaged_answer_is_shown_not_fatal():

    document = judge(example_report(EXAMPLES / "foreign-reservation.tar.gz"))
    probe = next(p for p in document["disks"][0]["probes"] if p["name"] == "pr_read_keys")
    # hex, as a saved report is checked to hold, but a dump whose header cannot be
    damaged = b"  PR generation=0x3, Additional length=99999999999\nzz-not-a-dump"
    probe["output_format"], probe["stdout_hex"] = "hex", damaged.hex()
    page = page_of(document)
    assert "the answer as stored (it does not decode)" in page and "zz-not-a-dump" in page
