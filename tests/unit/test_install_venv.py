"""The install without an RPM where PEP 668 forbids pip on the system Python (Debian 12,
Ubuntu): a venv of the system's own Python, the checkout installed into it with pip, then
guestprobe run from there with nothing of the checkout on its path; the man page and the
completion come with it (``guestprobe --man``, ``--completion``, and the venv's share/).

It needs the system's python3 with its venv module and the package index pip uses; without
them it skips, except in CI (``CI=true``), where that is a failure."""


import os
import shutil
import subprocess
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = Path("/usr/bin/python3")
SOURCES = ("pyproject.toml", "README.md", "guestprobe", "checks", "packaging/guestprobe.8",
           "packaging/guestprobe.bash")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _run(argv, cwd: "Path", timeout: float = 600) -> "subprocess.CompletedProcess":
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run([str(a) for a in argv], cwd=str(cwd), env=env, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)


def _checkout_copy(into: "Path") -> "Path":
    """The files pip builds guestprobe from (a copy: the build writes into its source)."""
    for name in SOURCES:
        source, target = TOP / name, into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(str(source), str(target),
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(str(source), str(target))
    return into


def test_a_venv_install_works_where_pep_668_forbids_system_pip(tmp_path):
    made = None
    if SYSTEM_PYTHON.exists():
        made = _run([SYSTEM_PYTHON, "-m", "venv", tmp_path / "venv"], tmp_path)
    if made is None or made.returncode != 0:
        reason = "the system python3 has no venv module (apt-get install python3-venv)"
        if _in_ci():
            pytest.fail(f"CI=true, and {reason}", pytrace=False)
        pytest.skip(reason)
    venv = tmp_path / "venv"
    source = _checkout_copy(tmp_path / "src")
    installed = _run([venv / "bin" / "pip", "install", "--disable-pip-version-check", "-q",
                      source], tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]
    guestprobe = venv / "bin" / "guestprobe"
    version = _run([guestprobe, "--version"], tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("guestprobe, version ")
    explained = _run([guestprobe, "explain", "reserved_by_other"], tmp_path)
    assert explained.returncode == 0, explained.stderr
    assert explained.stdout.startswith("reserved_by_other: pr_fencing")
    where = _run([venv / "bin" / "python", "-c", "import guestprobe; print(guestprobe.__file__)"],
                 tmp_path)
    assert where.stdout.startswith(str(venv)), where.stdout  # the venv's, not the checkout's
    man = _run([guestprobe, "--man"], tmp_path)
    assert man.returncode == 0 and man.stdout.startswith(".TH GUESTPROBE 8")
    assert (venv / "share" / "man" / "man8" / "guestprobe.8").read_text() == man.stdout
    completion = _run([guestprobe, "--completion"], tmp_path)
    assert completion.returncode == 0 and "complete -F" in completion.stdout
    assert (venv / "share" / "bash-completion" / "completions" / "guestprobe.bash").exists()
