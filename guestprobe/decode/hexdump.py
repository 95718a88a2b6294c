"""Parse the hex dumps sg3_utils prints (``hex2stdout``) back into bytes.

sg3_utils 1.44 to 1.49 print every ``--hex`` dump through ``hex2stdout()`` ->
``dStrHexFp()`` in ``lib/sg_lib.c``, in one of three shapes (16 bytes a line, an extra space
between the 8th and 9th byte):

* address, hex, no ASCII (``no_ascii > 0``; what ``sg_persist --hex`` and ``--hex --hex``
  print)::

       00     00 08 00 80 ea 01 00 00

  a leading space, the offset in hex (at least two digits), then the bytes from column 8.
* address, hex and ASCII (``no_ascii == 0``): the same with the bytes repeated as printable
  ASCII (``.`` for the rest) from column 60::

       00     00 83 00 48 02 01 00 24  49 45 54 20 20 20 20 20    ...H...$IET

* hex only (``no_ascii < 0``; ``sg_persist --hex --hex --hex``)::

      00 00 00 01 00 00 00 08  56 46 44 45 45 44 30 30

``sg_persist --hex --hex`` (``src/sg_persist.c``, unchanged from 1.44 to 1.49) dumps the whole
PERSISTENT RESERVE IN parameter data, header included, in the first shape; REPORT CAPABILITIES
is dumped whole with a single ``--hex`` as well.

Lines that cannot be dump lines (text such as ``PR generation=0x0, Additional length=0``,
blank lines) are skipped. What *is* taken as dump lines must be one consistent dump: one
shape, offsets starting at 0 and rising by 16, 16 bytes on every line but the last, an ASCII
column that matches its bytes. Anything else raises :class:`DecodeError` rather than guessing.

This module is the one place that knows the format: :func:`format_hexdump` (and
:func:`format_hexdump_before_1_43`) write it as the lib engine's sg_persist answers, and
:func:`rewrite_hexdump` puts other bytes into a dump with its layout kept (redaction).
"""


import re
import typing

from guestprobe.decode import DecodeError

__all__ = [
    "dump_line_bytes",
    "format_hexdump",
    "format_hexdump_before_1_43",
    "parse_hexdump",
    "rewrite_hexdump",
]

_BYTES = r"[0-9a-fA-F]{2}(?: {1,2}[0-9a-fA-F]{2}){0,15}"
# offset, bytes, and an optional ASCII column after three or more spaces
_ADDRESSED = re.compile(rf"^ ?([0-9a-fA-F]{{2,8}}) {{2,}}({_BYTES})(?: {{3,}}(.{{1,16}}))?$")
_BARE = re.compile(rf"^({_BYTES})$")
_BYTES_PER_LINE = 16


def _printable(byte: int) -> str:
    return chr(byte) if 0x20 <= byte < 0x7F else "."


def _check_ascii(column: str, line_bytes: bytes, line_no: int) -> None:
    # A space byte shows as a space, so where the column starts or ends can blur into the gap
    # before it or the stripped end of the line: compare without spaces.
    expected = "".join(_printable(b) for b in line_bytes).replace(" ", "")
    if expected != column.replace(" ", ""):
        raise DecodeError(f"hex dump line {line_no}: ASCII column does not match its bytes")


def _match_line(line: str) -> "typing.Match[str] | None":
    """The dump line's match (group 2: its bytes; with an offset, group 1; an ASCII column,
    group 3), on the line without its trailing blanks; None when it is no dump line."""
    text = line.rstrip()
    return _ADDRESSED.match(text) or _BARE.match(text)


def _parse_line(line: str, line_no: int) -> "tuple[int | None, bytes] | None":
    """(offset or None for the bare shape, bytes), or None when the line is no dump line."""
    match = _match_line(line)
    if match is None:
        return None
    if match.re is _BARE:
        return None, bytes.fromhex(match.group(1))
    line_bytes = bytes.fromhex(match.group(2))
    if match.group(3) is not None:
        _check_ascii(match.group(3), line_bytes, line_no)
    return int(match.group(1), 16), line_bytes


def parse_hexdump(text: "str | bytes") -> bytes:
    """The bytes an sg3_utils hex dump shows.

    >>> parse_hexdump(" 00     00 08 00 80 ea 01 00 00\\n").hex()
    '00080080ea010000'

    An empty dump (sg3_utils prints nothing for zero bytes) gives ``b""``.
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("ascii", "replace")
    out = bytearray()
    shape: "str | None" = None
    last_len = _BYTES_PER_LINE
    for line_no, line in enumerate(text.splitlines(), start=1):
        parsed = _parse_line(line, line_no)
        if parsed is None:
            continue
        offset, line_bytes = parsed
        line_shape = "bare" if offset is None else "addressed"
        if shape is None:
            shape = line_shape
        elif shape != line_shape:
            raise DecodeError(f"hex dump line {line_no}: mixes dump shapes")
        if last_len != _BYTES_PER_LINE:
            raise DecodeError(f"hex dump line {line_no}: follows a short line")
        if offset is not None and offset != len(out):
            raise DecodeError(
                f"hex dump line {line_no}: offset 0x{offset:x}, expected 0x{len(out):x}"
            )
        out += line_bytes
        last_len = len(line_bytes)
    return bytes(out)


def format_hexdump(data: bytes, no_ascii: int = 0) -> str:
    """``data`` laid out as sg3_utils' ``hex2stdout(data, len, no_ascii)`` prints it (the
    inverse of :func:`parse_hexdump`; what the HTML report shows as the raw answer).

    >>> format_hexdump(bytes.fromhex("00080080ea010000"), no_ascii=1)
    ' 00     00 08 00 80 ea 01 00 00\\n'
    """
    lines = []
    for start in range(0, len(data), _BYTES_PER_LINE):
        chunk = data[start : start + _BYTES_PER_LINE]
        hex_part = " ".join(f"{b:02x}" for b in chunk[:8])
        if len(chunk) > 8:
            hex_part += "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        if no_ascii < 0:
            lines.append(hex_part)
            continue
        line = f" {start:02x}".ljust(8) + hex_part
        if no_ascii == 0:
            line = line.ljust(60) + "".join(_printable(b) for b in chunk)
        lines.append(line.rstrip() if no_ascii > 0 else line)
    return "\n".join(lines) + "\n" if lines else ""


def format_hexdump_before_1_43(data: bytes) -> str:
    """``data`` as ``dStrHex(data, len, 1)`` of sg3_utils 1.37 prints it (sg_persist --hex):
    as :func:`format_hexdump` with ``no_ascii=1``, but a full line is its first 56 characters
    and the last line keeps its spaces up to column 60 plus its byte count (the blanked ASCII
    column)."""
    lines = format_hexdump(data, no_ascii=1).splitlines()
    tail = len(data) % _BYTES_PER_LINE
    return "".join(
        line.ljust(56 if tail == 0 or number < len(lines) - 1 else 60 + tail) + "\n"
        for number, line in enumerate(lines)
    )


def _bytes_group(match: "typing.Match[str]") -> int:
    return 1 if match.re is _BARE else 2


def dump_line_bytes(text: str) -> bytes:
    """The bytes of every dump line of ``text`` in order, without the checks that they make one
    dump: the bytes :func:`rewrite_hexdump` replaces. For a dump :func:`parse_hexdump` reads,
    the same bytes."""
    out = bytearray()
    for line in text.splitlines():
        match = _match_line(line)
        if match is not None:
            out += bytes.fromhex(match.group(_bytes_group(match)))
    return bytes(out)


def rewrite_hexdump(
    text: str, new: bytes, other: "typing.Callable[[str], str] | None" = None
) -> str:
    """``text`` with the bytes of its dump lines (:func:`dump_line_bytes`) replaced by ``new``
    (as many), each in the case it was printed in, the layout kept; a line whose bytes do not
    change stays as it was, one that does gets its ASCII column written again. The other lines
    are passed through ``other`` (kept as they are without it).

    >>> rewrite_hexdump(" 00     00 08 00 80\\n", bytes.fromhex("000800ff"))
    ' 00     00 08 00 ff\\n'
    """
    at = 0
    lines = []
    for line in text.splitlines(keepends=True):
        match = _match_line(line)
        if match is None:
            lines.append(line if other is None else other(line))
            continue
        group = _bytes_group(match)
        old = bytes.fromhex(match.group(group))
        replaced = new[at : at + len(old)] + old[max(0, len(new) - at) :]  # (past ``new``: kept)
        at += len(old)
        if replaced == old:
            lines.append(line)
            continue
        body = _with_bytes(match.group(group), replaced)
        rest = line[match.end(group) :]
        if group == 2 and match.group(3) is not None:  # the ASCII column shows the new bytes
            column = "".join(_printable(b) for b in replaced)
            if len(match.group(3)) < len(column):  # (trailing spaces were trimmed)
                column = column.rstrip(" ")
            rest = line[match.end(group) : match.start(3)] + column + line[match.end(3) :]
        lines.append(line[: match.start(group)] + body + rest)
    return "".join(lines)


_HEX_BYTE = re.compile(r"[0-9a-fA-F]{2}")


def _with_bytes(text: str, values: bytes) -> str:
    """The hex bytes of ``text`` replaced by ``values``, each in the case it was printed in."""
    pieces, last = [], 0
    for token, value in zip(_HEX_BYTE.finditer(text), values):
        digits = f"{value:02X}" if token.group(0).isupper() else f"{value:02x}"
        pieces += [text[last : token.start()], digits]
        last = token.end()
    return "".join(pieces) + text[last:]
