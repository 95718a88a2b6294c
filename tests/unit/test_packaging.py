"""The RPM: built with packaging/build-rpm.sh, linted, unpacked, and its guestprobe run.

Needs rpmbuild, rpmlint, rpm2cpio and cpio (.ci/packaging-deps.sh installs them). Where they
are missing the tests skip, except in CI (CI=true), where a missing tool is a failure.
"""


import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
PACKAGING = TOP / "packaging"
TOOLS = ("rpmbuild", "rpmlint", "rpm2cpio", "cpio")


def _require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"missing {', '.join(missing)} (.ci/packaging-deps.sh installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _run(argv: list, **kwargs) -> "subprocess.CompletedProcess":
    return subprocess.run(
        argv, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=300, **kwargs,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    _require_tools()
    out = tmp_path_factory.mktemp("rpm")
    start = time.monotonic()
    result = _run(["bash", str(PACKAGING / "build-rpm.sh"), str(out)])
    assert result.returncode == 0, result.stderr[-3000:]
    paths = [Path(line) for line in result.stdout.split()]
    rpm = next(p for p in paths if p.name.endswith(".noarch.rpm"))
    srpm = next(p for p in paths if p.name.endswith(".src.rpm"))
    root = tmp_path_factory.mktemp("unpacked")
    unpack = _run(["sh", "-c", f"rpm2cpio '{rpm}' | cpio -idm --quiet"], cwd=root)
    assert unpack.returncode == 0, unpack.stderr
    sitelib = next(root.glob("usr/lib/python3*/site-packages"))
    return {"rpm": rpm, "srpm": srpm, "root": root, "sitelib": sitelib,
            "seconds": time.monotonic() - start}


def test_rpmlint_has_no_errors_and_no_warnings(built):
    result = _run(["rpmlint", "-c", str(PACKAGING / "rpmlint.toml"), str(built["rpm"]),
                   str(built["srpm"]), str(PACKAGING / "guestprobe.spec")])
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout
    assert " 0 errors, 0 warnings" in summary, result.stdout


def test_rpm_holds_the_program_rules_man_page_and_completion(built):
    files = _run(["rpm", "-qlp", str(built["rpm"])]).stdout.split()
    site = "/" + str(built["sitelib"].relative_to(built["root"]))
    for path in ("/usr/bin/guestprobe", "/usr/share/man/man8/guestprobe.8.gz",
                 "/usr/share/bash-completion/completions/guestprobe",
                 f"{site}/guestprobe/cli.py", f"{site}/guestprobe/bundle/archive.py",
                 f"{site}/guestprobe/report/schema.json", f"{site}/guestprobe/rules/__init__.py",
                 f"{site}/guestprobe-0.1.0.dist-info/METADATA"):
        assert path in files, path
    rules = sorted(p.name for p in (TOP / "checks").glob("*.toml"))
    assert sorted(Path(f).name for f in files if f.startswith(f"{site}/guestprobe/rules/")
                  and f.endswith(".toml")) == rules
    requires = _run(["rpm", "-qpR", str(built["rpm"])]).stdout.split("\n")
    for needed in ("sg3_utils", "python3-pyudev", "python3-click"):
        assert needed in requires
    arch = _run(["rpm", "-qp", "--qf", "%{ARCH}", str(built["rpm"])]).stdout
    assert arch == "noarch"
    assert built["seconds"] < 60


def _unpacked_env(built) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPROBE_")}
    env["PYTHONPATH"] = str(built["sitelib"])
    return env


def _unpacked(built, *args: str, cwd: "Path") -> "subprocess.CompletedProcess":
    script = built["root"] / "usr/bin/guestprobe"
    return _run([sys.executable, str(script), *args], env=_unpacked_env(built), cwd=cwd)


def test_unpacked_guestprobe_reports_a_recorded_bundle(built, tmp_path):
    bundle = TOP / "examples" / "mixed.tar.gz"  # collected in the real-guest rig
    where = _run([sys.executable, "-c", "import guestprobe.cli as c; print(c.__file__)"],
                 env=_unpacked_env(built), cwd=tmp_path)
    assert where.stdout.strip().startswith(str(built["sitelib"]))
    version = _unpacked(built, "--version", cwd=tmp_path)
    assert version.returncode == 0 and "0.1.0" in version.stdout
    result = _unpacked(built, "report", str(bundle), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^sdb\s+virtio-scsi/passthrough\s", result.stdout, re.M), result.stdout
    assert re.search(r"^vda\s+virtio-blk\s", result.stdout, re.M)
    assert "naa.60000000000000000e00000000010001" in result.stdout
    assert re.search(r"^DISK\s+discovery\s+naming\s", result.stdout, re.M)  # the rules ran
    as_json = json.loads(_unpacked(built, "report", "--json", str(bundle), cwd=tmp_path).stdout)
    assert as_json["scan"]["collected_by_version"] == "0.1.0"
    rules = _unpacked(built, "explain", cwd=tmp_path)  # the rules shipped inside the package
    assert rules.stdout.startswith(f"Rules from {built['sitelib']}/guestprobe/rules"), rules.stdout
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(bundle.read_bytes()[:200])
    bad = _unpacked(built, "report", str(truncated), cwd=tmp_path)
    assert bad.returncode == 8 and bad.stderr.startswith("guestprobe: ")


def test_man_page_and_completion_cover_the_cli():
    import click

    from guestprobe.cli import cli

    man = (PACKAGING / "guestprobe.8").read_text().replace("\\-", "-")
    completion = (PACKAGING / "guestprobe.bash").read_text()
    for name, command in cli.commands.items():
        assert re.search(rf"^\.B {name}\b", man, re.M), name
        assert name in completion
        for param in command.params:
            if isinstance(param, click.Option):
                for option in param.opts:
                    assert option in man, (name, option)
                    assert option in completion, (name, option)
    for status in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 70):
        assert f".B {status}\n" in man
