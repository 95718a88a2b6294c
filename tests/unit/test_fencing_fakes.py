"""Fakes for the fencing-test tests: sg_persist answers built per SPC-4, dumped as sg3_utils does.

``sg_persist --hex --hex`` prints the whole PERSISTENT RESERVE IN parameter data through
``hex2stdout(buf, len, 1)`` (sg3_utils ``lib/sg_lib.c`` ``dStrHexFp`` with ``no_ascii > 0``): a
space, the offset as two hex digits, bytes from column 8, an extra space after the 8th byte,
trailing spaces trimmed — e.g. `` 00     00 00 00 02 00 00 00 08  67 70 a1 b2 c3 d4 e5 01``.
"""


import shutil
import struct
from pathlib import Path

from guestprobe.collect.sg3 import PR_READ_KEYS, PR_READ_RESERVATION
from guestprobe.fencing import proof, prout
from guestprobe.fencing.keys import new_run_keys

RUN_ID = bytes.fromhex("a1b2c3d4e5")
KEYS = new_run_keys(RUN_ID)
KA, KB = KEYS.target, KEYS.peer
FOREIGN = 0xF0E1D2C3B4A59687  # a key in no Veritas format (another tool, a manual sg_persist)
RIG_FOREIGN = 0x5646314132423033  # "VF1A2B03", the rig's foreign key: cluster 6699, node 3
VERITAS_COORDINATOR = 0x5646444545443030  # "VFDEED00"
A, B = "/dev/sg1", "/dev/sg2"  # the two paths of two_path_guest: sda and sdc

ILLEGAL_REQUEST_STDERR = (
    b"PR out (Preempt and abort): bad field in cdb (perhaps unsupported service action)\n"
    b"sg_persist failed: Illegal request\n"
)
INVALID_OPCODE_STDERR = (
    b"PR out (Register): command not supported\n"
    b"sg_persist failed: Illegal request, Invalid opcode\n"
)


def hexdump(data: bytes) -> bytes:
    """``hex2stdout(data, len(data), 1)`` as sg3_utils 1.44-1.49 print it."""
    lines = []
    for offset in range(0, len(data), 16):
        chunk = [f"{b:02x}" for b in data[offset : offset + 16]]
        body = " ".join(chunk[:8]) + ("  " + " ".join(chunk[8:]) if chunk[8:] else "")
        lines.append(f" {offset:02x}     {body}")
    return "".join(line + "\n" for line in lines).encode()


def read_keys_data(keys: "list[int]", generation: int = 0) -> bytes:
    """READ KEYS parameter data (SPC-4 6.15.2)."""
    return struct.pack(">II", generation, 8 * len(keys)) + b"".join(
        k.to_bytes(8, "big") for k in keys
    )


def read_reservation_data(key: "int | None", prtype: int = 5, generation: int = 0) -> bytes:
    """READ RESERVATION parameter data (SPC-4 6.15.3): none, or one LU-scope reservation."""
    if key is None:
        return struct.pack(">II", generation, 0)
    descriptor = key.to_bytes(8, "big") + bytes(4) + bytes([0, prtype & 0x0F]) + bytes(2)
    return struct.pack(">II", generation, 16) + descriptor


class Script:
    """sg_persist calls expected in order, each with its answer (registered with ``fp``)."""

    def __init__(self, fp) -> None:
        self.fp = fp
        self.expected: "list[list[str]]" = []

    def add(self, argv, rc: int = 0, stdout: bytes = b"", stderr: bytes = b"", callback=None):
        self.fp.register(list(argv), returncode=rc, stdout=stdout, stderr=stderr,
                         callback=callback)  # fmt: skip
        self.expected.append(list(argv))

    def keys(self, device: str, keys: "list[int]", rc: int = 0, callback=None) -> None:
        self.add(prout.read_keys(device), rc, hexdump(read_keys_data(keys)), callback=callback)

    def reservation(self, device: str, key: "int | None", prtype: int = 5) -> None:
        self.add(prout.read_reservation(device), 0, hexdump(read_reservation_data(key, prtype)))

    def sent(self) -> "list[list[str]]":
        return [list(call) for call in self.fp.calls if call[0] in ("sg_persist", "sg_raw")]


def through_reserve(script: "Script", reserve_callback=None) -> None:
    script.add(prout.register(A, KA))
    script.keys(A, [KA])
    script.add(prout.reserve(A, KA), callback=reserve_callback)


def single_path_pass(script: "Script") -> None:
    through_reserve(script)
    script.reservation(A, KA)
    script.add(prout.release(A, KA))
    script.reservation(A, None)


def peer_part(
    script: "Script", preempt_abort_rc: int = 0, proof_read_rc: int = 24, proof_sync_rc: int = 24
) -> None:
    script.add(prout.register(B, KB))
    script.keys(B, [KA, KB])
    script.add(prout.reserve(A, KA))
    if preempt_abort_rc:
        script.add(prout.preempt(B, KB, KA, abort=True), preempt_abort_rc,
                   stderr=ILLEGAL_REQUEST_STDERR)  # fmt: skip
        script.add(prout.preempt(B, KB, KA, abort=False))
    else:
        script.add(prout.preempt(B, KB, KA, abort=True))
    script.keys(B, [KB])
    script.reservation(B, KB)
    # the preempted path: UNIT ATTENTION "reservations preempted" first, then the conflict
    stale = prout.reregister_stale(A, KA)
    script.add(stale, 6, stderr=b"PR out (Register): Unit attention\n")
    script.add(stale, 24, stderr=b"PR out (Register): Reservation conflict\n")
    fence_proof(script, read_from_fenced_rc=proof_read_rc, sync_rc=proof_sync_rc)


def fence_proof(script: "Script", read_from_fenced_rc: int = 24, sync_rc: int = 24) -> None:
    """The proof after the peer preempted the target: tgt's answers (issue 20's table)."""
    script.add(proof.synchronize_cache10(A), sync_rc)
    script.add(proof.synchronize_cache10(B))
    script.add(proof.read10(A))
    script.add(prout.release(B, KB))
    script.add(prout.reserve(B, KB, proof.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY))
    script.reservation(B, KB, proof.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY)
    script.add(proof.read10(A), read_from_fenced_rc)
    if read_from_fenced_rc != 0:  # a GOOD there fails the step: the test stops
        script.add(proof.read10(B))


def peer_cleanup(script: "Script") -> None:
    script.keys(A, [KB])  # cleanup reads what is left: the peer's key and its reservation
    script.reservation(A, KB, proof.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY)
    script.add(prout.release(B, KB, proof.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY))
    script.add(prout.unregister(B, KB))
    script.keys(A, [])  # verify: through the target, then through the peer, which registered too
    script.reservation(A, None)
    script.keys(B, [])
    script.reservation(B, None)


def scan_pr_answers(fp, device: str, keys: "list[int]", holder: "int | None" = None) -> None:
    """The scan's PR IN probes of ``device``, answered as ``--hex --hex`` prints them."""
    fp.register(PR_READ_KEYS.argv(device), stdout=hexdump(read_keys_data(keys)))
    fp.register(PR_READ_RESERVATION.argv(device), stdout=hexdump(read_reservation_data(holder)))


def second_path_capture(capture: "Path", tmp: "Path", name: str, hctl: str, other_lu: bool = False):
    """A copy of a captured tgt disk as another path (kernel ``name`` at ``hctl``).

    ``other_lu`` changes one byte of the NAA designator: then it is another LU.
    """
    copy = tmp / f"capture-{name}"
    shutil.copytree(capture, copy)
    old = (copy / "sysfs_path.txt").read_text().strip()
    host = old.split("/target")[0]
    target = "target" + hctl.rsplit(":", 1)[0]
    (copy / "sysfs_path.txt").write_text(f"{host}/{target}/{hctl}/block/{name}\n")
    if other_lu:
        for page in (copy / "sysfs" / "device_vpd_pg83", copy / "vpd_0x83.out"):
            data = bytearray(page.read_bytes())
            data[-1] ^= 0xFF  # last byte of the last (NAA) designator
            page.write_bytes(bytes(data))
    return copy, f"{host}/{target}", f"{host}/{target}/{hctl}"


def two_path_guest(root: "Path", fp, keys: "list[int] | None" = None, other_lu: bool = False):
    """The kvm-mixed guest plus a second path ``sdc`` (sg2) to the tgt LU of ``sda`` (sg1).

    The scan's answers are registered with ``fp``: the captured ones, except READ KEYS and READ
    RESERVATION, answered ``--hex --hex`` style with ``keys`` (default none) registered.
    """
    from fakesys import MIXED, kvm_mixed
    from replay import SG_INQ_VERSION, register_disk

    fake = kvm_mixed(root)
    capture, target_dir, lun_dir = second_path_capture(
        MIXED / "IET_beaf11", root / "captures", "sdc", "0:0:2:0", other_lu=other_lu
    )
    fake.node(target_dir, subsystem="scsi")
    fake.node(lun_dir, driver="sd", subsystem="scsi")
    fake.add_disk_from_capture(capture, sg_name="sg2", devnum="8:32")
    fp.register(["sg_inq", "--version"], stderr=SG_INQ_VERSION, occurrences=5)
    first = root / "captures" / "capture-sda"
    shutil.copytree(MIXED / "IET_beaf11", first)
    for device, disk in (("/dev/sg1", first), ("/dev/sg2", capture)):
        for name in ("pr_read_keys", "pr_read_reservation"):  # captured with a single --hex
            (disk / f"{name}.rc").unlink()
        scan_pr_answers(fp, device, keys or [])
        register_disk(fp, disk, device)
    register_disk(fp, MIXED / "QEMU_SHDSER01", "/dev/sg0")
    register_disk(fp, MIXED / "0x1af4_VBLKSER01", "/dev/vda")
    return fake


def machine(fake):
    """(SysRoot, UdevView) of a fake guest, as ``gather`` and the command take them."""
    from guestprobe.collect.sysfs import SysRoot
    from guestprobe.collect.udev import UdevView

    return SysRoot(fake.root), UdevView(run_dir=fake.p("/run/udev"))
