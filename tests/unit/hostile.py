"""Hostile input files for the bounded-input tests (and for measuring by hand):

    python3 -c 'import sys; sys.path.insert(0, "tests/unit"); import hostile;
                open("/tmp/bomb.tar.gz", "wb").write(hostile.sparse_bomb())'
"""


import gzip
import io

BLOCK = 512


def _octal(value: int, width: int) -> bytes:
    return (b"%0*o" % (width - 1, value)) + b"\0"


def gnu_sparse_header(name: str, real_size: int) -> bytes:
    """A GNU sparse ('S') tar header: no data stored, ``real_size`` bytes of holes on extraction."""
    header = bytearray(BLOCK)
    header[0 : len(name)] = name.encode()
    header[100:108] = _octal(0o600, 8)
    header[108:116] = _octal(0, 8)
    header[116:124] = _octal(0, 8)
    header[124:136] = _octal(0, 12)  # stored size: nothing
    header[136:148] = _octal(0, 12)
    header[156:157] = b"S"
    header[257:265] = b"ustar  \0"  # the GNU magic
    # one sparse map entry: 0 bytes of data at the very end; the rest is a hole
    header[386:398] = _octal(real_size, 12)
    header[398:410] = _octal(0, 12)
    header[483:495] = _octal(real_size, 12)  # the real (extracted) size
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def sparse_bomb(real_size: int = 2 * 1024**3, name: str = "report.json") -> bytes:
    """A gzip'd tar of one GNU sparse member: about 80 bytes that unpack to ``real_size``."""
    tar = gnu_sparse_header(name, real_size) + bytes(2 * BLOCK)
    return gzip_bytes(tar)


def gzip_bytes(data: bytes) -> bytes:
    """gzip'd ``data`` with a fixed header (``gzip.compress(mtime=)`` is Python 3.8+)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0) as handle:
        handle.write(data)
    return buffer.getvalue()
