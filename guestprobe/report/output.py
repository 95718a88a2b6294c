"""Writing reports: JSON text, and files replaced atomically (never a half-written report)."""


import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from guestprobe.errors import OutputError
from guestprobe.report.escape import output_bytes


def to_json(document: "dict[str, Any]") -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def _refuse_unless_replaceable(target: "Path") -> None:
    """OutputError unless ``target`` is a new path or a regular file (links followed).

    ``-o /dev/null`` run as root must not turn the device node into a file, nor a FIFO or a
    directory be replaced. (A path that changes between this check and the rename is outside
    what guestprobe can guard; the rename never writes *into* the old file.)
    """
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return  # a new file (or a dangling link, replaced by the file)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "a device, FIFO or socket"
        raise OutputError(f"cannot write {target}: it is {kind}, not a regular file; refused")


def write_atomically(
    path: "str | os.PathLike[str]", data: "str | bytes", mode: int = 0o600
) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Text is encoded by :func:`~guestprobe.report.escape.output_bytes` (UTF-8; a lone surrogate
    written as its escape, never an encoding error).

    The file is created with ``mode`` (0600 by default: reports carry the disks' identifiers);
    a path that exists must be a regular file (see :func:`_refuse_unless_replaceable`).
    """
    if isinstance(data, str):
        data = output_bytes(data)
    target = Path(path)
    _refuse_unless_replaceable(target)
    directory = target.parent if str(target.parent) else Path()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
