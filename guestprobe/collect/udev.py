"""The one module that imports pyudev. Each device becomes a plain :class:`UdevRecord` at once.

The pyudev context is created lazily, on first use: importing guestprobe must not need libudev.
"""


from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class UdevRecord:
    """What udev knows of one block device; empty when udev's database is not populated."""

    properties: "dict[str, str]" = field(default_factory=dict)
    links: "tuple[str, ...]" = ()
    error: "str | None" = None  # why udev could not be asked (an empty record is not "no links")


@dataclass
class UdevView:
    """Lazy access to udev's database for block devices, by kernel name."""

    run_dir: "Path" = Path("/run/udev")
    _context: "object | None" = None
    _unavailable: "str | None" = None

    @property
    def database_populated(self) -> bool:
        data = self.run_dir / "data"
        try:
            return data.is_dir() and any(data.iterdir())
        except OSError:
            return False

    @property
    def unavailable_reason(self) -> "str | None":
        return self._unavailable

    def _get_context(self) -> "object | None":
        if self._context is None and self._unavailable is None:
            try:
                import pyudev

                self._context = pyudev.Context()
            except (ImportError, OSError) as exc:  # libudev missing or unloadable
                self._unavailable = f"pyudev unavailable: {exc}"
        return self._context

    def lookup(self, kernel_name: str) -> "UdevRecord":
        """udev's properties and /dev/disk links for block device ``kernel_name``."""
        context = self._get_context()
        if context is None:
            return UdevRecord(error=self._unavailable)
        try:
            import pyudev

            device = pyudev.Devices.from_name(context, "block", kernel_name)
            properties = {str(key): str(device.properties[key]) for key in device.properties}
            links = tuple(sorted(str(link) for link in device.device_links))
        except Exception:
            return UdevRecord()
        return UdevRecord(properties=properties, links=links)
