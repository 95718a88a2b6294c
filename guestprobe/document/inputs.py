"""Reading input files (``report``, ``compare``, bundle members): bounded, and one line on error.

Every file a user hands to guestprobe may be hostile: a FIFO or a device (``/dev/zero``), a
directory, a multi-gigabyte or deeply nested JSON, a bundle whose members claim sizes they do not
hold. This module is the one reader for all of them:

- :func:`read_input_file` opens with ``O_NONBLOCK`` (a FIFO cannot block the open), checks with
  ``fstat`` that the *opened* file is a regular file, and reads at most :data:`MAX_INPUT_BYTES`;
- :func:`load_json` parses bytes no larger than that, and of at most :data:`MAX_JSON_VALUES`
  values (counted before parsing), as strict JSON (``NaN``, ``Infinity`` and
  numbers too large for a float, which Python's reader takes, are refused), refuses nesting
  deeper than :data:`MAX_JSON_DEPTH`, and never lets a ``RecursionError`` or ``MemoryError``
  escape.

Both raise :class:`~guestprobe.errors.BadInputError` (exit status 8) with one line. The limits are
module constants, so tests can lower them with ``monkeypatch``.
"""


import json
import math
import os
import stat
from typing import Any

from guestprobe.errors import BadInputError

# a report of a thousand disks is about 60 MB of JSON; four times that is still a report
MAX_INPUT_BYTES = 256 * 1024 * 1024
# a report nests about 10 deep (disks / facts / persistent_reservations / keys / ...)
MAX_JSON_DEPTH = 64
# a report holds about 700 JSON values per disk (2.9 million for 4096 disks); what one input may
# parse into is bounded by their number, not only by its bytes (``[[],[],...]`` is 20x in memory)
MAX_JSON_VALUES = 4_000_000
_CHUNK = 1024 * 1024


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MiB"


def read_input_file(path: str) -> bytes:
    """The bytes of the regular file ``path``, at most :data:`MAX_INPUT_BYTES` of them."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise BadInputError(f"{path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadInputError(f"{path}: {_kind(info.st_mode)}, not a report or bundle file")
        limit = MAX_INPUT_BYTES
        if info.st_size > limit:
            raise BadInputError(
                f"{path}: {_mib(info.st_size)}, larger than the {_mib(limit)} a report may be"
            )
        chunks = []
        total = 0
        while True:  # the file may grow while it is read: never past the limit
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise BadInputError(f"{path}: larger than the {_mib(limit)} a report may be")
        return b"".join(chunks)
    except OSError as exc:
        raise BadInputError(f"{path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _refusal(value: "Any", limit: int) -> "str | None":
    """Why parsed JSON ``value`` is refused, or None: containers nested deeper than ``limit``, or
    a number too large for a float (``1e999``: the parser makes it infinite). No recursion: one
    level of containers at a time."""
    level = [value] if type(value) in (dict, list) else []
    depth = 1
    while level:
        if depth > limit:
            return f"JSON nested deeper than {limit} levels"
        values = [v for item in level for v in (item.values() if type(item) is dict else item)]
        if math.inf in values or -math.inf in values:
            return _HUGE
        level = [v for v in values if type(v) is dict or type(v) is list]
        depth += 1
    return None


_HUGE = "not valid JSON (a number too large for a float)"


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _NotJson(f"{text[:20]} is too large a number")
    return number


class _NotJson(ValueError):
    """A constant JSON does not have (``NaN``, ``Infinity``)."""


def _no_constant(name: str) -> float:
    raise _NotJson(f"{name} is not a JSON number")


def load_json(data: bytes, what: str) -> "Any":
    """Parse ``data`` as JSON; ``what`` names it in the one-line error (``"x.json"``)."""
    if len(data) > MAX_INPUT_BYTES:
        raise BadInputError(f"{what}: larger than the {_mib(MAX_INPUT_BYTES)} a report may be")
    # every value but the first follows a ',' or opens a container: an upper bound, in C
    values = data.count(b",") + data.count(b"[") + data.count(b"{") + 1
    if values > MAX_JSON_VALUES:
        raise BadInputError(
            f"{what}: up to {values:,} JSON values, more than the {MAX_JSON_VALUES:,} "
            "a report may hold; refused"
        )
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except _NotJson as exc:
        raise BadInputError(f"{what}: not valid JSON ({exc})") from None
    except (UnicodeDecodeError, ValueError):
        raise BadInputError(f"{what}: not valid JSON") from None
    except RecursionError:
        raise BadInputError(f"{what}: JSON nested too deeply") from None
    except MemoryError:
        raise BadInputError(f"{what}: too large to read") from None
    refusal = _HUGE if value in (math.inf, -math.inf) else _refusal(value, MAX_JSON_DEPTH)
    if refusal is _HUGE:  # parsed again, each number checked, to name it
        try:
            json.loads(data, parse_constant=_no_constant, parse_float=_finite)
        except _NotJson as exc:
            raise BadInputError(f"{what}: not valid JSON ({exc})") from None
    if refusal is not None:
        raise BadInputError(f"{what}: {refusal}")
    return value
