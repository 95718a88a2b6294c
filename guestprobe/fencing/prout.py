"""The sg_persist command lines of a fencing test, as argv lists. Pure: nothing is sent here.

PERSISTENT RESERVE OUT always goes with ``--out --no-inquiry`` (sg_persist's own INQUIRY would
be one more command the plan does not show); keys are given in hex, as sg_persist reads them.
PERSISTENT RESERVE IN is the scan's own probe (``--readonly --no-inquiry --in --hex --hex``),
so the decoders of :mod:`guestprobe.decode.persist` read its output.

    sg_persist --out --no-inquiry --register --param-sark=0x6770a1b2c3d4e501 /dev/sg1
    sg_persist --out --no-inquiry --reserve --param-rk=0x6770a1b2c3d4e501 --prout-type=5 /dev/sg1
"""


from guestprobe.collect.sg3 import PR_READ_KEYS, PR_READ_RESERVATION
from guestprobe.fencing.keys import sg_key

# PERSISTENT RESERVE OUT type (SPC-4 table 169): the type Veritas data disks use
WRITE_EXCLUSIVE_REGISTRANTS_ONLY = 5
_PROUT = ("sg_persist", "--out", "--no-inquiry")


def register(device: str, key: int) -> "list[str]":
    """REGISTER ``key`` for the I_T nexus of ``device`` (which must not be registered yet)."""
    return [*_PROUT, "--register", f"--param-sark={sg_key(key)}", device]


def reregister_stale(device: str, key: int) -> "list[str]":
    """REGISTER with ``key`` as the current key: what a fenced path trying to come back sends.

    An unregistered I_T nexus that names a non-zero key gets RESERVATION CONFLICT.
    """
    return [
        *_PROUT,
        "--register",
        f"--param-rk={sg_key(key)}",
        f"--param-sark={sg_key(key)}",
        device,
    ]


def unregister(device: str, key: int) -> "list[str]":
    """REGISTER with service action key 0: removes ``key`` (and a reservation it holds)."""
    return [*_PROUT, "--register", f"--param-rk={sg_key(key)}", "--param-sark=0", device]


def reserve(
    device: str,
    key: int,
    prout_type: int = WRITE_EXCLUSIVE_REGISTRANTS_ONLY,
) -> "list[str]":
    return [*_PROUT, "--reserve", f"--param-rk={sg_key(key)}", f"--prout-type={prout_type}", device]


def release(
    device: str,
    key: int,
    prout_type: int = WRITE_EXCLUSIVE_REGISTRANTS_ONLY,
) -> "list[str]":
    return [*_PROUT, "--release", f"--param-rk={sg_key(key)}", f"--prout-type={prout_type}", device]


def preempt(
    device: str,
    key: int,
    victim: int,
    abort: bool,
    prout_type: int = WRITE_EXCLUSIVE_REGISTRANTS_ONLY,
) -> "list[str]":
    """PREEMPT (AND ABORT, with ``abort``) the registrations of ``victim``, holding ``key``."""
    action = "--preempt-abort" if abort else "--preempt"
    return [
        *_PROUT,
        action,
        f"--param-rk={sg_key(key)}",
        f"--param-sark={sg_key(victim)}",
        f"--prout-type={prout_type}",
        device,
    ]


def clear(device: str, key: int) -> "list[str]":
    """CLEAR: removes *every* registration and the reservation; sent only when all are ours."""
    return [*_PROUT, "--clear", f"--param-rk={sg_key(key)}", device]


def read_keys(device: str) -> "list[str]":
    return PR_READ_KEYS.argv(device)


def read_reservation(device: str) -> "list[str]":
    return PR_READ_RESERVATION.argv(device)
