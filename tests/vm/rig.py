"""The real-guest rig: boot a QEMU guest per scenario, run a command in it, hand back the results.

    python -m tests.vm.rig mixed                 # guestprobe scan --json in the `mixed` guest
    python -m tests.vm.rig mixed --smoke         # ls /sys/block; sg_inq on every SCSI disk
    python -m tests.vm.rig two-paths -- 'sg_inq /dev/sda'
    python -m tests.vm.rig mixed --write-fixtures   # capture into tests/fixtures/rig/mixed/

One run: fetch the kernel and build the initramfs (cached), make the backing images, start tgtd on
127.0.0.1 with the scenario's LUNs, checksum every image, boot the guest (the host's ``/`` is its
read-only root, the run directory its writable ``/run/rig``), let :mod:`tests.vm.guest_agent` do
the guest's part, stop everything, checksum again and parse what came back (:class:`RunResult`).
QEMU and tgtd are always stopped in ``finally``; every subprocess has a timeout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import qemu
from .guest_image import CACHE_DIR, ensure_initramfs
from .processes import start_tied, stop_group
from .scenarios import SCENARIOS, SCSI_BLOCK, Scenario
from .tgt import LISTEN_ADDRESS, TargetLun, TgtDaemon
from .versions import DEFAULT_PLATFORM, PLATFORMS, RigPlatform, qemu_env

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "rig"
RUNS_DIR = CACHE_DIR / "runs"
GUEST_RUN_DIR = "/run/rig"
GUEST_REPO = "/run/rig-repo"
GUEST_RESULTS = f"{GUEST_RUN_DIR}/results"
DEFAULT_COMMAND = "{python} -m guestprobe scan --json -o {results}/scan.json"
SMOKE_COMMAND = (
    "ls /sys/block; for d in /dev/sd? /dev/vd? /dev/nvme?n?; do [ -e $d ] || continue;"
    ' echo "== $d"; sg_inq $d; echo "exit $?"; done'
)
BOOT_OVERHEAD_S = 90  # on top of the command's timeout: boot, capture, PR reads, power-off
IQN_PREFIX = "iqn.2024-01.org.guestprobe.rig"
BLOCK = 512
DEFAULT_PROBE_TIMEOUT_S = 15
PATTERN_BLOCK = b"guestprobe-rig:do-not-overwrite:" * (BLOCK // 32)


class RigError(RuntimeError):
    """The rig itself failed (not the command in the guest)."""


@dataclass(frozen=True)
class CapturedProbe:
    """One probe of the fixture capture, as the guest ran it."""

    argv: str
    rc: int | None  # None: timed out
    stdout: bytes
    stderr: bytes


@dataclass
class RunResult:
    scenario: Scenario
    run_dir: Path
    qemu_argv: list[str]
    qemu_exit: int | None
    qemu_timed_out: bool
    wall_s: dict[str, float]  # host wall-clock: setup, guest (QEMU start to exit), total
    guest: dict[str, Any]  # agent.json: guest uptimes, errors, hand-shake outcomes
    disks: dict[str, dict[str, Any]]  # label -> kernel_name, dev, sg, sysfs_path, ...
    command: dict[str, Any] | None
    command_stdout: str
    command_stderr: str
    scan: dict[str, Any] | None  # parsed {results}/scan.json, if the command wrote one
    pr_before: dict[str, Any]
    pr_after: dict[str, Any]
    reservation_setup: list[dict[str, Any]] | None
    checksums_before: dict[str, str]
    checksums_after: dict[str, str]
    captured: dict[str, dict[str, CapturedProbe]] = field(default_factory=dict)
    capture_guest: dict[str, str] = field(default_factory=dict)
    target_events: dict[str, float] = field(default_factory=dict)  # host wall-clock offsets
    console: str = ""
    qemu_log: str = ""  # QEMU's own stdout/stderr (e.g. "iSCSI: NOP timeout. Reconnecting...")
    versions: dict[str, str] = field(default_factory=dict)
    udev: dict[str, Any] | None = None  # udev.json: udevd's start, trigger, settle and stop
    # every other {results}/scan-NAME.json the command wrote: NAME -> report (None: unreadable),
    # with NAME.rc (exit status) and NAME.out (stdout and stderr) beside it
    scans: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    scan_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def probe(self, label: str, name: str) -> CapturedProbe:
        return self.captured[label][name]

    def exit_status(self, label: str, name: str) -> int | None:
        return self.captured[label][name].rc

    @property
    def boot_s(self) -> float | None:
        """Guest uptime when the agent started: kernel boot, modules, 9p root, Python start."""
        return self.guest.get("timings", {}).get("agent_start")


# -- helpers ----------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_images(images: dict[str, Path]) -> dict[str, str]:
    """SHA-256 of every backing image, by the name the rig gave it."""
    return {name: sha256_file(path) for name, path in sorted(images.items())}


def make_image(path: Path, size_mib: int) -> None:
    """A sparse image with a pattern in its first and last blocks, so a stray write shows."""
    size = size_mib << 20
    with path.open("wb") as handle:
        handle.truncate(size)
        handle.write(PATTERN_BLOCK)
        handle.seek(size - BLOCK)
        handle.write(PATTERN_BLOCK)


def tool_version(argv: Sequence[str], env: dict[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=20, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable: {exc}"
    return (
        (proc.stdout or proc.stderr).strip().splitlines()[0]
        if (proc.stdout or proc.stderr).strip()
        else ""
    )


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def _read_rc(path: Path) -> int | None:
    text = path.read_text().strip()
    return int(text) if text.lstrip("-").isdigit() else None


def guestprobe_probe_timeout_s() -> int:
    """The per-probe timeout guestprobe scans with (it is in the WRITE SAME probes' argv)."""
    try:
        from guestprobe.collect.probe import ProbeOptions
    except ImportError:
        return DEFAULT_PROBE_TIMEOUT_S
    return int(getattr(ProbeOptions(engine="cli"), "timeout_s", DEFAULT_PROBE_TIMEOUT_S))


# -- one run ----------------------------------------------------------------------------------


class Run:
    """The host side of one guest boot. Use :func:`run_scenario`."""

    def __init__(
        self,
        scenario: Scenario,
        command: str,
        capture: bool,
        keep: bool,
        platform: RigPlatform = DEFAULT_PLATFORM,
    ) -> None:
        self.scenario = scenario
        self.platform = platform
        self.command = command
        self.capture = capture
        self.keep = keep
        RUNS_DIR.mkdir(parents=True, exist_ok=True)
        self.run_dir = Path(tempfile.mkdtemp(prefix=f"{scenario.name}-", dir=RUNS_DIR))
        self.results = self.run_dir / "results"
        self.markers = self.run_dir / "markers"
        self.images_dir = self.run_dir / "images"
        for directory in (self.results, self.markers, self.images_dir):
            directory.mkdir()
        self.token = f"{os.getpid()}-{secrets.token_hex(3)}"
        self.iqn = f"{IQN_PREFIX}:{scenario.name}-{self.token}"
        self.tgt: TgtDaemon | None = None
        self.more_tgts: dict[int, TgtDaemon] = {}  # daemon number (2, ...) -> tgtd
        self.qemu: subprocess.Popen[bytes] | None = None
        self.images: dict[str, Path] = {}  # image name -> file
        self.target_events: dict[str, float] = {}

    def initiator_name(self, number: int) -> str:
        return f"{IQN_PREFIX}:initiator-{self.token}-{number}"

    def _prepare_disks(self) -> list[qemu.AttachedDisk]:
        scenario = self.scenario
        scsi_ids = qemu.assign_scsi_ids(scenario.disks)
        ahci_ports = qemu.assign_ahci_ports(scenario.disks)
        attached = []
        for index, disk in enumerate(scenario.disks):
            drive_id = f"drv{index}"
            if disk.kind == SCSI_BLOCK:
                daemon = self.tgt if disk.daemon == 1 else self.more_tgts.get(disk.daemon)
                if daemon is None:
                    raise RigError(f"{disk.label}: scenario has no LUNs")
                attached.append(
                    qemu.AttachedDisk(
                        disk,
                        drive_id,
                        iscsi_url=f"iscsi://{LISTEN_ADDRESS}:{daemon.port}/{self.iqn}/{disk.lun}",
                        initiator_name=self.initiator_name(disk.initiator),
                        scsi_id=scsi_ids[disk.label],
                    )
                )
                continue
            path = self.images_dir / f"{disk.label}.img"
            make_image(path, disk.size_mib)
            self.images[disk.label] = path
            attached.append(
                qemu.AttachedDisk(
                    disk,
                    drive_id,
                    image=path,
                    scsi_id=scsi_ids.get(disk.label),
                    ahci_port=ahci_ports.get(disk.label),
                )
            )
        return attached

    def _start_tgt(self) -> None:
        if not self.scenario.luns:
            return
        for number in sorted({lun.daemon for lun in self.scenario.luns}):
            prefix = "tgt" if number == 1 else f"tgt{number}"
            log = self.run_dir / ("tgtd.log" if number == 1 else f"tgtd{number}.log")
            daemon = TgtDaemon(self.iqn, log)  # the same target name in every daemon
            if number == 1:
                self.tgt = daemon
            else:
                self.more_tgts[number] = daemon
            luns = []
            for lun in self.scenario.luns:
                if lun.daemon != number:
                    continue
                path = self.images_dir / f"{prefix}-lun{lun.number}.img"
                make_image(path, lun.size_mib)
                self.images[f"{prefix}-lun{lun.number}"] = path
                luns.append(TargetLun(lun.number, path, lun.params))
            daemon.start(luns)

    def _write_plan(self, python: str) -> None:
        scsi_ids = qemu.assign_scsi_ids(self.scenario.disks)
        command = self.command  # str.format would trip over the shell's own braces
        for key, value in (
            ("python", shlex.quote(python)),
            ("results", GUEST_RESULTS),
            ("repo", GUEST_REPO),
        ):
            command = command.replace("{" + key + "}", value)
        reservation = self.scenario.foreign_reservation
        plan = {
            "scenario": self.scenario.name,
            "disks": [
                {"label": d.label, "kind": d.kind, "serial": d.serial,
                 "scsi_id": scsi_ids.get(d.label), "visible": d.visible}
                for d in self.scenario.disks
            ],
            "foreign_reservation": None if reservation is None else {
                "disk": reservation.disk, "key": reservation.key,
                "prout_type": reservation.prout_type},
            "stop_target_during_command": self.scenario.stop_target_during_command,
            "udev": self.scenario.udev,
            "capture": self.capture,
            "command": command,
            "command_timeout_s": self.scenario.command_timeout_s,
            "probe_timeout_s": guestprobe_probe_timeout_s(),
            "repo": GUEST_REPO,
        }  # fmt: skip
        (self.run_dir / "plan.json").write_text(json.dumps(plan, indent=2) + "\n")
        (self.run_dir / "repo_path").write_text(f"{REPO}\n")
        bin_dir = str(Path(python).parent)
        script = (
            "#!/bin/sh\n"
            f"export PATH={shlex.quote(bin_dir)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:"
            "/usr/bin:/sbin:/bin\n"
            "export HOME=/root LC_ALL=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 "
            f"PYTHONPATH={GUEST_REPO}\n"
            f"exec {shlex.quote(python)} -S {GUEST_REPO}/tests/vm/guest_agent.py "
            f"{GUEST_RUN_DIR}/plan.json\n"
        )
        (self.run_dir / "guest.sh").write_text(script)

    def _watch_guest(self, deadline: float, start: float) -> tuple[int | None, bool]:
        """Wait for QEMU to exit, serving the target-stop hand-shake; (exit status, timed out)."""
        assert self.qemu is not None
        stop_dance = self.scenario.stop_target_during_command and self.tgt is not None
        while True:
            try:
                return self.qemu.wait(timeout=0.1), False
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() > deadline:
                return None, True
            if not stop_dance or self.tgt is None:
                continue
            now = time.monotonic() - start
            if "stopped" not in self.target_events and (self.markers / "ready").exists():
                self.tgt.suspend()
                self.target_events["stopped"] = now
                (self.markers / "stopped").write_text(f"{now}\n")
            if "resumed" not in self.target_events and (self.markers / "command-done").exists():
                self.tgt.resume()
                self.target_events["resumed"] = now
                (self.markers / "resumed").write_text(f"{now}\n")

    def execute(self) -> RunResult:
        begin = time.monotonic()
        kernel = self.platform.kernel()
        initramfs = ensure_initramfs(kernel)
        host_qemu = self.platform.qemu()
        python = os.path.realpath(sys.executable)
        try:
            self._start_tgt()
            attached = self._prepare_disks()
            self._write_plan(python)
            checksums_before = checksum_images(self.images)
            console_log = self.run_dir / "console.log"
            argv = qemu.command_line(
                kernel,
                initramfs,
                self.run_dir,
                console_log,
                attached,
                memory_mib=self.scenario.memory_mib,
                binary_args=host_qemu.binary_args(),
            )
            (self.run_dir / "qemu.argv").write_text(shlex.join(argv) + "\n")
            guest_start = time.monotonic()
            self.qemu = start_tied(argv, self.run_dir / "qemu.log", qemu_env(host_qemu))
            deadline = guest_start + self.scenario.command_timeout_s + BOOT_OVERHEAD_S
            qemu_exit, timed_out = self._watch_guest(deadline, guest_start)
            guest_end = time.monotonic()
        finally:
            if self.qemu is not None:
                stop_group(self.qemu)
            for daemon in [self.tgt, *self.more_tgts.values()]:
                if daemon is not None:
                    daemon.stop()
        checksums_after = checksum_images(self.images)
        result = self._collect(argv, qemu_exit, timed_out, checksums_before, checksums_after)
        result.wall_s = {
            "setup": round(guest_start - begin, 2),
            "guest": round(guest_end - guest_start, 2),
            "total": round(time.monotonic() - begin, 2),
        }
        result.versions = {
            "qemu": tool_version([str(host_qemu.binary), "--version"], qemu_env(host_qemu)),
            "platform": self.platform.name,
            "tgt": tool_version(["tgtd", "--version"]) if self.scenario.luns else "",
            "kernel_package": kernel.package,
            "sg3_utils": tool_version(["dpkg-query", "-W", "-f", "${Version}", "sg3-utils"]),
        }
        return result

    def _collect(
        self,
        argv: list[str],
        qemu_exit: int | None,
        timed_out: bool,
        checksums_before: dict[str, str],
        checksums_after: dict[str, str],
    ) -> RunResult:
        results = self.results
        scan = _read_json(results / "scan.json", None)
        result = RunResult(
            scenario=self.scenario,
            run_dir=self.run_dir,
            qemu_argv=argv,
            qemu_exit=qemu_exit,
            qemu_timed_out=timed_out,
            wall_s={},
            guest=_read_json(results / "agent.json", {}),
            disks=_read_json(results / "disks.json", {}),
            command=_read_json(results / "command.json", None),
            command_stdout=_read_text(results / "command.stdout"),
            command_stderr=_read_text(results / "command.stderr"),
            scan=scan,
            pr_before=_read_json(results / "pr_before.json", {}),
            pr_after=_read_json(results / "pr_after.json", {}),
            reservation_setup=_read_json(results / "reservation_setup.json", None),
            udev=_read_json(results / "udev.json", None),
            checksums_before=checksums_before,
            checksums_after=checksums_after,
            target_events=dict(self.target_events),
            console=_read_text(self.run_dir / "console.log"),
            qemu_log=_read_text(self.run_dir / "qemu.log"),
        )
        for path in sorted(results.glob("scan-*.rc")):
            name = path.name[: -len(".rc")]
            result.scans[name] = _read_json(results / f"{name}.json", None)
            result.scan_outputs[name] = {
                "rc": _read_rc(path),
                "output": _read_text(results / f"{name}.out"),
            }
        capture_dir = results / "capture"
        if (results / "capture.tar").exists():
            with tarfile.open(results / "capture.tar") as archive:
                safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                archive.extractall(results, **safe)
        if capture_dir.is_dir():
            result.captured = read_capture(capture_dir)
            result.capture_guest = {
                path.name: path.read_text()
                for path in sorted((capture_dir / "guest").glob("*.txt"))
            }
        return result

    def cleanup(self) -> None:
        if not self.keep:
            shutil.rmtree(self.run_dir, ignore_errors=True)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def read_capture(capture_dir: Path) -> dict[str, dict[str, CapturedProbe]]:
    """{disk label: {probe name: CapturedProbe}} from a capture folder (a run's or a fixture)."""
    captured: dict[str, dict[str, CapturedProbe]] = {}
    for disk_dir in sorted(p for p in capture_dir.iterdir() if p.is_dir()):
        probes = {}
        for argv_file in sorted(disk_dir.glob("*.argv")):
            name = argv_file.name[: -len(".argv")]
            probes[name] = CapturedProbe(
                argv=argv_file.read_text().strip(),
                rc=_read_rc(disk_dir / f"{name}.rc"),
                stdout=(disk_dir / f"{name}.out").read_bytes(),
                stderr=(disk_dir / f"{name}.err").read_bytes(),
            )
        if probes:
            captured[disk_dir.name] = probes
    return captured


def run_scenario(
    scenario: Scenario | str,
    command: str | None = None,
    capture: bool | None = None,
    keep: bool = False,
    write_fixtures: bool = False,
    platform: RigPlatform | str = DEFAULT_PLATFORM,
) -> RunResult:
    """Boot ``scenario``'s guest once, run ``command`` in it (default: guestprobe's JSON scan).

    ``command`` is a shell command; ``{python}``, ``{results}`` (the guest's results folder) and
    ``{repo}`` are filled in. ``capture`` (default: the scenario is a captured one) also runs the
    fixture probes; ``write_fixtures`` copies them to ``tests/fixtures/rig/<scenario>/``.
    ``platform`` (a :data:`tests.vm.versions.PLATFORMS` name) picks another guest kernel or
    host QEMU than the system's.
    """
    if isinstance(platform, str):
        platform = PLATFORMS[platform]
    if isinstance(scenario, str):
        scenario = SCENARIOS[scenario]
    if capture is None:
        capture = scenario.captured or write_fixtures
    run = Run(scenario, command or DEFAULT_COMMAND, capture, keep, platform)
    try:
        result = run.execute()
        if write_fixtures:
            write_fixture_folder(result)
        return result
    finally:
        run.cleanup()


# -- fixtures ---------------------------------------------------------------------------------


def write_fixture_folder(result: RunResult) -> Path:
    """Copy a run's capture to ``tests/fixtures/rig/<scenario>/``, with a PROVENANCE.md."""
    source = result.run_dir / "results" / "capture"
    if not source.is_dir():
        raise RigError(f"{result.scenario.name}: the run captured nothing")
    if result.checksums_before != result.checksums_after:
        raise RigError(f"{result.scenario.name}: a backing image changed during the capture")
    target = FIXTURES / result.scenario.name
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target)
    (target / "PROVENANCE.md").write_text(provenance(result))
    return target


def provenance(result: RunResult) -> str:
    scenario = result.scenario
    lines = [
        f"# Fixture capture: scenario `{scenario.name}`",
        "",
        f"{scenario.summary}.",
        "",
        "Captured by `python -m tests.vm.rig "
        f"{scenario.name} --write-fixtures` (tests/vm/rig.py); nothing here was edited by hand.",
        "",
        f"- date (UTC): {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}",
        f"- QEMU: {result.versions.get('qemu', '')} (TCG)",
        f"- guest kernel: {result.versions.get('kernel_package', '')}",
    ]
    if scenario.luns:
        lines.append(f"- tgt: {result.versions.get('tgt', '')} (tgtd on 127.0.0.1)")
    lines += [
        f"- sg3_utils: {result.versions.get('sg3_utils', '')} (the host's, run by the guest);"
        f" `sg_inq --version`: {result.capture_guest.get('sg3_utils_version.txt', '').strip()}",
        "- backing images: SHA-256 identical before and after the capture (checked by the rig)",
        "",
        "## Disks",
        "",
        "| folder | kind | kernel name at capture | probe node |",
        "|---|---|---|---|",
    ]
    for label, info in sorted(result.disks.items()):
        if not info.get("visible", True):
            continue
        kind = scenario.disk(label).kind
        name, node = info.get("kernel_name"), info.get("probe_node")
        lines.append(f"| `{label}` | {kind} | {name} | {node} |")
    if scenario.foreign_reservation is not None:
        reservation = scenario.foreign_reservation
        lines += [
            "",
            f"Before the capture, path `{reservation.disk}` (another initiator name) registered"
            f" key {reservation.key:#x} ({reservation.key.to_bytes(8, 'big')!r}) and reserved"
            f" with type {reservation.prout_type}; that path"
            " was then deleted from the guest, so the captured disk sees another initiator's"
            " registration and reservation.",
        ]
    lines += [
        "",
        "`guest/` holds per-guest facts (kernel release, `sg_inq --version`, SCSI hosts, virtio"
        " devices, DMI). Each disk folder holds, for each probe NAME of"
        " `guestprobe/collect/sg3.py`, `NAME.argv`, `NAME.out` (stdout bytes), `NAME.err` and"
        " `NAME.rc` (exit status, or `timeout`), plus `sysfs/` (files below /sys/block/<name>/),"
        " `sysfs_path.txt` and `kernel_name.txt`.",
        "",
        "## QEMU command line",
        "",
        "```",
        _redact(shlex.join(result.qemu_argv), result),
        "```",
        "",
    ]
    return "\n".join(lines)


def _redact(text: str, result: RunResult) -> str:
    """Replace the run's own paths with placeholders, so the file does not change per run."""
    text = text.replace(str(result.run_dir), "$RUN_DIR")
    text = text.replace(str(CACHE_DIR), "$RIG_CACHE")
    return text


# -- command line -----------------------------------------------------------------------------


def summary(result: RunResult) -> str:
    guest = result.guest.get("timings", {})
    command = result.command or {}
    lines = [
        f"scenario {result.scenario.name}: QEMU exit {result.qemu_exit}"
        + (" (TIMED OUT, killed)" if result.qemu_timed_out else ""),
        f"  wall: setup {result.wall_s.get('setup')} s, guest {result.wall_s.get('guest')} s, "
        f"total {result.wall_s.get('total')} s; guest uptime at agent start "
        f"{guest.get('agent_start')} s, disks ready {guest.get('disks_ready')} s",
        f"  command: exit {command.get('rc')} in {command.get('duration_s')} s"
        + (" (TIMED OUT)" if command.get("timed_out") else ""),
    ]
    for label, info in sorted(result.disks.items()):
        lines.append(
            f"  {label}: {info.get('kernel_name')} sg={info.get('sg')}"
            + ("" if info.get("visible", True) else " (deleted before the command)")
        )
    for label, probes in sorted(result.captured.items()):
        statuses = " ".join(f"{name}={probe.rc}" for name, probe in sorted(probes.items()))
        lines.append(f"  capture {label}: {statuses}")
    same_images = result.checksums_before == result.checksums_after
    same_pr = result.pr_before == result.pr_after
    lines.append(f"  backing images unchanged: {same_images}; PR state unchanged: {same_pr}")
    if result.udev is not None:
        steps = " ".join(
            f"{step.get('step')}={'timeout' if step.get('timed_out') else step.get('rc')}"
            for step in result.udev.get("steps", [])
        )
        lines.append(
            f"  udev: {steps}; database entries {result.udev.get('database_entries')};"
            f" left running {result.udev.get('left_running')}"
        )
    if result.target_events:
        lines.append(f"  target events (s after QEMU start): {result.target_events}")
    for error in result.guest.get("errors", []):
        lines.append(f"  guest agent error: {error}")
    if result.qemu_log.strip():
        lines.append("  qemu: " + result.qemu_log.strip().replace("\n", "\n  qemu: "))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.vm.rig", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("scenario", nargs="?", help=f"one of: {', '.join(SCENARIOS)}, or 'all'")
    parser.add_argument("--list", action="store_true", help="list the scenarios")
    parser.add_argument(
        "--prepare", action="store_true", help="only fetch the kernel and build the initramfs"
    )
    parser.add_argument("--keep", action="store_true", help="keep the run folder (and print it)")
    parser.add_argument("--smoke", action="store_true", help="run ls + sg_inq, not guestprobe")
    parser.add_argument("--capture", action="store_true", help="also run the fixture probes")
    parser.add_argument(
        "--write-fixtures", action="store_true", help="capture into tests/fixtures/rig/<scenario>/"
    )
    parser.add_argument("--json", action="store_true", help="print the scan JSON too")
    parser.add_argument(
        "--platform",
        default=DEFAULT_PLATFORM.name,
        choices=sorted(PLATFORMS),
        help="another guest kernel or host QEMU (tests/vm/versions.py)",
    )
    parser.epilog = "-- CMD: a shell command for the guest instead ({python}, {results}, {repo})"
    argv = list(sys.argv[1:] if argv is None else argv)
    guest_command = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    if args.prepare:
        kernel = PLATFORMS[args.platform].kernel()
        PLATFORMS[args.platform].qemu()
        print(f"{kernel.vmlinuz}\n{ensure_initramfs(kernel)}")
        return 0
    if args.list or not args.scenario:
        for scenario in SCENARIOS.values():
            print(f"{scenario.name:20} {scenario.summary}")
        return 0
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    if args.write_fixtures and args.scenario == "all":
        names = [name for name, scenario in SCENARIOS.items() if scenario.captured]
    command = " ".join(guest_command) or None
    if args.smoke:
        command = SMOKE_COMMAND
    status = 0
    for name in names:
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name!r}; --list shows them")
        result = run_scenario(
            name,
            command=command,
            capture=args.capture or None,
            keep=args.keep,
            write_fixtures=args.write_fixtures,
            platform=args.platform,
        )
        print(summary(result))
        if result.command_stdout.strip():
            print("--- command stdout ---\n" + result.command_stdout.rstrip())
        if result.command_stderr.strip():
            print("--- command stderr ---\n" + result.command_stderr.rstrip())
        if args.json and result.scan is not None:
            print(json.dumps(result.scan, indent=2))
        if args.keep:
            print(f"  run folder kept: {result.run_dir}")
        if args.write_fixtures:
            print(f"  fixtures written: {FIXTURES / name}")
        if result.qemu_timed_out or (result.command or {}).get("rc") not in (0,):
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
