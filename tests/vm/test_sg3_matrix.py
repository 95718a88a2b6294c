"""guestprobe against the sg3_utils its users run: 1.37 (RHEL 7.9), 1.44 (RHEL 8), 1.47 (RHEL 9),
1.48 (SLES 15 SP6), each built from the upstream sources (tests/vm/sg3_builds.py).

No boot of its own: the boots of :data:`MATRIX_SCENARIOS` (shared with test_rig.py) scan once
with the rig's sg3_utils 1.46 and then once per release (tests/vm/sg3_matrix.py). Every decoded
fact and every verdict must be 1.46's, or be a difference that an entry of
``RELEASE_DIFFERENCES`` (guestprobe/collect/sg3_releases.py) applying to that release accounts
for; and the report's platform section must name the release and the entries that apply.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import pytest

from guestprobe.collect import sgpt
from guestprobe.collect.sg3_releases import differences_for, release_of

from .conftest import SG3_BUILD_ERRORS
from .rig import RunResult, summary
from .sg3_builds import RELEASES, ensure_build
from .sg3_matrix import MATRIX_SCENARIOS, differences, release_tuple, scan_name, unexplained

pytestmark = pytest.mark.vm
# sg_lib_version() of each release's libsgutils2 (lib/sg_lib_data.c), for ctypes callers
SG_LIB_VERSIONS = {"1.37": "1.88", "1.44": "2.58", "1.47": "2.83", "1.48": "3.08"}


@pytest.fixture(scope="module", params=MATRIX_SCENARIOS)
def matrix_run(request: pytest.FixtureRequest, boot: Callable[[str], RunResult]) -> RunResult:
    result = boot(request.param)
    assert not SG3_BUILD_ERRORS, "sg3_utils could not be built:\n" + "\n".join(SG3_BUILD_ERRORS)
    return result


def release_scan(result: RunResult, release: str) -> dict[str, Any]:
    name = scan_name(release)
    output = result.scan_outputs.get(name)
    assert output is not None, f"no scan with sg3_utils {release}\n{summary(result)}"
    report = result.scans.get(name)
    assert report is not None, (
        f"sg3_utils {release}: the scan wrote no report (exit {output['rc']}):\n"
        f"{output['output'][-3000:]}"
    )
    return report


@pytest.mark.parametrize("release", RELEASES)
def test_release_named_in_the_platform_section(matrix_run: RunResult, release: str) -> None:
    sg3 = release_scan(matrix_run, release)["platform"]["sg3_utils"]
    assert sg3["release"] is not None and release in sg3["release"].split("/"), sg3
    assert all(release in path for path in sg3["tools"].values()), sg3["tools"]
    expected = differences_for(release_of(sg3["sg_inq_version"])[1])
    assert [d["code"] for d in sg3["differences"]] == [d.code for d in expected]
    assert expected == differences_for(release_tuple(release))


@pytest.mark.parametrize("release", RELEASES)
def test_release_scan_agrees_with_1_46(matrix_run: RunResult, release: str) -> None:
    assert matrix_run.scan is not None, summary(matrix_run)
    assert matrix_run.scan["platform"]["sg3_utils"]["release"] == "1.46"
    found = differences(matrix_run.scan, release_scan(matrix_run, release))
    left = unexplained(release, found)
    assert not left, (
        f"sg3_utils {release} vs 1.46 in {matrix_run.scenario.name}: differences no entry of"
        " RELEASE_DIFFERENCES accounts for:\n"
        + "\n".join(f"  {path}: {a!r} -> {b!r}" for path, (a, b) in left.items())
    )


@pytest.mark.parametrize("release", RELEASES)
def test_release_probes_end_in_known_outcomes(matrix_run: RunResult, release: str) -> None:
    """No probe of any release is refused for its argv, or ends silent where bytes were due."""
    report = release_scan(matrix_run, release)
    bad = [
        (probe["id"], probe["outcome"], probe["argv"], probe["stderr"][-200:])
        for disk in report["disks"]
        for probe in disk["probes"]
        if probe["outcome"] in ("usage_error", "no_response")
    ]
    assert not bad, f"sg3_utils {release}: {bad}"
    assert report["scan"]["complete"], summary(matrix_run)


@pytest.mark.parametrize("release", RELEASES)
def test_shared_libsgutils2_of_each_release_loads(release: str) -> None:
    """The build's shared library, for callers of libsgutils2 through ctypes."""
    path = ensure_build(release).libsgutils2()
    library = ctypes.CDLL(str(path))
    library.sg_lib_version.restype = ctypes.c_char_p
    assert library.sg_lib_version().decode().split()[0] == SG_LIB_VERSIONS[release]
    # guestprobe's own loader (collect/sgpt.py) finds every function it declares in it
    pt = sgpt.PassThrough(str(path))
    assert pt.release == tuple(int(n) for n in release.split(".")), pt.version
