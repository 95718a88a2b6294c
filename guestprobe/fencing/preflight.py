"""Before any PERSISTENT RESERVE OUT: a read-only scan of the disk (and peer), and the refusals.

:func:`gather` runs the scan's own collection with the write probes off (INQUIRY, VPD pages,
READ CAPACITY, PERSISTENT RESERVE IN, REPORT SUPPORTED OPERATION CODES) and builds its typed
report (:class:`guestprobe.document.model.Report`); :func:`path_facts` picks what the fencing
test needs from one disk of it, and
:func:`refusals` judges, purely, whether the test may run. Every refusal has a stable code.
"""


from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from guestprobe.collect import process
from guestprobe.collect.discover import BlockDisk
from guestprobe.collect.probe import ProbeResult, Runner
from guestprobe.collect.sg3 import Outcome
from guestprobe.collect.sysfs import SysRoot
from guestprobe.collect.udev import UdevView
from guestprobe.compat import shell_join
from guestprobe.decode import DecodeError
from guestprobe.decode.persist import key_hex, key_owner
from guestprobe.decode.vpd import decode_device_identification, lu_designators
from guestprobe.document.fencing import PathRecord, RefusalRecord
from guestprobe.document.model import DiskReport
from guestprobe.fencing import prout
from guestprobe.fencing.keys import RunKeys, leftover_run_id, sg_key

TARGET = "target"
PEER = "peer"
OTHER_PATH = "other_path"  # another path (sd/sg) to the tested LU, not on the command line


Refusal = RefusalRecord  # why nothing is sent: code, role (the path), text


@dataclass
class PathFacts:
    """What the preflight scan found out about one path (the tested disk or the peer)."""

    role: str
    name: str
    dev_path: str
    device: str  # the node commands go to: /dev/sgN where there is one
    status: str = "probed"  # the scan's disk status: probed, timed_out, vanished
    transport: "str | None" = None  # e.g. "virtio-scsi/passthrough"
    vendor_product: "str | None" = None
    lu_designator: "str | None" = None
    holders: "list[str]" = field(default_factory=list)
    mounts: "list[dict[str, str]]" = field(default_factory=list)
    swaps: "list[str]" = field(default_factory=list)
    pr_in_outcome: "str | None" = None
    pr_in_meaning: "str | None" = None  # exit meaning, or why the probe was skipped
    pr_in_exit_status: "int | None" = None
    keys: "list[int] | None" = None  # None: READ KEYS did not work or did not decode
    reservation: "dict[str, Any] | None" = None  # decoded reservation descriptor; None = none
    reservation_known: bool = False
    evidence: "list[dict[str, Any]]" = field(default_factory=list)  # the PR IN probes

    def record(self) -> "PathRecord":
        """The path as its JSON record (keys as hex)."""
        return PathRecord(
            role=self.role, name=self.name, dev_path=self.dev_path, device=self.device,
            status=self.status, transport=self.transport, vendor_product=self.vendor_product,
            lu_designator=self.lu_designator, holders=self.holders, mounts=self.mounts,
            swaps=self.swaps, pr_in_outcome=self.pr_in_outcome,
            pr_in_exit_status=self.pr_in_exit_status, pr_in_meaning=self.pr_in_meaning,
            keys=None if self.keys is None else [key_hex(k) for k in self.keys],
            reservation=self.reservation, evidence=self.evidence,
        )

    def to_dict(self) -> "dict[str, Any]":
        return self.record().to_dict()


_PR_IN_PROBES = ("pr_read_keys", "pr_read_reservation")


def path_facts(role: str, disk: "DiskReport") -> "PathFacts":
    """Pick what the fencing test needs out of one disk of the scan's typed report."""
    facts = disk.facts
    inventory = disk.inventory
    identity = facts.identity
    transport = disk.transport
    pr = facts.persistent_reservations
    keys_probe = disk.probe("pr_read_keys")
    reservation = pr.reservation
    keys = pr.keys  # a truncated list may hide a registration: unknown, not shorter
    held = None if reservation is None else reservation.reservation
    return PathFacts(
        role=role,
        name=disk.name,
        dev_path=disk.dev_path,
        device=disk.sg_path or disk.dev_path,
        status=disk.status,
        transport=transport.kind + (f"/{transport.mode}" if transport.mode else ""),
        vendor_product=identity.vendor_product or None,
        lu_designator=identity.lu_designator,
        holders=list(inventory.holders or []),
        mounts=list(inventory.mounts or []),
        swaps=list(inventory.swaps or []),
        pr_in_outcome=pr.read_keys_outcome,
        pr_in_meaning=None if keys_probe is None
        else keys_probe.exit_meaning or keys_probe.skip_reason,
        pr_in_exit_status=None if keys_probe is None else keys_probe.exit_status,
        keys=None if not keys or keys.truncated else list(keys.keys),
        reservation=None if held is None else held.to_dict(),
        reservation_known=reservation is not None,
        evidence=[
            _evidence(disk.name, probe)
            for probe in (disk.probe(name) for name in _PR_IN_PROBES)
            if probe is not None
        ],
    )


def _evidence(disk: str, probe: "ProbeResult") -> "dict[str, Any]":
    """A PR IN probe as the fencing report shows it: its id, argv, exit status, outcome."""
    return {"id": f"{disk}/{probe.name}", "argv": None if probe.argv is None else list(probe.argv),
            "exit_status": probe.exit_status, "outcome": probe.outcome}  # fmt: skip


def gather(
    names: "Sequence[str]",
    timeout_s: float,
    sys: "SysRoot | None" = None,
    udev: "UdevView | None" = None,
    run: "Runner" = process.run,
) -> "dict[str, DiskReport]":
    """The scan's typed disks of ``names`` (write probes off, not judged), by kernel name."""
    from guestprobe import pipeline

    request = pipeline.ScanRequest(
        names=list(names), timeout_s=timeout_s, write_probes=False, workers=max(1, len(names))
    )
    collection = pipeline.collect(request, sys=sys, udev=udev, run=run)
    report = pipeline.report_of(collection, judged=False)
    return {disk.name: disk for disk in report.disks}


def scanned_lu_paths(
    discoverer: "Any",
    lu_designator: "str | None",
    tested: "list[str]",
    timeout_s: float,
    sys: "SysRoot | None" = None,
    udev: "UdevView | None" = None,
) -> "tuple[list[PathFacts], list[str]]":
    """Every other sd path to the tested LU (the kernel's cached VPD 0x83, else a read-only scan
    of that disk), and the disks whose LU could not be told."""
    if lu_designator is None:
        return [], []
    disks = discoverer.discover()
    paths, unknown = other_lu_paths(disks, lu_designator, tested)
    if unknown:
        scanned = gather(unknown, timeout_s, sys=sys, udev=udev)
        unknown = [name for name in unknown if name not in scanned]
        for disk in scanned.values():
            facts = path_facts(OTHER_PATH, disk)
            if facts.status != "probed" or (facts.lu_designator is None and not _answered(disk)):
                unknown.append(facts.name)
            elif facts.lu_designator == lu_designator:
                paths.append(facts)
    return paths, sorted(unknown)


def _answered(disk: "DiskReport") -> bool:
    """Whether VPD page 0x83 answered, or the disk does not have it (not listed in page 0x00):
    then "no LU designator" is an answer (not this LU), not a gap."""
    page = disk.probe("vpd_0x83")
    return page is not None and (page.outcome == "ok" or page.skip_code == "vpd_not_listed")


def owner_of_key(key: int) -> str:
    """A registration key for a person, as sg_persist takes it and its owner: the owner's words
    are :func:`guestprobe.decode.persist.key_owner`'s (a Veritas key: ``VeritasKey.describe``),
    or this tool's leftover of an earlier run."""
    owner = key_owner(key)
    if owner.scheme != "other":
        what = owner.text
    elif leftover_run_id(key) is not None:
        what = f"left by guestprobe fencing-test run {leftover_run_id(key)}"
    else:
        what = "unknown owner"
    return f"{sg_key(key)} ({what})"


def _pr_in_refusal(path: "PathFacts") -> "Refusal | None":
    if path.status != "probed":
        return Refusal(
            "disk_unreachable",
            path.role,
            f"{path.dev_path}: {path.status.replace('_', ' ')} during the preflight scan",
        )
    if path.pr_in_outcome != Outcome.OK.value:
        exit_text = "" if path.pr_in_exit_status is None else f"exit {path.pr_in_exit_status}: "
        return Refusal(
            "pr_in_not_working",
            path.role,
            f"{path.dev_path} ({path.transport or 'unknown transport'}): PERSISTENT RESERVE IN "
            f"READ KEYS does not work ({path.pr_in_outcome}; {exit_text}"
            f"{path.pr_in_meaning or 'no detail'}), so SCSI-3 PR cannot be used on this disk "
            "from this guest",
        )
    if path.keys is None or not path.reservation_known:
        return Refusal(
            "pr_in_undecodable",
            path.role,
            f"{path.dev_path}: the PERSISTENT RESERVE IN answers did not decode or were cut "
            "short, so the registrations before the test are unknown",
        )
    return None


def _in_use_refusals(path: "PathFacts", lu: "str | None" = None) -> "list[Refusal]":
    """A path (or one of its partitions) held, mounted or swapped on: the LU is in use."""
    found = []
    name = path.dev_path
    if path.role == OTHER_PATH:
        name = f"{path.dev_path}, another path to the same LU ({lu}),"
    if path.holders:
        found.append(
            Refusal(
                "in_use_holders",
                path.role,
                f"{name} is held by {', '.join(path.holders)} (device-mapper, LVM, "
                "multipath or md): fencing-test never touches an LU in use",
            )
        )
    if path.mounts:
        where = ", ".join(f"{m.get('mount_point')} ({m.get('fs_type')})" for m in path.mounts)
        found.append(Refusal("in_use_mounted", path.role, f"{name} is mounted: {where}"))
    if path.swaps:
        found.append(
            Refusal("in_use_swap", path.role, f"{name} is in use as swap: {', '.join(path.swaps)}")
        )
    return found


def sysfs_lu_designator(disk: "BlockDisk") -> "str | None":
    """The LU designator in the kernel's cached VPD page 0x83 (no command sent).

    Raises LookupError when the kernel has no (decodable) copy: then only asking the disk tells.
    """
    page = disk.sysfs_pages.get("vpd_0x83")
    if not page:
        raise LookupError(disk.name)
    try:
        designators = lu_designators(decode_device_identification(bytes.fromhex(page)))
    except (DecodeError, ValueError) as exc:
        raise LookupError(disk.name) from exc
    return designators[0].text if designators else None


def inventory_facts(role: str, disk: "BlockDisk", lu_designator: "str | None") -> "PathFacts":
    """What the in-use refusals need of a path known from sysfs only."""
    return PathFacts(
        role=role,
        name=disk.name,
        dev_path=disk.dev_path,
        device=disk.scsi_device,
        lu_designator=lu_designator,
        holders=list(disk.holders),
        mounts=list(disk.mounts),
        swaps=list(disk.swaps),
    )


def other_lu_paths(
    disks: "Sequence[BlockDisk]", lu_designator: str, exclude: "Sequence[str]"
) -> "tuple[list[PathFacts], list[str]]":
    """Every other disk that is a path to ``lu_designator`` by the kernel's cached VPD 0x83, and
    the SCSI disks whose designator the kernel does not have (they must be asked)."""
    paths, unknown = [], []
    for disk in disks:
        if disk.name in exclude or disk.hctl is None:
            continue
        try:
            designator = sysfs_lu_designator(disk)
        except LookupError:
            unknown.append(disk.name)
            continue
        if designator == lu_designator:
            paths.append(inventory_facts(OTHER_PATH, disk, designator))
    return paths, unknown


def unknown_path_refusal(names: "Sequence[str]", lu: str) -> "Refusal":
    return Refusal(
        "other_path_unknown",
        OTHER_PATH,
        f"cannot tell whether {', '.join('/dev/' + n for n in names)} "
        f"{'is another path' if len(names) == 1 else 'are other paths'} to the LU {lu} "
        "(no LU designator from it): fencing-test judges every path of the LU",
    )


def _foreign_refusal(target: "PathFacts", keys: "RunKeys") -> "Refusal | None":
    foreign = [key for key in target.keys or [] if key not in keys.all()]
    if not foreign:
        return None
    lines = [owner_of_key(key) for key in foreign]
    hints = [
        f"a leftover of this tool is removed from the path that registered it with: "
        f"{shell_join(prout.unregister('DEVICE', key))}"
        for key in foreign
        if leftover_run_id(key) is not None
    ][:1]
    return Refusal(
        "foreign_registrations",
        target.role,
        f"{target.dev_path} carries {len(foreign)} registration(s) this run did not make: "
        + "; ".join(lines)
        + ". The LU may belong to a cluster; --force runs anyway (the test removes only its own "
        "keys)" + "".join(f". {hint}" for hint in hints),
    )


def _peer_refusal(target: "PathFacts", peer: "PathFacts") -> "Refusal | None":
    """Why ``peer`` is not a second path to the target's LU, or None when it is."""
    if peer.name == target.name:
        return Refusal(
            "peer_is_target",
            PEER,
            f"--peer {peer.dev_path} is the tested disk itself; give a "
            "second path to the same LU",
        )
    if target.lu_designator is None or peer.lu_designator is None:
        missing = [p.dev_path for p in (target, peer) if p.lu_designator is None]
        return Refusal(
            "peer_lu_unknown",
            PEER,
            f"no LU designator (VPD page 0x83) for {', '.join(missing)}, so "
            "it is unknown whether --peer is the same LU",
        )
    if peer.lu_designator != target.lu_designator:
        return Refusal(
            "peer_not_same_lu",
            PEER,
            f"--peer {peer.dev_path} is another LU ({peer.lu_designator}) than "
            f"{target.dev_path} ({target.lu_designator})",
        )
    return None


def refusals(
    target: "PathFacts",
    peer: "PathFacts | None",
    keys: "RunKeys",
    force: bool,
    other_paths: "Sequence[PathFacts]" = (),
) -> "list[Refusal]":
    """Why the test must not run on ``target`` (and ``peer``); empty when it may.

    ``other_paths``: every other path to the target's LU (:func:`other_lu_paths`); any of them in
    use refuses the test as much as the target itself.
    """
    found: "list[Refusal]" = []
    for path in (target, peer):
        if path is None:
            continue
        refusal = _pr_in_refusal(path)
        if refusal is not None:
            found.append(refusal)
        found += _in_use_refusals(path)
    for path in other_paths:
        found += _in_use_refusals(path, target.lu_designator)
    if target.lu_designator is None and _pr_in_refusal(target) is None:
        found.append(
            Refusal(
                "lu_designator_unknown",
                TARGET,
                f"{target.dev_path} has no LU designator (VPD page 0x83), so its other paths "
                "cannot be found and it cannot be told whether the LU is in use elsewhere",
            )
        )
    if target.keys and any(key in target.keys for key in keys.all()):
        found.append(
            Refusal("key_in_use", TARGET, "this run's random key is already registered; run again")
        )
    foreign = _foreign_refusal(target, keys)
    if foreign is not None and not force:
        found.append(foreign)
    peer_refusal = None if peer is None else _peer_refusal(target, peer)
    if peer_refusal is not None:
        found.append(peer_refusal)
    return found
