"""The rig across guest kernels and host QEMUs: what 6.1 under QEMU 7.2 shows must hold elsewhere.

Each platform of :data:`tests.vm.versions.PLATFORMS` other than the default boots ``mixed`` and
``sata-nvme`` once, and scans there with both engines (lib, then ``--engine cli``) in the same
guest command, then lists the SCSI disks' ``vpd_pg*`` files in sysfs. Against the default
platform's boot of the same scenario (the ``boot`` fixture, which test_rig.py shares):

- every transport, fact and verdict is the same, or accounted for by an entry of
  :data:`PLATFORM_DIFFERENCES` (measured; ``tests/vm/README.md`` keeps the table);
- both engines send and record the same (``test_engine_equivalence``'s comparison);
- where the kernel has no ``vpd_pgb0/b1/b2`` (before 5.19: every supported guest OS), the
  B0/B1/B2 pages come from sg3_utils itself, and where it has them, from sysfs.
"""

from __future__ import annotations

import dataclasses
import itertools
from fnmatch import fnmatchcase
from typing import Any

import pytest

from .rig import DEFAULT_COMMAND, RunResult, run_scenario
from .scenarios import SCENARIOS as SCENARIO_TABLE
from .sg3_matrix import differences, engine_scan_name, engine_scan_part, probe_view

pytestmark = pytest.mark.vm

SCENARIOS = ("mixed", "sata-nvme")
OTHER_PLATFORMS = ("kernel-5.10", "kernel-6.12", "qemu-10.0")
SYSFS_LISTING = "sysfs-vpd"
# platform -> report paths (fnmatch) that differ from the default platform, and why
PLATFORM_DIFFERENCES: dict[str, dict[str, str]] = {
    "kernel-5.10": {
        "disk:ata:sata_SATASER1:facts.identity.supported_vpd_pages": (
            "libata's SATL of 5.10 lists no VPD page 0xB9 (concurrent positioning ranges); "
            "6.1's does. No rule reads 0xB9."
        ),
    },
    "kernel-6.12": {
        "disk:ata:sata_SATASER1:facts.supported_opcodes.outcome": (
            "6.12's libata refuses REPORT SUPPORTED OPERATION CODES (all commands) with "
            "ILLEGAL REQUEST: not_supported. 6.1's returns GOOD with 1,286 bytes that are its "
            "standard INQUIRY data, which the decoder refuses (a descriptor past the end)."
        ),
        "disk:ata:sata_SATASER1:facts.decode_errors": "the same: 6.1's undecodable answer",
    },
    "qemu-10.0": {
        "disk:nvme:*:facts.identity.revision": (
            "QEMU's NVMe controller gives QEMU's own version as its firmware revision "
            "(7.2.22, 10.0.2), which sg3_utils' SNTL puts in INQUIRY's revision"
        ),
        "disk:nvme:*:facts.inquiry.nvme_identify_controller.firmware_revision": "the same",
    },
}
KERNELS_WITHOUT_SYSFS_VPD_B_PAGES = ("kernel-5.10",)
_BOOTED: dict[tuple[str, str], RunResult] = {}


def versions_command() -> str:
    """The default scan (lib), the same scan with ``--engine cli``, then the sysfs listing."""
    return "; ".join(
        [
            DEFAULT_COMMAND,
            "rc=$?",
            engine_scan_part(engine_scan_name(None, "cli"), "", "--engine cli"),
            f"echo {SYSFS_LISTING}; for d in /sys/class/scsi_disk/*/device; do echo \"$d\";"
            " ls \"$d\" | grep '^vpd_pg'; done",
            "exit $rc",
        ]
    )


def booted(scenario: str, platform: str) -> RunResult:
    key = (scenario, platform)
    if key not in _BOOTED:
        base = SCENARIO_TABLE[scenario]
        _BOOTED[key] = run_scenario(  # two scans in one guest command, each as long as one
            dataclasses.replace(base, command_timeout_s=base.command_timeout_s * 2),
            command=versions_command(),
            platform=platform,
        )
    return _BOOTED[key]


def labels(result: RunResult) -> dict[str, str]:
    """{kernel name: the rig's label} of a boot's disks (kernel names change between boots)."""
    return {disk["kernel_name"]: label for label, disk in result.disks.items()}


def unexplained(platform: str, found: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    explained = PLATFORM_DIFFERENCES[platform]
    return {
        path: values
        for path, values in found.items()
        if not any(fnmatchcase(path, pattern) for pattern in explained)
    }


CASES = list(itertools.product(SCENARIOS, OTHER_PLATFORMS))


@pytest.mark.parametrize(("scenario", "platform"), CASES)
def test_the_platform_boots_and_scans(scenario, platform):
    result = booted(scenario, platform)
    assert not result.qemu_timed_out, result.console[-2000:]
    assert result.command is not None and result.command["rc"] == 0, result.command_stderr
    assert result.scan is not None
    assert result.checksums_before == result.checksums_after
    assert result.pr_before == result.pr_after
    kernel = result.scan["platform"]["kernel_release"]
    if platform.startswith("kernel-"):
        assert kernel.startswith(platform.removeprefix("kernel-")), kernel
    if platform.startswith("qemu-"):
        assert platform.removeprefix("qemu-") in result.versions["qemu"], result.versions


@pytest.mark.parametrize(("scenario", "platform"), CASES)
def test_transports_facts_and_verdicts_hold(boot, scenario, platform):
    baseline, other = boot(scenario), booted(scenario, platform)
    assert baseline.scan is not None and other.scan is not None
    names = (labels(baseline), labels(other))
    assert unexplained(platform, differences(baseline.scan, other.scan, names)) == {}


@pytest.mark.parametrize(("scenario", "platform"), CASES)
def test_both_engines_send_the_same(scenario, platform):
    result = booted(scenario, platform)
    lib, cli = result.scan, result.scans.get(engine_scan_name(None, "cli"))
    assert lib is not None and cli is not None
    assert lib["scan"]["engine"]["name"] == "lib", lib["scan"]["engine"]
    assert probe_view(lib) == probe_view(cli)


def _vpd_b_sources(report: dict[str, Any]) -> dict[str, str]:
    return {
        f"{disk['name']}/{probe['name']}": probe["source"]
        for disk in report["disks"]
        for probe in disk["probes"]
        if probe["name"] in ("vpd_0xb0", "vpd_0xb1", "vpd_0xb2") and probe["outcome"] == "ok"
    }


@pytest.mark.parametrize(("scenario", "platform"), CASES)
def test_vpd_b_pages_come_from_sysfs_only_where_the_kernel_has_them(scenario, platform):
    result = booted(scenario, platform)
    listing = result.command_stdout.partition(SYSFS_LISTING)[2].split()
    sources = _vpd_b_sources(result.scan)
    assert sources, "no disk answered a B0/B1/B2 page"
    if platform in KERNELS_WITHOUT_SYSFS_VPD_B_PAGES:
        assert not [name for name in listing if name.startswith("vpd_pgb")], listing
        assert set(sources.values()) == {"sg3_utils"}, sources
    else:
        assert "vpd_pgb0" in listing, listing
        assert "sysfs" in set(sources.values()), sources
