"""Table-driven reads of sysfs and procfs, below an injectable root (tests pass a fake tree).

Nothing here raises for a missing or unreadable attribute: absent facts are ``None`` and the
caller records them as missing. A disk that vanishes mid-scan simply stops having attributes.
"""


import os
from pathlib import Path


class SysRoot:
    """The machine's ``/sys``, ``/proc`` and ``/dev`` below one root (``/`` on a real guest)."""

    def __init__(self, root: "str | os.PathLike[str]" = "/") -> None:
        self.root = Path(root)

    def path(self, absolute: str) -> "Path":
        """Map an absolute path such as ``/sys/block`` below the root."""
        return self.root / absolute.lstrip("/")

    def to_absolute(self, path: "Path") -> str:
        """The inverse of :meth:`path`: the path as the guest names it."""
        try:
            return "/" + str(path.relative_to(self.root)).lstrip("/")
        except ValueError:
            return str(path)

    def read_bytes(self, path: "Path", limit: int = 1 << 16) -> "bytes | None":
        try:
            with path.open("rb") as handle:
                return handle.read(limit)
        except OSError:
            return None

    def read_text(self, path: "Path") -> "str | None":
        data = self.read_bytes(path)
        if data is None:
            return None
        return data.decode("utf-8", "replace").strip()

    def read_int(self, path: "Path") -> "int | None":
        text = self.read_text(path)
        if text is None:
            return None
        try:
            return int(text, 0)
        except ValueError:
            return None

    def listdir(self, path: "Path") -> "list[str]":
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    def link_name(self, path: "Path") -> "str | None":
        """The last component of a symlink's target (``driver`` -> ``virtio_blk``)."""
        try:
            return Path(os.readlink(path)).name
        except OSError:
            return None

    def realpath(self, path: "Path") -> "Path":
        return Path(os.path.realpath(path))

    def exists(self, path: "Path") -> bool:
        return path.exists()
