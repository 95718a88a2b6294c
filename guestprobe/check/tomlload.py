"""Read TOML: :mod:`tomllib` (Python 3.11+), else ``tomli``, its backport.

``tomli`` is a dependency below 3.11 (pyproject.toml); the RPM bundles it on every target, whose
Pythons (3.6, 3.9) all predate tomllib.
"""

try:
    import tomllib as _toml
except ImportError:  # Python < 3.11
    import tomli as _toml

__all__ = ["TOML_ERRORS", "load_text", "reader_name"]

TOML_ERRORS = (_toml.TOMLDecodeError,)


def reader_name() -> str:
    """Which TOML reader this interpreter uses: ``tomllib`` or ``tomli``."""
    return _toml.__name__


def load_text(text: str) -> "dict":
    """Parse TOML text; raises one of :data:`TOML_ERRORS`."""
    return _toml.loads(text)
