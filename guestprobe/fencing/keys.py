"""The registration keys a fencing test registers: its own format, unique per run.

A key is 8 bytes (SPC-4 RESERVATION KEY), big-endian as ``sg_persist --param-rk/--param-sark``
take it in hex::

    byte  0-1   ASCII "gp" (0x67 0x70): registered by guestprobe fencing-test
    byte  2-6   run id: 40 random bits, the same for every key of one run
    byte  7     path: 0x01 the tested path (DEVICE), 0x02 the peer path (--peer)

    e.g. 0x6770a1b2c3d4e501 (target) and 0x6770a1b2c3d4e502 (peer) of run a1b2c3d4e5

It can never be one of the Veritas formats (:func:`guestprobe.decode.persist.decode_veritas_key`):
coordinator keys start "VF" (0x56 0x46); data-disk keys have "PGR" or "VCS" in bytes 1-3, and
byte 1 here is "p" (0x70). It is never 0 either (0 means "no key" in PERSISTENT RESERVE OUT).
A key that starts "gp" on a disk before a run is a leftover of an earlier, interrupted run:
:func:`leftover_run_id` names that run.
"""


import secrets
from dataclasses import dataclass

from guestprobe.decode.persist import decode_veritas_key, key_hex

KEY_PREFIX = b"gp"
TARGET_PATH = 0x01
PEER_PATH = 0x02
_RUN_ID_BYTES = 5


@dataclass(frozen=True)
class RunKeys:
    """The keys of one run: one for the tested path, one for the peer path."""

    run_id: str  # 10 hex digits
    target: int
    peer: int

    def all(self) -> "tuple[int, int]":
        return self.target, self.peer


def make_key(run_id: bytes, path: int) -> int:
    """The key of ``path`` (``TARGET_PATH`` or ``PEER_PATH``) in run ``run_id`` (5 bytes).

    >>> hex(make_key(bytes.fromhex("a1b2c3d4e5"), TARGET_PATH))
    '0x6770a1b2c3d4e501'
    """
    if len(run_id) != _RUN_ID_BYTES or path not in (TARGET_PATH, PEER_PATH):
        raise ValueError("a run id is 5 bytes and a path 1 or 2")
    key = int.from_bytes(KEY_PREFIX + run_id + bytes([path]), "big")
    assert decode_veritas_key(key) is None, key_hex(key)  # by construction; see the docstring
    return key


def new_run_keys(run_id: "bytes | None" = None) -> "RunKeys":
    """Fresh keys for one run (``run_id`` only for tests: 5 bytes)."""
    raw = secrets.token_bytes(_RUN_ID_BYTES) if run_id is None else run_id
    return RunKeys(raw.hex(), make_key(raw, TARGET_PATH), make_key(raw, PEER_PATH))


def leftover_run_id(key: int) -> "str | None":
    """The run id of a key in this format (a leftover of an earlier run), else None.

    >>> leftover_run_id(0x6770A1B2C3D4E502)
    'a1b2c3d4e5'
    >>> leftover_run_id(0x5646444545443030) is None   # a Veritas coordinator key
    True
    """
    raw = key.to_bytes(8, "big") if 0 <= key < 1 << 64 else b""
    if raw[:2] != KEY_PREFIX or raw[7] not in (TARGET_PATH, PEER_PATH):
        return None
    return raw[2:7].hex()


def sg_key(key: int) -> str:
    """A key as sg_persist takes it: ``sg_key(0x6770a1b2c3d4e501) == '0x6770a1b2c3d4e501'``."""
    return f"0x{key_hex(key)}"
