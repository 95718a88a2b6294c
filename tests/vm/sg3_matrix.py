"""The sg3_utils matrix: the same guest scanned with each release its users run, compared.

The boot of each scenario in :data:`MATRIX_SCENARIOS` runs, after the usual ``guestprobe scan``
with the host's sg3_utils (Debian 12: 1.46, ``scan.json``), one more scan per release of
:data:`tests.vm.sg3_builds.RELEASES` with that release's tools first on the guest's PATH
(``scan-sg3-<release>.json``): no extra boot, every scan sees the same disks under the same
kernel names, and the rig's checks (no backing image and no registration changed) cover them all.

:func:`differences` compares a release's report with 1.46's: every disk's decoded facts and its
verdicts (status and reason codes), and the guest verdicts. :func:`unexplained` keeps the
differences that no entry of :data:`guestprobe.collect.sg3_releases.RELEASE_DIFFERENCES` applying
to that release (its ``explains``) accounts for; the test requires none.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from guestprobe.collect.lib_engine import VERIFIED_RELEASES
from guestprobe.collect.sg3_releases import ReleaseDifference, differences_for

from .sg3_builds import RELEASES, Sg3Build

MATRIX_SCENARIOS = ("mixed", "sata-nvme", "foreign-reservation")
BASELINE = "1.46"  # the rig's own sg3_utils (Debian 12's sg3-utils package)
SCAN_FILE = "scan-sg3-{release}.json"
# Fact fields that say how a fact was obtained rather than what it is.
_NOT_COMPARED = frozenset({"evidence"})


def scan_name(release: str) -> str:
    return SCAN_FILE.format(release=release)[: -len(".json")]


# The releases whose tools' command sequences the lib engine sends (collect/lib_engine.py)
LIB_ENGINE_RELEASES = tuple(f"{major}.{minor}" for major, minor in VERIFIED_RELEASES)


def engine_scan_name(release: str | None, engine: str) -> str:
    """The scan of the other engine beside a scan: ``scan-engine-cli`` beside ``scan`` (the
    default, lib), ``scan-sg3-1.48-lib`` beside ``scan-sg3-1.48`` (cli)."""
    return "scan-engine-cli" if release is None else f"{scan_name(release)}-{engine}"


def engine_scan_part(name: str, prefix: str, options: str) -> str:
    """One more scan in a guest command: its report, output and exit status to ``{results}``."""
    return (
        f"{prefix}{{python}} -m guestprobe scan --json {options}"
        f" -o {{results}}/{name}.json >{{results}}/{name}.out 2>&1;"
        f" echo $? >{{results}}/{name}.rc"
    )


def matrix_command(base_command: str, builds: Mapping[str, Sg3Build]) -> str:
    """The guest's shell command: ``base_command`` first (the default engine, lib, over the
    rig's 1.46), the same scan with ``--engine cli``, then per release one scan with its tools
    (``--engine cli``) and, for the releases the lib engine sends as, the default scan (no
    ``--engine``) with its tools first on ``PATH`` and its libsgutils2 first on
    ``LD_LIBRARY_PATH``, as a user has them: the engine-equivalence test compares each pair.

    Its exit status is ``base_command``'s; each other scan writes its report, stdout and
    stderr and exit status to ``{results}``.
    """
    parts = [
        base_command,
        "rc=$?",
        engine_scan_part(engine_scan_name(None, "cli"), "", "--engine cli"),
    ]
    for release, build in builds.items():
        bin_dir = shlex.quote(os.path.realpath(build.bin_dir))
        parts.append(engine_scan_part(scan_name(release), f"PATH={bin_dir}:$PATH ", "--engine cli"))
        if release in LIB_ENGINE_RELEASES:
            build.libsgutils2()  # there is one
            lib_dir = shlex.quote(os.path.realpath(build.lib_dir))
            parts.append(
                engine_scan_part(
                    engine_scan_name(release, "lib"),
                    f"LD_LIBRARY_PATH={lib_dir} PATH={bin_dir}:$PATH ",
                    "",
                )
            )
    parts.append("exit $rc")
    return "; ".join(parts)


# What each engine's record of a probe must share with the other's
ENGINE_COMPARED = (
    "source", "outcome", "exit_status", "argv", "output_format", "stdout_hex", "skip_code",
)  # fmt: skip


def probe_view(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``disk/probe`` -> the fields of its record that both engines must agree on."""
    view = {}
    for disk in report["disks"]:
        for probe in disk["probes"]:
            view[f"{disk['name']}/{probe['name']}"] = {k: probe.get(k) for k in ENGINE_COMPARED}
    return view


def _flatten(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key in sorted(value):
            if key not in _NOT_COMPARED:
                yield from _flatten(value[key], f"{path}.{key}" if path else key)
    else:
        yield path, value


def _verdict_view(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        v["feature"]: {"status": v["status"], "reasons": sorted(r["code"] for r in v["reasons"])}
        for v in verdicts
    }


def _relabel(value: Any, names: Mapping[str, str]) -> Any:
    """``value`` with every kernel name in ``names`` (as a whole word) put as its label."""
    if not names:
        return value
    if isinstance(value, dict):
        return {key: _relabel(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_relabel(item, names) for item in value]
    if isinstance(value, str):
        pattern = r"\b(" + "|".join(re.escape(name) for name in sorted(names)) + r")\b"
        return re.sub(pattern, lambda match: names[match.group(1)], value)
    return value


def report_view(
    report: dict[str, Any], names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """What must not depend on the sg3_utils release, as {path: value}.

    ``names`` ({kernel name: label}) puts the rig's labels for the kernel's names, which change
    between boots: only then can two boots be compared.
    """
    names = names or {}
    view: dict[str, Any] = {}
    for disk in report["disks"]:
        kind = disk["transport"]["kind"]
        content = {
            "status": disk["status"],
            "transport": {k: v for k, v in disk["transport"].items() if k != "evidence"},
            "facts": disk["facts"],
            "verdicts": _verdict_view(disk["verdicts"]),
        }
        name = names.get(disk["name"], disk["name"])
        for path, value in _flatten(_relabel(content, names), ""):
            view[f"disk:{kind}:{name}:{path}"] = value
    for path, value in _flatten(_verdict_view(report["guest_verdicts"]), ""):
        view[f"guest:{path}"] = value
    for group in report["logical_units"]:
        view[f"lu:{group['lu_designator']}"] = sorted(names.get(d, d) for d in group["disks"])
    return view


def differences(
    baseline: dict[str, Any],
    other: dict[str, Any],
    names: tuple[Mapping[str, str], Mapping[str, str]] | None = None,
) -> dict[str, tuple[Any, Any]]:
    """{path: (1.46's value, the release's value)} where the two reports differ.

    ``names``: each report's {kernel name: label}, where the two come from different boots.
    """
    left_names, right_names = names or ({}, {})
    left, right = report_view(baseline, left_names), report_view(other, right_names)
    return {
        path: (left.get(path), right.get(path))
        for path in sorted(set(left) | set(right))
        if left.get(path) != right.get(path)
    }


def release_tuple(release: str) -> tuple[int, int]:
    major, minor = release.split(".")
    return int(major), int(minor)


def explained_by(path: str, release: str) -> ReleaseDifference | None:
    """The table entry that accounts for a difference at ``path``, if one applies to ``release``."""
    for difference in differences_for(release_tuple(release)):
        if any(fnmatchcase(path, pattern) for pattern in difference.explains):
            return difference
    return None


def unexplained(release: str, found: dict[str, tuple[Any, Any]]) -> dict[str, tuple[Any, Any]]:
    return {path: values for path, values in found.items() if explained_by(path, release) is None}


__all__ = [
    "BASELINE",
    "MATRIX_SCENARIOS",
    "RELEASES",
    "differences",
    "matrix_command",
    "scan_name",
    "unexplained",
]
