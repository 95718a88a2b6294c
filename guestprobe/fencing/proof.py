"""The fence proof: commands that a reservation must refuse from the preempted initiator and
accept from the holder, none of which changes data. Pure: argv lists and the reading of answers.

Measured behind QEMU scsi-block on tgt 1.0.85 and on LIO (issue 20), B preempted by A:

- READ(10) of 1 block at LBA 0 under EXCLUSIVE ACCESS - REGISTRANTS ONLY held by A: RESERVATION
  CONFLICT from B, GOOD from A, on both targets. This is the proof; the data read goes to
  /dev/null (``sg_raw -o /dev/null``), never into a report.
- SYNCHRONIZE CACHE(10), 0 blocks, under WRITE EXCLUSIVE - REGISTRANTS ONLY held by A: RESERVATION
  CONFLICT from B on tgt, GOOD on LIO (it judges Write Exclusive by the data direction). It is the
  one write-side candidate: a conflict proves the write side, GOOD says only "not checked by this
  target". WRITE with data is never sent.

sg_raw exits 24 on RESERVATION CONFLICT from sg3_utils 1.44 on; 1.37's exits 99 (it has no
category for a bare status), which reads as "not proven", never as a pass.

    sg_raw -r 512 -o /dev/null /dev/sg1 28 00 00 00 00 00 00 00 01 00
    sg_raw /dev/sg1 35 00 00 00 00 00 00 00 00 00
"""


from guestprobe.collect.sg3 import SG_LIB_CAT_RES_CONFLICT

# PERSISTENT RESERVE OUT type (SPC-4 table 169) the proof's own reservation uses
EXCLUSIVE_ACCESS_REGISTRANTS_ONLY = 6

GOOD, CONFLICT, OTHER = "good", "conflict", "other"


def read10(device: str, block_size: int = 512) -> "list[str]":
    """READ(10), LBA 0, TRANSFER LENGTH 1: data-in of one block, written to /dev/null."""
    return ["sg_raw", "-r", str(block_size), "-o", "/dev/null", device,
            "28", "00", "00", "00", "00", "00", "00", "00", "01", "00"]  # fmt: skip


def synchronize_cache10(device: str) -> "list[str]":
    """SYNCHRONIZE CACHE(10), LBA 0, NUMBER OF BLOCKS 0 (the whole medium): no data."""
    return ["sg_raw", device, "35", "00", "00", "00", "00", "00", "00", "00", "00", "00"]


def answer(exit_status: "int | None") -> str:
    """What sg_raw's exit status says: GOOD, RESERVATION CONFLICT, or anything else."""
    if exit_status == 0:
        return GOOD
    if exit_status == SG_LIB_CAT_RES_CONFLICT:
        return CONFLICT
    return OTHER


PROVEN, NOT_ENFORCED, NOT_PROVEN, NOT_CHECKED, NOT_RUN = (
    "proven", "not_enforced", "not_proven", "not_checked", "not_run"
)  # fmt: skip


def summarize(
    fenced_read: "str | None",
    holder_read: "str | None",
    fenced_read_we: "str | None" = None,
    fenced_sync: "str | None" = None,
    holder_sync: "str | None" = None,
) -> "dict[str, object]":
    """The proof from the answers (:func:`answer`) of each command; None: not sent.

    ``result``: ``proven`` (READ refused from the preempted initiator, GOOD from the holder),
    ``not_enforced`` (the preempted initiator's READ was GOOD), ``not_proven`` or ``not_run``;
    ``write_side``: ``proven`` (SYNCHRONIZE CACHE refused from the preempted, GOOD from the
    holder), ``not_checked`` (the target accepts it), ``not_proven`` or ``not_run``.

    >>> summarize("conflict", "good", "good", "good", "good")["result"]
    'proven'
    """
    if fenced_read is None:
        result, text = NOT_RUN, "the proof was not sent"
    elif fenced_read == GOOD:
        result = NOT_ENFORCED
        text = (
            "the preempted initiator's READ(10) was GOOD under Exclusive Access - Registrants "
            "Only: it shares the holder's I_T nexus or bypasses the reservation (one host "
            "initiator, a shared qemu-pr-helper): these initiators cannot fence each other"
        )
    elif fenced_read == CONFLICT and holder_read == GOOD:
        result = PROVEN
        text = (
            "READ(10) of one block: RESERVATION CONFLICT from the preempted initiator, GOOD "
            "from the holder, under Exclusive Access - Registrants Only"
        )
    else:
        result = NOT_PROVEN
        text = (
            f"READ(10) answered {fenced_read} from the preempted initiator and "
            f"{holder_read or 'nothing'} from the holder: nothing drew the conflict"
        )
    if fenced_sync is None:
        write_side = NOT_RUN
    elif fenced_sync == CONFLICT and holder_sync == GOOD:
        write_side = PROVEN
    elif fenced_sync == GOOD:
        write_side = NOT_CHECKED
    else:
        write_side = NOT_PROVEN
    return {
        "result": result,
        "text": text,
        "write_side": write_side,
        "answers": {
            "read_preempted": fenced_read,
            "read_holder": holder_read,
            "read_preempted_write_exclusive": fenced_read_we,
            "sync_cache_preempted": fenced_sync,
            "sync_cache_holder": holder_sync,
        },
    }
