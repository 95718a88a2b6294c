"""The two engines side by side, in real guests: libsgutils2 in-process and the sg3_utils tools.

The boots of the sg3_utils matrix's scenarios (mixed: virtio-blk, scsi-hd, tgt LUN; sata-nvme:
SATA, NVMe, thin tgt LUN; foreign-reservation: a LUN another host reserved) scan the same disks
with both engines (``tests/vm/sg3_matrix.matrix_command``): the default scan (lib, the rig's
1.46) against ``--engine cli``, and for 1.37, 1.44, 1.47 and 1.48 the default scan with that
release's tools first on PATH and its libsgutils2 first on LD_LIBRARY_PATH against the scan with
its tools (``--engine cli``). Every probe of every disk must have the same
outcome, the same exit status, the same argv and the same stored response (byte for byte; for
PR IN the same ``--hex --hex`` text), or be skipped for the same reason. The hung-target boot
(test_rig.py) covers the lib engine's worker that is killed past its timeout.
"""

from __future__ import annotations

from typing import Any

import pytest

from .sg3_matrix import (
    ENGINE_COMPARED,
    LIB_ENGINE_RELEASES,
    MATRIX_SCENARIOS,
    engine_scan_name,
    probe_view,
    scan_name,
)

pytestmark = pytest.mark.vm

COMPARED = ENGINE_COMPARED


def _pair(result: Any, release: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    if release is None:
        lib, cli = result.scan, result.scans.get(engine_scan_name(None, "cli"))
    else:
        lib, cli = result.scans.get(engine_scan_name(release, "lib")), result.scans.get(
            scan_name(release)
        )
    assert lib is not None and cli is not None, "a scan of the pair wrote no report"
    return lib, cli


@pytest.mark.parametrize("release", [None, *[r for r in LIB_ENGINE_RELEASES if r != "1.46"]])
@pytest.mark.parametrize("scenario", MATRIX_SCENARIOS)
def test_both_engines_send_the_same_and_record_the_same(boot, scenario, release):
    result = boot(scenario)
    lib, cli = _pair(result, release)
    assert lib["scan"]["engine"]["name"] == "lib", lib["scan"]["engine"]
    assert cli["scan"]["engine"]["name"] == "cli", cli["scan"]["engine"]
    lib_view, cli_view = probe_view(lib), probe_view(cli)
    assert sorted(lib_view) == sorted(cli_view)
    different = {
        key: {
            field: (lib_view[key][field], cli_view[key][field])
            for field in COMPARED
            if lib_view[key][field] != cli_view[key][field]
        }
        for key in lib_view
        if lib_view[key] != cli_view[key]
    }
    assert different == {}
    # one worker per disk, plus the tools the lib engine handed a probe to
    per_disk = lib["scan"]["processes_per_disk"]
    assert per_disk <= cli["scan"]["processes_per_disk"], (per_disk, cli["scan"])


@pytest.mark.parametrize("scenario", MATRIX_SCENARIOS)
def test_each_release_s_default_scan_uses_its_own_libsgutils2(boot, scenario):
    """Found through LD_LIBRARY_PATH, not the guest's own 1.46 (issue 22: 1.37 and 1.44 too)."""
    result = boot(scenario)
    for release in LIB_ENGINE_RELEASES:
        if release == "1.46":
            continue
        engine = result.scans[engine_scan_name(release, "lib")]["scan"]["engine"]
        assert engine["name"] == "lib" and f"/sg3/{release}/" in engine["library"], engine
