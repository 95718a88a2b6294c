"""Build guestprobe's wheel from a scratch copy of the source (the tree stays untouched).

    python3 build_wheel.py SOURCE_DIR OUT_DIR     # prints the wheel's path

setuptools builds it in place where it can (``wheel`` installed, or setuptools >= 70.1); else
pip builds it in an isolated environment (setuptools fetched from the index).
"""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def _can_build_wheels() -> bool:
    try:
        import setuptools.command.bdist_wheel  # noqa: F401  setuptools >= 70.1
    except ImportError:
        try:
            import wheel  # noqa: F401
        except ImportError:
            return False
    return True


def main(source: str, out: str) -> int:
    top, outdir = Path(source).resolve(), Path(out).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    for old in outdir.glob("guestprobe-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="guestprobe-wheel-") as scratch:
        src = Path(scratch) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(top / name, src / name)
        (src / "packaging").mkdir()
        for name in ("guestprobe.8", "guestprobe.bash"):  # pyproject's data-files
            shutil.copy2(top / "packaging" / name, src / "packaging" / name)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for name in ("guestprobe", "checks"):
            if (top / name).is_dir():
                shutil.copytree(top / name, src / name, ignore=ignore)
        if _can_build_wheels():
            from setuptools import build_meta

            cwd = os.getcwd()
            os.chdir(src)
            try:
                with contextlib.redirect_stdout(sys.stderr):
                    name = build_meta.build_wheel(str(outdir))
            finally:
                os.chdir(cwd)
        else:
            subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            "--disable-pip-version-check", "-w", str(outdir), str(src)],
                           check=True, stdout=sys.stderr)
            name = next(outdir.glob("guestprobe-*.whl")).name
    print(outdir / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
