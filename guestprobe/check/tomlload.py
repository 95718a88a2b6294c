"""Read TOML: :mod:`tomllib` (3.11+), else ``tomli`` if installed, else the built-in subset reader.

Runtime dependencies stay pyudev and click: on Python 3.9/3.10 without ``tomli`` the rule files
are read by :mod:`guestprobe.check.minitoml`, which understands what they use.
"""


from collections.abc import Callable
from typing import Any

from guestprobe.check.minitoml import TomlSubsetError
from guestprobe.check.minitoml import loads as subset_loads

__all__ = ["TOML_ERRORS", "load_text", "reader_name"]


def _pick() -> "tuple[str, Callable[[str], dict[str, Any]], tuple[type[Exception], ...]]":
    try:
        import tomllib

        return "tomllib", tomllib.loads, (tomllib.TOMLDecodeError,)
    except ImportError:
        pass
    try:
        import tomli

        return "tomli", tomli.loads, (tomli.TOMLDecodeError,)
    except ImportError:
        return "guestprobe.check.minitoml", subset_loads, ()


_NAME, _LOADS, _ERRORS = _pick()
TOML_ERRORS: "tuple[type[Exception], ...]" = (TomlSubsetError, *_ERRORS)


def reader_name() -> str:
    """Which TOML reader this interpreter uses."""
    return _NAME


def load_text(text: str) -> "dict[str, Any]":
    """Parse TOML text with the best reader available; raises one of :data:`TOML_ERRORS`."""
    return _LOADS(text)
