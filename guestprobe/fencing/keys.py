"""The registration keys a fencing test registers: its own format, unique per run.

A key is 8 bytes (SPC-4 RESERVATION KEY), big-endian as ``sg_persist --param-rk/--param-sark``
take it in hex::

    byte  0-1   ASCII "gp" (0x67 0x70): registered by guestprobe fencing-test
    byte  2-6   run id: 40 random bits, the same for every key of one run
    byte  7     path: 0x01 the tested path (DEVICE), 0x02 the peer path (--peer);
                0x10 + N: node N (1-239) of a cross-node test (``fencing-node``)

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
NODE_BASE = 0x10  # node N of a cross-node run: 0x10 + N
MAX_NODES = 0xFF - NODE_BASE
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
    if len(run_id) != _RUN_ID_BYTES or not _known_path(path):
        raise ValueError("a run id is 5 bytes and a path 1, 2 or a node's 0x11-0xff")
    key = int.from_bytes(KEY_PREFIX + run_id + bytes([path]), "big")
    assert decode_veritas_key(key) is None, key_hex(key)  # by construction; see the docstring
    return key


def _known_path(byte: int) -> bool:
    return byte in (TARGET_PATH, PEER_PATH) or NODE_BASE < byte <= 0xFF


@dataclass(frozen=True)
class NodeKeys:
    """The keys of one cross-node run: node N (1..``nodes``) registers :meth:`key` (N)."""

    run_id: str  # 10 hex digits, the same on every node
    nodes: int

    def key(self, node: int) -> int:
        if not 1 <= node <= min(self.nodes, MAX_NODES):
            raise ValueError(f"node {node} is not one of 1..{self.nodes}")
        return make_key(bytes.fromhex(self.run_id), NODE_BASE + node)

    def all(self) -> "tuple[int, ...]":
        return tuple(self.key(node) for node in range(1, self.nodes + 1))

    def node_of(self, key: int) -> "int | None":
        """The node that registers ``key`` in this run, else None."""
        return next((n for n in range(1, self.nodes + 1) if self.key(n) == key), None)


def node_keys(run_id: str, nodes: int) -> "NodeKeys":
    """The keys of cross-node run ``run_id`` (10 hex digits) on ``nodes`` nodes.

    >>> hex(node_keys("a1b2c3d4e5", 3).key(2))
    '0x6770a1b2c3d4e512'
    """
    try:
        raw = bytes.fromhex(run_id)
    except ValueError:
        raw = b""
    if len(raw) != _RUN_ID_BYTES or not 1 <= nodes <= MAX_NODES:
        raise ValueError(f"a run id is 10 hex digits and nodes 1..{MAX_NODES}")
    return NodeKeys(raw.hex(), nodes)


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
    if raw[:2] != KEY_PREFIX or not _known_path(raw[7]):
        return None
    return raw[2:7].hex()


def sg_key(key: int) -> str:
    """A key as sg_persist takes it: ``sg_key(0x6770a1b2c3d4e501) == '0x6770a1b2c3d4e501'``."""
    return f"0x{key_hex(key)}"
