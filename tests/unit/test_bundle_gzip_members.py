"""Unpacking is linear in the input, however many gzip members it holds.

Empty gzip members (20 bytes each) before a real bundle once cost a copy of the rest of the input
each (6 MB of them: minutes). The work is measured here as the bytes handed to zlib, not as time
(the timings are in docs/performance.md).
"""


import zlib

import pytest
from hostile import gzip_bytes
from reportpages import EXAMPLES

from guestprobe.bundle import archive
from guestprobe.errors import BadInputError

EMPTY_MEMBER = gzip_bytes(b"")


class _CountingInflater:
    """zlib's decompressor, counting the input bytes it is handed."""

    fed = 0

    def __init__(self, wbits: int) -> None:
        self._inflater = zlib.decompressobj(wbits)

    def decompress(self, data, max_length: int = 0) -> bytes:
        _CountingInflater.fed += len(data)
        return self._inflater.decompress(data, max_length)

    def __getattr__(self, name: str):
        return getattr(self._inflater, name)


class _CountingZlib:
    MAX_WBITS = zlib.MAX_WBITS
    error = zlib.error
    decompressobj = _CountingInflater


@pytest.fixture
def counted(monkeypatch):
    monkeypatch.setattr(archive, "zlib", _CountingZlib)
    _CountingInflater.fed = 0
    return _CountingInflater


def test_many_empty_members_unpack_at_once():
    bundle = (EXAMPLES / "mixed.tar.gz").read_bytes()
    members = 300_000  # 6 MB of them: 0.7 s; the old unpacking took 100 s (docs/performance.md)
    read = archive.read_bundle(EMPTY_MEMBER * members + bundle, "many.tar.gz")
    assert len(read.report["disks"]) == 3


def test_empty_members_are_linear_work(counted):
    bundle = (EXAMPLES / "mixed.tar.gz").read_bytes()
    data = EMPTY_MEMBER * 30_000 + bundle  # the old unpacking handed zlib ~10 GB of input here
    assert len(archive.read_bundle(data, "many.tar.gz").report["disks"]) == 3
    assert counted.fed <= 4 * len(data)


def test_members_split_anywhere_unpack_whole(counted):
    payload = bytes(range(256)) * 5000
    data = b"".join(gzip_bytes(payload[i : i + 77_777])
                    for i in range(0, len(payload), 77_777))
    assert archive._gunzip(data, "x") == payload
    assert counted.fed <= 4 * len(data)


def test_a_member_cut_off_is_truncated():
    data = EMPTY_MEMBER * 3 + gzip_bytes(b"x" * 100_000)[:-5]
    with pytest.raises(BadInputError, match="truncated"):
        archive._gunzip(data, "x")
