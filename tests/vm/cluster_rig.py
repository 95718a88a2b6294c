"""The cluster rig: three guests on one tgt target, reachable over ssh, driven by ansible/.

    python -m tests.vm.cluster_rig            # boot, print the inventory, wait for Enter, stop

One tgtd on 127.0.0.1 holds three coordinator LUs (LUNs 1-3, VPD 0x80 serials GPCOOR01-03) and a
data LU (LUN 4, GPDATA04, an ext2 file system made on the host). Each guest is the rig's usual
guest (the host's ``/`` over 9p, read-only) with its own iSCSI initiator name for all four LUNs
(scsi-block on virtio-scsi: one I_T nexus per node), and sshd from the host's root on QEMU user
networking, forwarded from ``127.0.0.1:<port>`` only. Every image is SHA-256'd before boot and
after the guests are stopped. Everything is stopped in ``close()``, always.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import qemu
from .guest_image import ensure_initramfs, ensure_kernel
from .processes import start_tied, stop_group
from .rig import IQN_PREFIX, REPO, RUNS_DIR, checksum_images, make_image
from .scenarios import SCSI_BLOCK, Disk
from .tgt import LISTEN_ADDRESS, TargetLun, TgtDaemon, free_tcp_port

NODES = 3
COORDINATOR_LUNS = (1, 2, 3)
DATA_LUN = 4
SERIALS = {1: "GPCOOR01", 2: "GPCOOR02", 3: "GPCOOR03", 4: "GPDATA04"}
LUN_SIZE_MIB = 32
BOOT_TIMEOUT_S = 420  # three TCG guests on two busy cores
SSHD_CONFIG = """Port 22
ListenAddress 0.0.0.0
HostKey /run/rig/ssh/host_key
PidFile /run/sshd.pid
AuthorizedKeysFile /run/rig/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
Subsystem sftp internal-sftp
"""
# The node's /run/rig/guest.sh: network, sshd, then wait for the host's power-off marker.
NODE_SCRIPT = """#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8
log() {{ echo "rig-node: $(cut -d' ' -f1 /proc/uptime) $*" > /dev/console; }}
log start
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
mkdir -p -m 0755 /run/sshd /tmp/.ansible
hostname {hostname}
/usr/sbin/sshd -D -e -f /run/rig/ssh/sshd_config 2>/run/rig/results/sshd.log &
log sshd-started
while [ ! -e /run/rig/markers/poweroff ]; do sleep 1; done
log poweroff
umount -a -t ext2 2>/dev/null
sync
"""


class ClusterRigError(RuntimeError):
    pass


@dataclass
class Node:
    number: int
    name: str
    run_dir: Path
    ssh_port: int
    initiator: str
    qemu: subprocess.Popen[bytes] | None = None
    ready_s: float | None = None  # host wall-clock from QEMU start to ssh answering
    exit_status: int | None = None


@dataclass
class ClusterRig:
    """Three guests and their target; :meth:`start`, use, :meth:`close`."""

    keep: bool = False
    run_dir: Path = field(init=False)
    nodes: list[Node] = field(default_factory=list)
    images: dict[str, Path] = field(default_factory=dict)
    checksums_before: dict[str, str] = field(default_factory=dict)
    checksums_after: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    tgt: TgtDaemon | None = None

    def __post_init__(self) -> None:
        RUNS_DIR.mkdir(parents=True, exist_ok=True)
        self.run_dir = Path(tempfile.mkdtemp(prefix="cluster-", dir=RUNS_DIR))
        self.token = f"{os.getpid()}-{secrets.token_hex(3)}"
        self.iqn = f"{IQN_PREFIX}:cluster-{self.token}"
        self.key = self.run_dir / "id_ed25519"
        self.python = os.path.realpath(sys.executable)

    # -- start ---------------------------------------------------------------------------------
    def start(self) -> ClusterRig:
        begin = time.monotonic()
        kernel = ensure_kernel()
        initramfs = ensure_initramfs(kernel)
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)])
        self._start_tgt()
        self.checksums_before = checksum_images(self.images)
        for number in range(1, NODES + 1):
            self.nodes.append(self._prepare_node(number))
        started = time.monotonic()
        self.timings["setup_s"] = round(started - begin, 2)
        for node in self.nodes:
            argv = qemu.command_line(kernel, initramfs, node.run_dir, node.run_dir / "console.log",
                                     self._disks(node), memory_mib=768, cpus=1,
                                     ssh_port=node.ssh_port)  # fmt: skip
            (node.run_dir / "qemu.argv").write_text(shlex.join(argv) + "\n")
            node.qemu = start_tied(argv, node.run_dir / "qemu.log")
        self._wait_for_ssh(started)
        self.timings["boot_s"] = round(time.monotonic() - started, 2)
        self.write_inventory()
        return self

    def _start_tgt(self) -> None:
        images = self.run_dir / "images"
        images.mkdir()
        luns = []
        for number, serial in SERIALS.items():
            path = images / f"tgt-lun{number}.img"
            make_image(path, LUN_SIZE_MIB)
            if number == DATA_LUN:  # the refused run mounts it (read-only)
                _run(["mke2fs", "-q", "-F", "-t", "ext2", "-L", "gpdata", str(path)])
            self.images[f"tgt-lun{number}"] = path
            luns.append(TargetLun(number, path, (("scsi_sn", serial),)))
        self.tgt = TgtDaemon(self.iqn, self.run_dir / "tgtd.log")
        self.tgt.start(luns)

    def _prepare_node(self, number: int) -> Node:
        node_dir = self.run_dir / f"node{number}"
        for sub in ("results", "markers", "ssh"):
            (node_dir / sub).mkdir(parents=True)
        (node_dir / "repo_path").write_text(f"{REPO}\n")
        ssh = node_dir / "ssh"
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / "host_key")])
        (ssh / "sshd_config").write_text(SSHD_CONFIG)
        (ssh / "authorized_keys").write_text(self.key.with_suffix(".pub").read_text())
        (node_dir / "guest.sh").write_text(NODE_SCRIPT.format(hostname=f"node{number}"))
        return Node(number, f"node{number}", node_dir, free_tcp_port(),
                    f"{IQN_PREFIX}:node{number}-{self.token}")  # fmt: skip

    def _disks(self, node: Node) -> list[qemu.AttachedDisk]:
        assert self.tgt is not None
        attached = []
        for index, lun in enumerate(SERIALS):
            disk = Disk(SCSI_BLOCK, f"tgt-lun{lun}_node{node.number}", lun=lun)
            attached.append(qemu.AttachedDisk(
                disk, f"drv{index}",
                iscsi_url=f"iscsi://{LISTEN_ADDRESS}:{self.tgt.port}/{self.iqn}/{lun}",
                initiator_name=node.initiator, scsi_id=index,
            ))  # fmt: skip
        return attached

    def _wait_for_ssh(self, started: float) -> None:
        waiting = {node.number: node for node in self.nodes}
        deadline = started + BOOT_TIMEOUT_S
        while waiting and time.monotonic() < deadline:
            for number, node in list(waiting.items()):
                assert node.qemu is not None
                if node.qemu.poll() is not None:
                    raise ClusterRigError(f"{node.name}: QEMU exited {node.qemu.returncode}: "
                                          f"{_tail(node.run_dir / 'console.log')}")  # fmt: skip
                if _port_open(node.ssh_port) and self.ssh(node, "true", 30).returncode == 0:
                    node.ready_s = round(time.monotonic() - started, 2)
                    del waiting[number]
            time.sleep(2)
        if waiting:
            names = ", ".join(n.name for n in waiting.values())
            raise ClusterRigError(f"no ssh from {names} within {BOOT_TIMEOUT_S} s")

    # -- use -----------------------------------------------------------------------------------
    def ssh_argv(self, node: Node) -> list[str]:
        return ["ssh", "-p", str(node.ssh_port), "-i", str(self.key), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20", "root@127.0.0.1"]  # fmt: skip

    def ssh(self, node: Node, command: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*self.ssh_argv(node), command], capture_output=True, text=True,
                              timeout=timeout_s, check=False)  # fmt: skip

    @property
    def inventory(self) -> Path:
        return self.run_dir / "inventory.ini"

    def write_inventory(self) -> None:
        lines = ["[guestprobe_nodes]"]
        for node in self.nodes:
            lines.append(f"{node.name} ansible_host=127.0.0.1 ansible_port={node.ssh_port}")
        lines += [
            "", "[guestprobe_nodes:vars]", "ansible_user=root",
            f"ansible_ssh_private_key_file={self.key}",
            "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'",
            f"ansible_python_interpreter={self.python}",
            "ansible_remote_tmp=/tmp/.ansible",  # the guest's / is read-only; /tmp is tmpfs
            "guestprobe_remote_dir=/var/tmp/guestprobe",
            "guestprobe_venv=/var/tmp/guestprobe-venv",
            f"guestprobe_venv_python={self.python}",
        ]  # fmt: skip
        self.inventory.write_text("\n".join(lines) + "\n")

    def playbook(self, playbook: str, extra: dict | None = None, timeout_s: float = 900):
        """``ansible-playbook -i INVENTORY ansible/PLAYBOOK`` from the host, as the README says."""
        tool = Path(sys.executable).parent / "ansible-playbook"
        variables = {
            "guestprobe_results_dir": str(self.run_dir / "results"),
            "guestprobe_controller_command": [self.python, "-m", "guestprobe"],
            "guestprobe_controller_environment": {"PYTHONPATH": str(REPO)},
            **(extra or {}),
        }
        env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "False",
               "ANSIBLE_FORKS": "5", "ANSIBLE_LOCALHOST_WARNING": "0",
               "ANSIBLE_PIPELINING": "True"}  # fmt: skip
        begin = time.monotonic()
        proc = subprocess.run(
            [str(tool), "-i", str(self.inventory), str(REPO / "ansible" / playbook),
             "-e", json.dumps(variables)],
            capture_output=True, text=True, timeout=timeout_s, env=env, check=False,
        )  # fmt: skip
        self.timings[f"{playbook}#{len(self.timings)}"] = round(time.monotonic() - begin, 2)
        (self.run_dir / f"ansible-{playbook}-{len(self.timings)}.log").write_text(
            proc.stdout + proc.stderr
        )
        return proc

    # -- stop ----------------------------------------------------------------------------------
    def close(self) -> None:
        if self.checksums_after:
            return  # closed already
        for node in self.nodes:
            (node.run_dir / "markers" / "poweroff").write_text("now\n")
        deadline = time.monotonic() + 60
        for node in self.nodes:
            if node.qemu is None:
                continue
            try:
                node.exit_status = node.qemu.wait(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                stop_group(node.qemu)
            stop_group(node.qemu)
        if self.tgt is not None:
            self.tgt.stop()
        self.checksums_after = checksum_images(self.images)
        self.checksums_after = self.checksums_after or {"": "no images"}
        if not self.keep:
            subprocess.run(["rm", "-rf", str(self.run_dir)], check=False)


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise ClusterRigError(f"{shlex.join(argv)} exited {proc.returncode}: {proc.stderr}")


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        return sock.connect_ex((LISTEN_ADDRESS, port)) == 0


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def main() -> int:
    rig = ClusterRig(keep=True)
    try:
        rig.start()
        print(f"inventory: {rig.inventory}\ntimings: {rig.timings}")
        for node in rig.nodes:
            print(f"{node.name}: ssh after {node.ready_s} s: {shlex.join(rig.ssh_argv(node))}")
        input("Enter stops the guests... ")
    finally:
        rig.close()
        print(f"images unchanged: {rig.checksums_before == rig.checksums_after}; {rig.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

