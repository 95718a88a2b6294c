"""Cluster-scope judgement: whether a path, an LU and the cluster's shared LUs can carry SCSI-3
I/O fencing's coordinator disks. Pure; used by ``guestprobe compare``
(:mod:`guestprobe.bundle.compare` matches the LUs across nodes, this module judges them).

Whether a path is PR-capable is ``yes``, ``no`` or ``unknown``: ``no`` when PERSISTENT RESERVE
IN / READ KEYS failed (``read_keys_outcome`` not ``ok``) or its I/O-fencing verdict
(``pr_fencing``) is ``not_usable``; ``unknown`` when READ KEYS answered but the verdict is
``unknown`` (facts missing); else ``yes``. An LU is PR-capable from a node when every path of that
node to it is. I/O fencing needs an odd number, at least three, of coordinator disks seen and
PR-capable from every node: the check engineers otherwise do by hand with ``vxfenadm -i``.

Stable codes of the coordinator-disk judgement: ``coordinator_disks_enough``,
``too_few_coordinator_disks``.

Per LU (:func:`judge_lu`), each with a status of the disk verdicts' scale, so that ``compare
--fail-on`` reads them as ``report --fail-on`` reads a report's:

- ``lu_not_seen_by_all`` (degraded): seen by some nodes, not by every one (by its designator);
- ``lu_not_pr_capable`` (degraded) / ``lu_pr_unknown`` (unknown): where it is seen;
- ``lu_free`` (usable): no key registered, no reservation, from every node that read them;
- ``lu_own_cluster_keys`` (usable): every key is a Veritas key of ``--cluster-id``;
- ``lu_veritas_keys_cluster_unknown`` (unknown): Veritas keys, and no ``--cluster-id`` to say
  whether they are this cluster's;
- ``lu_foreign_keys`` (not_usable): a key of another Veritas cluster, fence_scsi's or another;
- ``nodes_share_initiator`` (not_usable): READ FULL STATUS shows the keys of two nodes
  registered from one initiator (one iSCSI name, FC or SAS port): one host's initiator serves
  both, so one node's REGISTER AND IGNORE replaces the other's key and they cannot fence each
  other;
- ``nodes_share_host_initiator`` (not_usable): ``--host``: two nodes' disks of the LU are passed
  through from one KVM host (the host's own initiator, or one qemu-pr-helper socket), which the
  target sees as one I_T nexus.

Two paths of one LU inside one node are one node's paths, never "shared": they count once.
"""


from dataclasses import dataclass

from guestprobe.decode.persist import KeyOwner, Registration, key_owner
from guestprobe.document.compare import (
    ClusterVerdict,
    Holder,
    JoinedHostDisk,
    PathRegistration,
    PathState,
    ReservationRead,
)
from guestprobe.document.model import DiskReport

__all__ = ["ClusterVerdict", "Holder"]

MIN_COORDINATOR_DISKS = 3
# the disk verdict about SCSI-3 PR I/O fencing (checks/pr_fencing.toml)
FENCING_FEATURES = ("pr_fencing",)
PR_OK_VERDICTS = ("usable", "degraded")
YES, NO, UNKNOWN = "yes", "no", "unknown"

COORDINATOR_DISKS_ENOUGH = "coordinator_disks_enough"
TOO_FEW_COORDINATOR_DISKS = "too_few_coordinator_disks"


def path_pr_state(disk: "DiskReport") -> "PathState":
    """One path's PR answer: its READ KEYS outcome, its fencing verdict, and the conclusion."""
    pr = disk.facts.persistent_reservations
    outcome = pr.read_keys_outcome
    statuses = [v.status for v in disk.verdicts if v.feature in FENCING_FEATURES]
    if outcome != "ok" or any(s not in (*PR_OK_VERDICTS, "unknown") for s in statuses):
        state = NO
    elif "unknown" in statuses:
        state = UNKNOWN
    else:
        state = YES
    full = disk.facts.pr_full_status
    return PathState(
        disk=disk.name,
        read_keys_outcome=outcome,
        fencing_verdicts=statuses,
        pr_capable=state,
        # None: not read; else the reservation held, or none
        reservation=None if pr.reservation is None else ReservationRead(pr.reservation.reservation),
        keys=None if pr.keys is None else list(pr.keys.keys_hex),
        full_status_outcome=full.outcome,  # None: not collected
        registrations=None if full.decoded is None else [
            _registration_view(r) for r in full.decoded.registrations
        ],
    )


def _registration_view(registration: "Registration") -> "PathRegistration":
    tid = registration.transport_id
    initiator = None if tid is None else tid.initiator
    return PathRegistration(
        key_hex=registration.key_hex,
        reservation_holder=bool(registration.reservation_holder),
        relative_target_port=registration.relative_target_port,
        all_tg_pt=bool(registration.all_tg_pt),
        # the initiator (not the session: an iSCSI name without its ISID)
        initiator=None if initiator is None else f"{tid.protocol} {initiator}",
        isid=None if tid is None else tid.isid,
    )


def combine(states: "list[str]") -> str:
    """PR-capable over several paths (or nodes): ``no`` if any is, else ``unknown`` if any is."""
    if NO in states:
        return NO
    return UNKNOWN if UNKNOWN in states else YES


@dataclass(frozen=True)
class CoordinatorJudgement:
    """Whether the LUs shared by every node can hold the coordinator disks."""

    code: str
    candidates: "list[str]"  # LU designators seen and PR-capable from every node
    unconfirmed: "list[str]"  # seen by all, PR IN answers, verdict unknown
    largest_odd_set: int
    enough: bool
    text: str


def judge_coordinator_disks(
    candidates: "list[str]", unconfirmed: "list[str]"
) -> "CoordinatorJudgement":
    """``candidates``: the LUs seen and PR-capable from every node; an odd number, at least 3."""
    count = len(candidates)
    usable = count if count % 2 else count - 1
    enough = usable >= MIN_COORDINATOR_DISKS
    return CoordinatorJudgement(
        COORDINATOR_DISKS_ENOUGH if enough else TOO_FEW_COORDINATOR_DISKS,
        candidates,
        unconfirmed,
        max(usable, 0),
        enough,
        _coordinator_reason(count, enough, len(unconfirmed)),
    )


def _coordinator_reason(count: int, enough: bool, unconfirmed: int) -> str:
    lus = "LU is" if count == 1 else "LUs are"
    if enough:
        odd = count if count % 2 else count - 1
        return (
            f"{count} {lus} seen by every node, PR-capable from each and free of other owners' "
            f"keys: enough for {odd} coordinator disks (an odd number, at least 3)"
        )
    text = (
        f"only {count} {lus} seen by every node, PR-capable from each and free of other "
        "owners' keys: SCSI-3 I/O fencing needs an odd number of coordinator disks, at least 3"
    )
    if unconfirmed:
        text += (
            f" ({unconfirmed} more seen by all may be: their PR verdict, or whose keys they "
            "carry, is unknown)"
        )
    return text


# ------------------------------------------------------------------------------ per LU

LU_NOT_SEEN_BY_ALL = "lu_not_seen_by_all"
LU_NOT_PR_CAPABLE = "lu_not_pr_capable"
LU_PR_UNKNOWN = "lu_pr_unknown"
LU_FREE = "lu_free"
LU_OWN_CLUSTER_KEYS = "lu_own_cluster_keys"
LU_VERITAS_KEYS_CLUSTER_UNKNOWN = "lu_veritas_keys_cluster_unknown"
LU_FOREIGN_KEYS = "lu_foreign_keys"
NODES_SHARE_INITIATOR = "nodes_share_initiator"
NODES_SHARE_HOST_INITIATOR = "nodes_share_host_initiator"
LU_CODES = (
    LU_NOT_SEEN_BY_ALL, LU_NOT_PR_CAPABLE, LU_PR_UNKNOWN, LU_FREE, LU_OWN_CLUSTER_KEYS,
    LU_VERITAS_KEYS_CLUSTER_UNKNOWN, LU_FOREIGN_KEYS, NODES_SHARE_INITIATOR,
    NODES_SHARE_HOST_INITIATOR,
)
# the uses that keep an LU a coordinator candidate: nobody else's keys on it
FREE_USES = (LU_FREE, LU_OWN_CLUSTER_KEYS)


def holders(paths: "dict[str, list[PathState]]") -> "list[Holder]":
    """The reservation holders the nodes' READ RESERVATION answers name (one per key)."""
    found: "dict[str, tuple[str | None, list[str]]]" = {}
    for node, node_paths in paths.items():
        for path in node_paths:
            key = path.held_key
            if key:
                entry = found.setdefault(key, (path.reservation.held.type_name, []))
                if node not in entry[1]:
                    entry[1].append(node)
    return [Holder.of(key_owner(int(key, 16)), type_name, tuple(nodes))
            for key, (type_name, nodes) in found.items()]


def _registered_keys(paths: "dict[str, list[PathState]]") -> "tuple[set, bool]":
    """Every key any node read on the LU (READ KEYS, the holder's), and whether any node read."""
    keys: "set[str]" = set()
    read = False
    for node_paths in paths.values():
        for path in node_paths:
            if path.keys is not None:
                read = True
                keys.update(path.keys)
            if path.reservation is not None:
                read = True
                if path.held_key:
                    keys.add(path.held_key)
    return keys, read


def judge_use(
    paths: "dict[str, list[PathState]]", lu: str, cluster_id: "int | None"
) -> "ClusterVerdict | None":
    """Whose keys are on the LU: free, this cluster's, a Veritas cluster's (which one unknown),
    or somebody else's. None when no node read its keys."""
    keys, read = _registered_keys(paths)
    if not read:
        return None
    if not keys:
        return ClusterVerdict(LU_FREE, "usable", "no key registered and no reservation held, "
                              "from every node that read them", lu)
    owners = [key_owner(int(key, 16)) for key in sorted(keys)]
    held = {h.key_hex: h for h in holders(paths)}

    def words(owner: "KeyOwner") -> str:
        holder = held.get(owner.key_hex)
        how = "registered" if holder is None else f"holds {holder.type_name}"
        return f"{owner.holder_text} ({how})"

    veritas = [o for o in owners if o.scheme == "vxfen_coordinator" or o.scheme.endswith("_dg")]
    foreign = [o for o in owners if o not in veritas]
    if cluster_id is not None:
        foreign += [o for o in veritas if o.cluster is not None and o.cluster != str(cluster_id)]
    if foreign:
        return ClusterVerdict(
            LU_FOREIGN_KEYS, "not_usable",
            "keys of another owner: " + "; ".join(words(o) for o in foreign)
            + ": not free for this cluster (clear them only once nobody uses them)", lu)
    if cluster_id is None:
        return ClusterVerdict(
            LU_VERITAS_KEYS_CLUSTER_UNKNOWN, "unknown",
            "Veritas keys: " + "; ".join(words(o) for o in veritas)
            + ": this cluster's only if its cluster id is theirs (give --cluster-id)", lu)
    return ClusterVerdict(LU_OWN_CLUSTER_KEYS, "usable", f"only keys of cluster {cluster_id}: "
                          + "; ".join(words(o) for o in veritas), lu)


def shared_initiators(paths: "dict[str, list[PathState]]", lu: str) -> "list[ClusterVerdict]":
    """READ FULL STATUS: one initiator (iSCSI name, FC/SAS port) whose registrations carry the
    keys of two or more nodes (Veritas or fence_scsi node ids of one cluster)."""
    by_initiator: "dict[str, dict[tuple, set]]" = {}
    for node_paths in paths.values():
        for path in node_paths:
            for registration in path.registrations or []:
                if not registration.initiator or not registration.key_hex:
                    continue
                owner = key_owner(int(registration.key_hex, 16))
                if owner.node is None:
                    continue
                clusters = by_initiator.setdefault(registration.initiator, {})
                clusters.setdefault((owner.scheme, owner.cluster), set()).add(owner.node)
    out = []
    for initiator, clusters in sorted(by_initiator.items()):
        for (_scheme, cluster), node_ids in sorted(clusters.items(), key=str):
            if len(node_ids) > 1:
                out.append(ClusterVerdict(
                    NODES_SHARE_INITIATOR, "not_usable",
                    f"READ FULL STATUS: initiator {initiator} registered the keys of nodes "
                    f"{', '.join(sorted(node_ids, key=str))} (cluster {cluster}): one initiator "
                    "serves them, so one node's registration replaces the other's and they "
                    "cannot fence each other", lu))
    return out


def judge_lu(
    lu: str, paths: "dict[str, list[PathState]]", names: "list[str]",
    cluster_id: "int | None" = None,
) -> "tuple[str, list[ClusterVerdict], ClusterVerdict | None]":
    """(PR-capable where seen, the LU's verdicts, its use verdict) from each node's paths.

    PR-capable is combined over the nodes that see the LU only: not being seen by a node is
    ``lu_not_seen_by_all``, never "not PR-capable"."""
    seen = [name for name in names if name in paths]
    pr_where_seen = combine([combine([p.pr_capable for p in paths[n]]) for n in seen])
    verdicts = []
    if 1 < len(seen) < len(names):
        missing = [name for name in names if name not in paths]
        verdicts.append(ClusterVerdict(
            LU_NOT_SEEN_BY_ALL, "degraded",
            f"seen by {', '.join(seen)}, not by {', '.join(missing)} (no disk with this LU "
            "designator there)", lu, tuple(missing)))
    if len(seen) > 1 and pr_where_seen != YES:
        bad = [n for n in seen if combine([p.pr_capable for p in paths[n]]) != YES]
        code, status = (LU_NOT_PR_CAPABLE, "degraded") if pr_where_seen == NO else (
            LU_PR_UNKNOWN, "unknown")
        verdicts.append(ClusterVerdict(
            code, status, f"PR-capable {pr_where_seen} from {', '.join(bad)}", lu, tuple(bad)))
    use = judge_use(paths, lu, cluster_id) if len(seen) > 1 else None
    if use is not None and use.code not in FREE_USES:
        verdicts.append(use)
    verdicts.extend(shared_initiators(paths, lu))
    return pr_where_seen, verdicts, use


def shared_host_initiators(
    lu: str, host_paths: "dict[str, list[JoinedHostDisk]]"
) -> "list[ClusterVerdict]":
    """``--host``: nodes whose disks of one LU are passed through (device='lun') from the same
    KVM host by the host's own initiator (not QEMU's libiscsi), or through one qemu-pr-helper
    socket. ``host_paths``: node -> the host disks its paths were matched to, each with
    ``host`` (which host view), ``kind``, ``passthrough`` and ``reservations``."""
    groups: "dict[tuple, set]" = {}
    for node, disks in host_paths.items():
        for disk in disks:
            socket = disk.pr_helper_socket
            if socket:
                groups.setdefault(("qemu-pr-helper socket " + socket, disk.host), set()).add(node)
            if disk.passthrough and disk.kind != "iscsi":
                groups.setdefault(("the host's own initiator", disk.host), set()).add(node)
    return [
        ClusterVerdict(
            NODES_SHARE_HOST_INITIATOR, "not_usable",
            f"nodes {', '.join(sorted(nodes))} reach this LU through {how} on host {host}: the "
            "target sees one I_T nexus for both, so one node's key replaces the other's and "
            "they cannot fence each other", lu, tuple(sorted(nodes)))
        for (how, host), nodes in sorted(groups.items(), key=str) if len(nodes) > 1
    ]
