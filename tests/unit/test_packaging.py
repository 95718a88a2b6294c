"""The RPM, for every target: built with packaging/build-rpm.sh, linted, its Requires: checked
against what the target's base repositories carry, unpacked, and run by the target's own Python
version with nothing but the payload on its path.

Needs rpmbuild, rpmspec, rpmlint, rpm2cpio and cpio (.ci/packaging-deps.sh installs them) and
Python 3.6 and 3.9 interpreters (pyenv's, or python3.6 / python3.9 on PATH). Where one is
missing the tests skip, except in CI (CI=true), where a missing tool is a failure.
"""


import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
PACKAGING = TOP / "packaging"
BASE_REPOS = PACKAGING / "base-repos"
TOOLS = ("rpmbuild", "rpmspec", "rpmlint", "rpm2cpio", "cpio")
TARGETS = {  # target: (rpmspec defines, the Python version the target runs guestprobe on)
    "el7": (["--define", "rhel 7", "--define", "dist .el7"], "3.6"),
    "el8": (["--define", "rhel 8", "--define", "dist .el8"], "3.6"),
    "el9": (["--define", "rhel 9", "--define", "dist .el9"], "3.9"),
    "sles15": (["--define", "suse_version 1500", "--define", "dist %{nil}"], "3.6"),
}
# What the target's base repositories give where the RPM does not bundle it (the versions of
# packaging/base-repos/*.txt), fetched as wheels for the payload test.
SYSTEM_LIBRARIES = {"sles15": ["click==7.0"]}


def _missing(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        _missing(f"missing {', '.join(missing)} (.ci/packaging-deps.sh installs them)")


def python_of(version: str) -> str:
    """An interpreter of that version: pyenv's, else ``pythonX.Y`` on PATH."""
    root = Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser()
    found = sorted(str(p) for p in root.glob(f"versions/{version}.*/bin/python{version}"))
    found += [p for p in [shutil.which(f"python{version}")] if p]
    if not found:
        _missing(f"no Python {version} interpreter (pyenv install {version}, or python{version})")
    return found[0]


def _run(argv: list, **kwargs) -> "subprocess.CompletedProcess":
    return subprocess.run(
        argv, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=300, **kwargs,
    )


def _requires(target: str) -> "list[str]":
    """The Requires: names of the spec evaluated for ``target``."""
    spec = _run(["rpmspec", "-P", *TARGETS[target][0], str(PACKAGING / "guestprobe.spec")])
    assert spec.returncode == 0, spec.stderr
    return [line.split(":", 1)[1].split()[0] for line in spec.stdout.splitlines()
            if line.startswith("Requires:")]


def _base_repo(target: str) -> "dict[str, str]":
    packages = {}
    for line in (BASE_REPOS / f"{target}.txt").read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            packages[fields[0]] = fields[1]
    return packages


def _version_tuple(text: str) -> "tuple[int, ...]":
    return tuple(int(part) for part in re.findall(r"\d+", text))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_requires_is_in_the_targets_base_repositories(target):
    _require_tools()
    base = _base_repo(target)
    requires = _requires(target)
    assert "sg3_utils" in requires
    for name in requires:
        assert name in base, f"{target}: Requires {name}, which its base repositories lack"
    # a library taken from the system must be as new as pyproject.toml asks for
    minimum = dict(re.findall(r'"(pyudev|click)>=([\d.]+)"', (TOP / "pyproject.toml").read_text()))
    for library, wanted in minimum.items():
        if f"python3-{library}" in requires:
            assert _version_tuple(base[f"python3-{library}"]) >= _version_tuple(wanted), target


@pytest.fixture(scope="module", params=sorted(TARGETS))
def built(request, tmp_path_factory) -> dict:
    _require_tools()
    target = request.param
    python = python_of(TARGETS[target][1])
    out = tmp_path_factory.mktemp(f"rpm-{target}")
    start = time.monotonic()
    env = dict(os.environ, BYTECOMPILE_PYTHON=python)
    result = _run(["bash", str(PACKAGING / "build-rpm.sh"), "--target", target, str(out)], env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    paths = [Path(line) for line in result.stdout.split()]
    rpm = next(p for p in paths if p.name.endswith(".noarch.rpm"))
    srpm = next(p for p in paths if p.name.endswith(".src.rpm"))
    root = tmp_path_factory.mktemp(f"unpacked-{target}")
    unpack = _run(["sh", "-c", f"rpm2cpio '{rpm}' | cpio -idm --quiet"], cwd=root)
    assert unpack.returncode == 0, unpack.stderr
    system = tmp_path_factory.mktemp(f"system-{target}")
    for requirement in SYSTEM_LIBRARIES.get(target, []):
        fetched = _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary", ":all:", "-d", str(system), requirement])
        assert fetched.returncode == 0, fetched.stderr
    for wheel in system.glob("*.whl"):
        with zipfile.ZipFile(str(wheel)) as archive:
            archive.extractall(str(system))
    return {"target": target, "python": python, "rpm": rpm, "srpm": srpm, "root": root,
            "app": root / "usr/share/guestprobe", "system": system,
            "seconds": time.monotonic() - start}


def test_rpmlint_has_no_errors_and_no_warnings(built):
    result = _run(["rpmlint", "-c", str(PACKAGING / "rpmlint.toml"), str(built["rpm"]),
                   str(built["srpm"]), str(PACKAGING / "guestprobe.spec")])
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout
    assert " 0 errors, 0 warnings" in summary, result.stdout


def test_rpm_holds_the_program_rules_man_page_completion_and_licences(built):
    files = _run(["rpm", "-qlp", str(built["rpm"])]).stdout.split()
    app = "/usr/share/guestprobe"
    for path in ("/usr/bin/guestprobe", "/usr/share/man/man8/guestprobe.8.gz",
                 "/usr/share/bash-completion/completions/guestprobe",
                 f"{app}/guestprobe/cli/__init__.py", f"{app}/guestprobe/bundle/archive.py",
                 f"{app}/guestprobe/document/schema.json", f"{app}/guestprobe/rules/__init__.py",
                 f"{app}/guestprobe-0.1.0.dist-info/METADATA"):
        assert path in files, path
    assert not [f for f in files if "site-packages" in f or "dist-packages" in f]
    rules = sorted(str(p.relative_to(TOP / "checks")) for p in (TOP / "checks").rglob("*.toml"))
    assert "host/pr_fencing.toml" in rules  # guestprobe host's rules ship too
    assert sorted(f[len(f"{app}/guestprobe/rules/"):] for f in files
                  if f.startswith(f"{app}/guestprobe/rules/") and f.endswith(".toml")) == rules
    requires = [r.strip() for r in _run(["rpm", "-qpR", str(built["rpm"])]).stdout.split("\n")]
    base = _base_repo(built["target"])
    for needed in requires:
        if needed and not needed.startswith(("rpmlib(", "/")):
            assert needed in base, needed
    provides = _run(["rpm", "-qp", "--provides", str(built["rpm"])]).stdout
    for bundled in re.findall(r"bundled\(python3dist\((\w+)\)\) = ([\d.]+)", provides):
        name, version = bundled
        assert f"{app}/bundled/{name}-{version}.dist-info/METADATA" in files, bundled
        assert any(f.startswith(f"/usr/share/licenses/guestprobe-0.1.0/{name}-") for f in files)
        assert f"python3-{name}" not in requires  # bundled, so not required from the system
    magic = {"3.6": "cpython-36", "3.9": "cpython-39"}[TARGETS[built["target"]][1]]
    assert f"{app}/guestprobe/cli/__pycache__/__init__.{magic}.pyc" in files
    arch = _run(["rpm", "-qp", "--qf", "%{ARCH}", str(built["rpm"])]).stdout
    assert arch == "noarch"
    assert built["seconds"] < 120


def _payload_env(built) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GUESTPROBE_", "PYTHON", "VIRTUAL_ENV"))}
    if any(built["system"].iterdir()):  # what the target's base repositories provide
        env["PYTHONPATH"] = str(built["system"])
    return env


def _payload(built, *args: str, cwd: "Path") -> "subprocess.CompletedProcess":
    """/usr/bin/guestprobe of the payload, run by the target's Python version, without site."""
    script = built["root"] / "usr/bin/guestprobe"
    return _run([built["python"], "-S", "-s", str(script), *args], env=_payload_env(built), cwd=cwd)


def test_payload_runs_on_the_targets_python_with_nothing_else_on_its_path(built, tmp_path):
    bundle = TOP / "examples" / "mixed.tar.gz"  # collected in the real-guest rig
    shebang = (built["root"] / "usr/bin/guestprobe").read_text().splitlines()[0]
    interpreter = {"el8": "/usr/libexec/platform-python"}.get(built["target"], "/usr/bin/python3")
    assert shebang == f"#!{interpreter} -s"
    where = _run([built["python"], "-S", "-s", "-c",
                  "import sys; sys.path[0:0] = sys.argv[1:]; import guestprobe.cli, click; "
                  "print(guestprobe.cli.__file__); print(click.__file__)",
                  str(built["app"]), str(built["app"] / "bundled")],
                 env=_payload_env(built), cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    cli_file, click_file = where.stdout.split()
    assert cli_file.startswith(str(built["app"]))
    assert click_file.startswith(str(built["system"] if "sles" in built["target"]
                                     else built["app"] / "bundled"))
    version = _payload(built, "--version", cwd=tmp_path)
    assert version.returncode == 0 and "0.1.0" in version.stdout, version.stderr
    helped = _payload(built, "scan", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "--no-write-probes" in helped.stdout, helped.stderr
    result = _payload(built, "report", str(bundle), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^sdb\s+virtio-scsi/passthrough\s", result.stdout, re.M), result.stdout
    assert re.search(r"^vda\s+virtio-blk\s", result.stdout, re.M)
    assert re.search(r"^DISK\s+TRANSPORT\s+FENC\s+DISC\s+NAME\s", result.stdout, re.M)  # rules ran
    as_json = _payload(built, "report", "--json", str(bundle), cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["scan"]["collected_by_version"] == "0.1.0"
    # the same verdicts as this source tree gives on the test's own (newest) Python
    here = _run([sys.executable, "-m", "guestprobe", "report", "--json", str(bundle)], cwd=TOP)
    assert here.returncode == 0, here.stderr
    ours = json.loads(here.stdout)
    assert [d["verdicts"] for d in document["disks"]] == [d["verdicts"] for d in ours["disks"]]
    host = _payload(built, "host", "--xml", str(TOP / "tests/fixtures/host/mistakes.xml"),
                    "--json", cwd=tmp_path)  # the host side, judged by its rules from the RPM
    assert host.returncode == 0, host.stderr
    assert "host_error_policy_stop" in host.stdout
    rules = _payload(built, "explain", cwd=tmp_path)  # the rules shipped inside the package
    assert rules.stdout.startswith(f"Rules from {built['app']}/guestprobe/rules"), rules.stdout
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(bundle.read_bytes()[:200])
    bad = _payload(built, "report", str(truncated), cwd=tmp_path)
    assert bad.returncode == 8 and bad.stderr.startswith("guestprobe: "), bad.stderr


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
    for status in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 70):
        assert f".B {status}\n" in man
