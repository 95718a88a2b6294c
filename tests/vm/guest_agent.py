"""Runs inside the guest (``/run/rig/guest.sh`` execs it): everything a run does in the guest.

In order: wait for the plan's disks and name them (``disks.json``); set up a foreign persistent
reservation and delete that initiator's path, if the plan says so; read every SCSI disk's PR state
(``pr_before.json``); capture the fixture probes (``capture/``); hand-shake with the host around a
target stop; if the plan says so, start systemd-udevd and let it settle (``udev.json``); run the
command (``command.json``, ``command.stdout``, ``command.stderr``); stop udevd; read the PR state
again (``pr_after.json``). Timings, as guest uptime, go to ``agent.json``.

The host's Python runs this with the repository on ``PYTHONPATH`` (so ``guestprobe`` imports);
standard library only otherwise. Nothing here raises out: a failed step is written down and the
agent goes on, so the host always gets back what there is.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from pathlib import Path

RIG = Path("/run/rig")
RESULTS = RIG / "results"
MARKERS = RIG / "markers"
SYS_BLOCK = Path("/sys/block")
PROBE_TIMEOUT_S = 60
DISK_WAIT_S = 90
SYSFS_BLOCK_FILES = ("size", "ro", "removable", "serial", "wwid", "dev", "capability")
SYSFS_DEVICE_FILES = (
    "vendor", "model", "rev", "type", "scsi_level", "inquiry", "wwid", "state", "timeout",
    "queue_depth", "serial", "firmware_rev", "transport", "device", "features",
)  # fmt: skip
SYSFS_SCSI_DISK_FILES = (
    "provisioning_mode", "thin_provisioning", "cache_type", "protection_type",
    "max_write_same_blocks", "zeroing_mode",
)  # fmt: skip


def uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


def log(message: str) -> None:
    line = f"rig-agent: {uptime():.2f} {message}"
    print(line, flush=True)
    with (RESULTS / "agent.log").open("a") as handle:
        handle.write(line + "\n")


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", "replace").strip()
    except OSError:
        return None


def run(
    argv: list[str], timeout_s: float = PROBE_TIMEOUT_S, env: dict[str, str] | None = None
) -> dict[str, object]:
    """Run a command; its exit status, output and duration (never raises)."""
    start = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_s,
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired as exc:
        return {
            "argv": argv,
            "rc": None,
            "timed_out": True,
            "stdout": exc.stdout or b"",
            "stderr": exc.stderr or b"",
            "duration_s": time.monotonic() - start,
        }
    except OSError as exc:
        return {
            "argv": argv,
            "rc": None,
            "timed_out": False,
            "stdout": b"",
            "stderr": str(exc).encode(),
            "duration_s": time.monotonic() - start,
        }
    return {
        "argv": argv,
        "rc": proc.returncode,
        "timed_out": False,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "duration_s": time.monotonic() - start,
    }


def printable(result: dict[str, object]) -> dict[str, object]:
    """A :func:`run` result for JSON: output as text."""
    out = dict(result)
    for key in ("stdout", "stderr"):
        value = out[key]
        out[key] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return out


# -- finding the plan's disks -----------------------------------------------------------------


def scsi_address(block: Path) -> tuple[str, int, int, int, int] | None:
    """(proc_name, host, channel, target, lun) of a SCSI disk, None for other disks."""
    try:
        hctl = Path(os.path.realpath(block / "device")).name
        host, channel, target, lun = (int(part) for part in hctl.split(":"))
    except (OSError, ValueError):
        return None
    proc_name = read_text(Path(f"/sys/class/scsi_host/host{host}/proc_name")) or ""
    return proc_name, host, channel, target, lun


def vpd_serial(block: Path) -> str | None:
    """The unit serial number from the kernel's cached VPD page 0x80."""
    try:
        page = (block / "device" / "vpd_pg80").read_bytes()
    except OSError:
        return None
    return page[4:].decode("ascii", "replace").strip("\0 ") or None


def matches(spec: dict[str, object], name: str) -> bool:
    block = SYS_BLOCK / name
    kind = spec["kind"]
    if kind == "virtio-blk":
        return name.startswith("vd") and read_text(block / "serial") == spec["serial"]
    if kind == "nvme":
        return name.startswith("nvme") and read_text(block / "device" / "serial") == spec["serial"]
    address = scsi_address(block)
    if address is None:
        return False
    proc_name, _host, _channel, target, lun = address
    if kind in ("scsi-hd", "scsi-block"):
        return proc_name == "virtio_scsi" and target == spec["scsi_id"] and lun == 0
    if kind == "ide-hd":
        return proc_name == "ahci" and vpd_serial(block) == spec["serial"]
    return False


def sg_node(name: str) -> str | None:
    nodes = (
        sorted(os.listdir(SYS_BLOCK / name / "device" / "scsi_generic"))
        if (SYS_BLOCK / name / "device" / "scsi_generic").is_dir()
        else []
    )
    return f"/dev/{nodes[0]}" if nodes else None


def find_disks(plan: dict) -> dict[str, dict[str, object]]:
    """Wait until every disk of the plan is there; {label: where the guest put it}."""
    wanted = {spec["label"]: spec for spec in plan["disks"]}
    found: dict[str, dict[str, object]] = {}
    deadline = time.monotonic() + DISK_WAIT_S
    while True:
        for name in sorted(os.listdir(SYS_BLOCK)):
            if read_text(SYS_BLOCK / name / "hidden") == "1":  # an NVMe multipath path
                continue
            for label, spec in wanted.items():
                if label not in found and matches(spec, name):
                    found[label] = {"kernel_name": name, "dev": f"/dev/{name}"}
        ready = all(
            label in found
            and (
                spec["kind"] in ("virtio-blk", "nvme") or sg_node(str(found[label]["kernel_name"]))
            )
            for label, spec in wanted.items()
        )
        if ready or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for info in found.values():
        name = str(info["kernel_name"])
        info["sg"] = sg_node(name)
        info["probe_node"] = info["sg"] or info["dev"]
        info["sysfs_path"] = os.path.realpath(SYS_BLOCK / name)
        size = read_text(SYS_BLOCK / name / "size")
        lbs = read_text(SYS_BLOCK / name / "queue" / "logical_block_size")
        info["block_size"] = int(lbs) if lbs else None
        info["capacity_blocks"] = int(size) * 512 // int(lbs) if size and lbs else None
    missing = sorted(set(wanted) - set(found))
    if missing:
        log(
            f"disks not found after {DISK_WAIT_S} s: {missing}; /sys/block: "
            f"{sorted(os.listdir(SYS_BLOCK))}"
        )
    return found


# -- persistent reservations ------------------------------------------------------------------


def pr_state(disks: dict[str, dict[str, object]], plan: dict) -> dict[str, object]:
    """READ KEYS and READ RESERVATION of every SCSI disk, as sg_persist printed them."""
    from guestprobe.collect.sg3 import PR_READ_KEYS, PR_READ_RESERVATION

    state: dict[str, object] = {}
    for label, info in sorted(disks.items()):
        if not info.get("sg") or not info.get("visible", True):
            continue
        state[label] = {
            spec.name: printable(run_past_unit_attention(spec.argv(str(info["sg"]))))
            for spec in (PR_READ_KEYS, PR_READ_RESERVATION)
        }
        for entry in state[label].values():  # type: ignore[union-attr]
            entry.pop("duration_s")
            entry["argv"] = entry["argv"][:-1]  # the sg node may differ between readings
    return state


def run_past_unit_attention(argv: list[str], attempts: int = 3) -> dict[str, object]:
    """Run again after UNIT ATTENTION (exit 6), as an initiator does after a reset or reconnect."""
    result = run(argv)
    for _ in range(attempts - 1):
        if result["rc"] != 6:
            break
        result = run(argv)
    return result


def set_up_foreign_reservation(disks: dict[str, dict[str, object]], plan: dict) -> list[object]:
    """Register a key and reserve through another initiator's path (the plan's ``disk``)."""
    setup = plan["foreign_reservation"]
    node = str(disks[setup["disk"]]["sg"])
    key = f"{setup['key']:#x}"
    steps = [
        ["sg_persist", "--out", "--no-inquiry", "--register", f"--param-sark={key}", node],
        [
            "sg_persist",
            "--out",
            "--no-inquiry",
            "--reserve",
            f"--param-rk={key}",
            f"--prout-type={setup['prout_type']}",
            node,
        ],
    ]
    results = [printable(run(argv)) for argv in steps]
    for result in results:
        log(f"{shlex.join(result['argv'])}: exit {result['rc']}")  # type: ignore[arg-type]
    return results


def delete_hidden_disks(disks: dict[str, dict[str, object]], plan: dict) -> None:
    """Remove the paths the command must not see (``visible: false``) from the guest."""
    for spec in plan["disks"]:
        if spec["visible"] or spec["label"] not in disks:
            continue
        info = disks[spec["label"]]
        name = str(info["kernel_name"])
        (SYS_BLOCK / name / "device" / "delete").write_text("1\n")
        deadline = time.monotonic() + 30
        while (SYS_BLOCK / name).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        info["visible"] = False
        info["deleted"] = not (SYS_BLOCK / name).exists()
        log(f"deleted {spec['label']} ({name}) from the guest: {info['deleted']}")


# -- fixture capture --------------------------------------------------------------------------


def probe_plan(capacity_blocks: int | None, block_size: int | None, timeout_s: int) -> list[object]:
    """guestprobe's own probe argvs (guestprobe/collect/sg3.py), in its order."""
    from guestprobe.collect import sg3

    specs = [
        sg3.INQUIRY,
        *(sg3.vpd_probe(page) for page in sg3.VPD_PAGES),
        sg3.READ_CAPACITY_16,
        sg3.PR_READ_KEYS,
        sg3.PR_READ_RESERVATION,
        sg3.PR_REPORT_CAPABILITIES,
        sg3.PR_READ_FULL_STATUS,
        sg3.REPORT_OPCODES,
    ]
    if capacity_blocks and block_size:
        specs += sg3.write_same_probes(capacity_blocks, block_size, timeout_s)
    return specs


def copy_sysfs(name: str, target: Path) -> None:
    """The disk's own sysfs files, as a tree below ``target`` mirroring /sys/block/<name>/."""
    block = SYS_BLOCK / name
    wanted = [block / item for item in SYSFS_BLOCK_FILES]
    wanted += sorted((block / "queue").glob("*"))
    wanted += [block / "device" / item for item in SYSFS_DEVICE_FILES]
    wanted += sorted((block / "device").glob("vpd_pg*"))
    for scsi_disk in sorted((block / "device" / "scsi_disk").glob("*")):
        wanted += [scsi_disk / item for item in SYSFS_SCSI_DISK_FILES]
    for path in wanted:
        if not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        destination = target / path.relative_to(block)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)


def capture_disk(info: dict[str, object], target: Path, timeout_s: int) -> dict[str, object]:
    target.mkdir(parents=True, exist_ok=True)
    node = str(info["probe_node"])
    summary: dict[str, object] = {}
    plan = probe_plan(info["capacity_blocks"], info["block_size"], timeout_s)  # type: ignore[arg-type]
    for spec in plan:
        argv = spec.argv(node)  # type: ignore[attr-defined]
        result = run(argv)
        name = spec.name  # type: ignore[attr-defined]
        (target / f"{name}.argv").write_text(shlex.join(argv) + "\n")
        (target / f"{name}.out").write_bytes(result["stdout"])  # type: ignore[arg-type]
        (target / f"{name}.err").write_bytes(result["stderr"])  # type: ignore[arg-type]
        rc = "timeout" if result["timed_out"] else result["rc"]
        (target / f"{name}.rc").write_text(f"{rc}\n")
        summary[name] = {"rc": rc, "duration_s": round(float(result["duration_s"]), 3)}
    copy_sysfs(str(info["kernel_name"]), target / "sysfs")
    (target / "sysfs_path.txt").write_text(f"{info['sysfs_path']}\n")
    (target / "kernel_name.txt").write_text(f"{info['kernel_name']}\n")
    return summary


def capture_guest(target: Path) -> None:
    """Per-guest facts: kernel, sg3_utils version, SCSI hosts, virtio devices, DMI."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "kernel_release.txt").write_text(os.uname().release + "\n")
    version = run(["sg_inq", "--version"])
    (target / "sg3_utils_version.txt").write_bytes(
        version["stdout"] + version["stderr"]  # type: ignore[operator]
    )
    hosts = []
    for host in sorted(Path("/sys/class/scsi_host").glob("host*"), key=lambda p: int(p.name[4:])):
        hosts.append(f"{host.name} {read_text(host / 'proc_name')}")
    (target / "scsi_hosts.txt").write_text("".join(line + "\n" for line in hosts))
    virtio = []
    devices = Path("/sys/bus/virtio/devices")
    for device in sorted(devices.glob("virtio*"), key=lambda p: int(p.name[6:])):
        driver = Path(os.readlink(device / "driver")).name if (device / "driver").exists() else "-"
        virtio.append(
            f"{device.name} device={read_text(device / 'device')} "
            f"features={read_text(device / 'features')} driver={driver}"
        )
    (target / "virtio_devices.txt").write_text("".join(line + "\n" for line in virtio))
    dmi = Path("/sys/class/dmi/id")
    (target / "dmi.txt").write_text(
        "".join(f"{item}: {read_text(dmi / item)}\n" for item in ("sys_vendor", "product_name"))
    )


def capture(disks: dict[str, dict[str, object]], plan: dict) -> None:
    """Capture into the guest's tmpfs (many small files over 9p are slow), ship one tar file."""
    root = Path(tempfile.mkdtemp(prefix="rig-capture-"))
    capture_guest(root / "guest")
    summary = {}
    for label, info in sorted(disks.items()):
        if info.get("visible", True):
            summary[label] = capture_disk(info, root / label, int(plan["probe_timeout_s"]))
            log(f"captured {label} on {info['probe_node']}")
    write_json(root / "summary.json", summary)
    with tarfile.open(RESULTS / "capture.tar", "w") as archive:
        archive.add(root, arcname="capture")


# -- udev ---------------------------------------------------------------------------------------

UDEVD_PATHS = ("/lib/systemd/systemd-udevd", "/usr/lib/systemd/systemd-udevd")
UDEV_SETTLE_S = 30


def udev_environment() -> dict[str, str]:
    """udevadm refuses to work in a chroot ("Running in chroot, ignoring request.") and the agent
    runs chrooted into the 9p root (PID 1 is the initramfs' /init): tell it that is fine."""
    return {**os.environ, "SYSTEMD_IGNORE_CHROOT": "1"}


def udevd_pids() -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        if read_text(comm) == "systemd-udevd":
            pids.append(int(comm.parent.name))
    return sorted(pids)


def udev_step(state: dict[str, object], step: str, argv: list[str], timeout_s: float) -> bool:
    result = printable(run(argv, timeout_s=timeout_s, env=udev_environment()))
    result["step"] = step
    result["duration_s"] = round(float(result["duration_s"]), 3)  # type: ignore[arg-type]
    state["steps"].append(result)  # type: ignore[attr-defined]
    rc = "timeout" if result["timed_out"] else result["rc"]
    detail = str(result["stderr"]).strip().replace("\n", " | ")
    log(f"udev {step}: exit {rc} in {result['duration_s']} s" + (f": {detail}" if detail else ""))
    return result["rc"] == 0


def start_udev() -> dict[str, object]:
    """Start systemd-udevd, replay the block and scsi "add" events, wait until they are handled."""
    state: dict[str, object] = {"steps": [], "binary": None, "database_entries": None}
    binary = next((path for path in UDEVD_PATHS if os.access(path, os.X_OK)), None)
    state["binary"] = binary
    if binary is None:
        log(f"udev: no systemd-udevd at {UDEVD_PATHS} (apt-get install udev on the host)")
        return state
    start = time.monotonic()
    env = udev_environment()
    argv = [binary, "--daemon", "--resolve-names=never", f"--event-timeout={UDEV_SETTLE_S}"]
    try:  # --daemon forks: its output goes to a file, not to pipes that would never close
        with (RESULTS / "udevd.log").open("ab") as daemon_log:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=daemon_log,
                stderr=subprocess.STDOUT,
                timeout=30,
                check=False,
                env=env,
            )
        rc: int | None = proc.returncode
        error = ""
    except (OSError, subprocess.TimeoutExpired) as exc:
        rc, error = None, str(exc)
    state["steps"].append(  # type: ignore[attr-defined]
        {"step": "start", "argv": argv, "rc": rc, "timed_out": rc is None,
         "stderr": error, "duration_s": round(time.monotonic() - start, 3)}
    )  # fmt: skip
    log(f"udev start: exit {rc}{': ' + error if error else ''}; pids {udevd_pids()}")
    if rc != 0:
        return state
    udev_step(state, "ping", ["udevadm", "control", "--ping", "--timeout=20"], 30)
    udev_step(
        state,
        "trigger",
        ["udevadm", "trigger", "--action=add", "--subsystem-match=scsi",
         "--subsystem-match=block"],
        30,
    )  # fmt: skip
    udev_step(
        state, "settle", ["udevadm", "settle", f"--timeout={UDEV_SETTLE_S}"], UDEV_SETTLE_S + 10
    )
    data = Path("/run/udev/data")
    state["database_entries"] = len(os.listdir(data)) if data.is_dir() else 0
    links = sorted(p for p in Path("/dev/disk").glob("*/*") if p.is_symlink())
    state["links"] = {str(link): os.readlink(link) for link in links}
    log(f"udev: {state['database_entries']} database entries, {len(links)} /dev/disk links")
    return state


def stop_udev(state: dict[str, object]) -> None:
    """``udevadm control --exit``; whatever udevd process is left after it is killed."""
    if state.get("binary") is None:
        return
    udev_step(state, "exit", ["udevadm", "control", "--exit", "--timeout=20"], 30)
    deadline = time.monotonic() + 10
    while udevd_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    left = udevd_pids()
    state["left_running"] = left
    for pid in left:
        log(f"udev: systemd-udevd {pid} still running after --exit; SIGKILL")
        try:
            os.kill(pid, 9)
        except OSError as exc:
            log(f"udev: kill {pid}: {exc}")


# -- the host hand-shake and the command ------------------------------------------------------


def handshake(send: str, wait_for: str, timeout_s: float) -> bool:
    """Leave marker ``send`` for the host and wait for its marker ``wait_for``."""
    (MARKERS / send).write_text(f"{uptime()}\n")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (MARKERS / wait_for).exists():
            return True
        time.sleep(0.1)
    log(f"no {wait_for!r} from the host within {timeout_s} s")
    return False


def disk_environment(disks: dict[str, dict[str, object]]) -> dict[str, str]:
    """RIG_DEV_<LABEL> and RIG_SG_<LABEL> for the command (``tgt-lun1_path1`` -> TGT_LUN1_PATH1)."""
    env = {}
    for label, info in disks.items():
        if not info.get("visible", True):
            continue
        key = "".join(char if char.isalnum() else "_" for char in label).upper()
        env[f"RIG_DEV_{key}"] = str(info["dev"])
        env[f"RIG_SG_{key}"] = str(info.get("sg") or "")
    return env


def run_command(plan: dict, disks: dict[str, dict[str, object]]) -> dict[str, object]:
    env = dict(os.environ)
    env.update(disk_environment(disks))
    started = uptime()
    start = time.monotonic()
    timed_out = False
    with (
        (RESULTS / "command.stdout").open("wb") as out,
        (RESULTS / "command.stderr").open("wb") as err,
    ):
        proc = subprocess.Popen(
            ["/bin/sh", "-c", plan["command"]],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=plan["repo"],
            env=env,
            start_new_session=True,
        )
        try:
            rc: int | None = proc.wait(timeout=plan["command_timeout_s"])
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, 9)
            rc = None
    return {
        "command": plan["command"],
        "rc": rc,
        "timed_out": timed_out,
        "duration_s": round(time.monotonic() - start, 3),
        "started_uptime": started,
        "ended_uptime": uptime(),
    }


def main(plan_path: str) -> int:
    RESULTS.mkdir(exist_ok=True)
    MARKERS.mkdir(exist_ok=True)
    timings: dict[str, float] = {"agent_start": uptime()}
    agent: dict[str, object] = {"timings": timings, "errors": []}
    try:
        plan = json.loads(Path(plan_path).read_text())
        log(f"plan {plan['scenario']}: {len(plan['disks'])} disk(s)")
        disks = find_disks(plan)
        timings["disks_ready"] = uptime()
        for info in disks.values():
            info["visible"] = True
        write_json(RESULTS / "disks.json", disks)
        if plan.get("foreign_reservation"):
            write_json(RESULTS / "reservation_setup.json", set_up_foreign_reservation(disks, plan))
        delete_hidden_disks(disks, plan)
        write_json(RESULTS / "disks.json", disks)
        write_json(RESULTS / "pr_before.json", pr_state(disks, plan))
        if plan.get("capture"):
            capture(disks, plan)
            timings["capture_done"] = uptime()
        if plan.get("stop_target_during_command"):
            agent["target_stopped"] = handshake("ready", "stopped", timeout_s=60)
        udev: dict[str, object] | None = None
        if plan.get("udev"):
            timings["udev_start"] = uptime()
            udev = start_udev()
            timings["udev_settled"] = uptime()
            write_json(RESULTS / "udev.json", udev)
        timings["command_start"] = uptime()
        try:
            command = run_command(plan, disks)
        finally:
            if udev is not None:
                stop_udev(udev)
                write_json(RESULTS / "udev.json", udev)
        timings["command_end"] = uptime()
        write_json(RESULTS / "command.json", command)
        log(f"command exit {command['rc']} after {command['duration_s']} s")
        if plan.get("stop_target_during_command"):
            agent["target_resumed"] = handshake("command-done", "resumed", timeout_s=60)
        write_json(RESULTS / "pr_after.json", pr_state(disks, plan))
    except Exception:  # report everything to the host, then power off
        agent["errors"].append(traceback.format_exc())  # type: ignore[union-attr]
        log("agent failed:\n" + traceback.format_exc())
    timings["agent_end"] = uptime()
    write_json(RESULTS / "agent.json", agent)
    (MARKERS / "agent-done").write_text(f"{uptime()}\n")
    os.sync()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
