"""Writing reports: JSON text, and files replaced atomically (never a half-written report)."""


import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from guestprobe.errors import OutputError


def to_json(document: "dict[str, Any]") -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def write_atomically(path: "str | os.PathLike[str]", data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    target = Path(path)
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
