"""The committed rig captures (tests/fixtures/rig/) still match guestprobe's probe plan.

No guest needed. When guestprobe/collect/sg3.py changes an argv, these fail: capture again with
``python -m tests.vm.rig all --write-fixtures`` (see tests/vm/README.md). A probe added to the
plan after the captures (``LATER_PROBES``) may be missing from a folder, where it stands for
"not collected" (tests/unit/replay.py replays it so); where it was captured, its argv must match.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from guestprobe.collect import sg3

from .rig import FIXTURES, guestprobe_probe_timeout_s, read_capture
from .scenarios import SCENARIOS

CAPTURED = [name for name, scenario in SCENARIOS.items() if scenario.captured]
PROBE_FILES = (".argv", ".out", ".err", ".rc")
LATER_PROBES = {sg3.PR_READ_FULL_STATUS.name: sg3.PR_READ_FULL_STATUS}


def disk_folders(scenario: str) -> list[Path]:
    root = FIXTURES / scenario
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name != "guest")


def expected_plan(disk_dir: Path) -> dict[str, list[str]]:
    """guestprobe's probe argvs for this disk now, on the node it was captured through."""
    node = shlex.split((disk_dir / "inquiry.argv").read_text())[-1]
    sectors = int((disk_dir / "sysfs" / "size").read_text())
    block_size = int((disk_dir / "sysfs" / "queue" / "logical_block_size").read_text())
    specs = [sg3.INQUIRY, *(sg3.vpd_probe(page) for page in sg3.VPD_PAGES)]
    specs += [sg3.READ_CAPACITY_16, sg3.PR_READ_KEYS, sg3.PR_READ_RESERVATION]
    specs += [sg3.PR_REPORT_CAPABILITIES, sg3.REPORT_OPCODES]
    timeout_s = guestprobe_probe_timeout_s()
    specs += sg3.write_same_probes(sectors * 512 // block_size, block_size, timeout_s)
    return {spec.name: spec.argv(node) for spec in specs}


@pytest.mark.parametrize("scenario", CAPTURED)
def test_every_captured_scenario_has_its_disks(scenario: str) -> None:
    root = FIXTURES / scenario
    assert (root / "PROVENANCE.md").is_file()
    assert (root / "guest" / "kernel_release.txt").is_file()
    visible = {disk.label for disk in SCENARIOS[scenario].visible_disks}
    assert {folder.name for folder in disk_folders(scenario)} == visible


@pytest.mark.parametrize("scenario", CAPTURED)
def test_captured_argvs_are_guestprobes_current_ones(scenario: str) -> None:
    for disk_dir in disk_folders(scenario):
        expected = expected_plan(disk_dir)
        for name, argv in expected.items():
            for suffix in PROBE_FILES:
                assert (disk_dir / f"{name}{suffix}").is_file(), f"{disk_dir.name}/{name}{suffix}"
            captured = shlex.split((disk_dir / f"{name}.argv").read_text())
            assert captured == argv, f"{scenario}/{disk_dir.name}/{name}: capture again"
        node = shlex.split((disk_dir / "inquiry.argv").read_text())[-1]
        for name, spec in LATER_PROBES.items():
            if (disk_dir / f"{name}.argv").is_file():
                captured = shlex.split((disk_dir / f"{name}.argv").read_text())
                assert captured == spec.argv(node), f"{scenario}/{disk_dir.name}/{name}"


@pytest.mark.parametrize("scenario", CAPTURED)
def test_captures_read_back(scenario: str) -> None:
    captured = read_capture(FIXTURES / scenario)
    for probes in captured.values():
        assert probes["inquiry"].rc is not None
