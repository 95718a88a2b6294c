"""Build guestprobe's wheel from a scratch copy of the source (the tree stays untouched).

    python3 build_wheel.py SOURCE_DIR OUT_DIR     # prints the wheel's path
"""

import shutil
import sys
import tempfile
from pathlib import Path

from setuptools import build_meta


def main(source: str, out: str) -> int:
    top, outdir = Path(source).resolve(), Path(out).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="guestprobe-wheel-") as scratch:
        src = Path(scratch) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(top / name, src / name)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for name in ("guestprobe", "checks"):
            if (top / name).is_dir():
                shutil.copytree(top / name, src / name, ignore=ignore)
        for old in outdir.glob("guestprobe-*.whl"):
            old.unlink()
        cwd = Path.cwd()
        try:
            import os

            os.chdir(src)
            name = build_meta.build_wheel(str(outdir))
        finally:
            os.chdir(cwd)
    print(outdir / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
