"""The Ansible collection (``ansible/``): syntax check, ansible-lint, and its gate on a fake node.

ansible-core and ansible-lint come with the test extras (pyproject.toml). Outside CI, where they
are not installed, these tests skip; with ``CI=true`` a missing tool fails them.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / "ansible"
PLAYBOOKS = ("cluster.yml", "fencing.yml")


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing: pip install -e '.[test]' installs it")
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def _run(argv, **kwargs):
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "NO_COLOR": "1", "PYTHONPATH": str(REPO),
           "ANSIBLE_LOCALHOST_WARNING": "0"}  # fmt: skip
    return subprocess.run(argv, cwd=ANSIBLE, capture_output=True, text=True, timeout=600,
                          env=env, check=False, **kwargs)  # fmt: skip


def test_the_playbooks_pass_the_syntax_check():
    for playbook in PLAYBOOKS:
        proc = _run([_tool("ansible-playbook"), "--syntax-check", "-i",
                     "inventory.example.ini", playbook])  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_collection_passes_ansible_lint_production_profile():
    proc = _run([_tool("ansible-lint"), "--profile", "production", "--offline", *PLAYBOOKS,
                 "roles"])  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failure(s), 0 warning(s)" in proc.stdout + proc.stderr


FAKE_NODE = r'''
import json, sys
argv = sys.argv[1:]
opts = dict(zip(argv[2::2], argv[3::2]))
node, step = int(opts["--node"]), argv[1]
record = {"kind": "fencing-node", "run_id": opts["--run-id"], "lu": opts["--lu"], "node": node,
          "nodes": int(opts["--nodes"]), "holder": 1, "victim": 2, "host": "n%d" % node,
          "step": step, "steps": [], "status": "pass", "refusals": []}
if step == "preflight" and node == 3:
    record["status"] = "refused"
    record["refusals"] = [{"code": "in_use_mounted", "role": "target", "text": "mounted"}]
with open(opts["--record"], "a") as handle:
    handle.write(json.dumps(record) + "\n")
sys.exit(10 if record["status"] == "refused" else 0)
'''


def test_one_refusing_node_stops_every_node_before_any_pr_out(tmp_path):
    """fencing.yml's gate: node 3 refuses in preflight, so no node registers; cleanup and
    status still run everywhere and fencing-cluster names the refusal."""
    fake = tmp_path / "fake_node.py"
    fake.write_text(FAKE_NODE)
    python = os.path.realpath(sys.executable)
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[guestprobe_nodes]\n" + "".join(
        f"n{n} ansible_connection=local ansible_python_interpreter={python}\n" for n in (1, 2, 3)
    ))  # fmt: skip
    extra = {
        "fencing_lu": "naa.6000", "fencing_confirm": True, "ansible_become": False,
        "guestprobe_command": [python, str(fake)],
        "guestprobe_remote_dir": str(tmp_path / "remote-{{ inventory_hostname }}"),
        "guestprobe_controller_command": [python, "-m", "guestprobe"],
        "guestprobe_controller_environment": {"PYTHONPATH": str(REPO)},
        "guestprobe_results_dir": str(tmp_path / "results"),
    }  # fmt: skip
    proc = _run([_tool("ansible-playbook"), "-i", str(inventory), "fencing.yml",
                 "-e", json.dumps(extra)])  # fmt: skip
    assert proc.returncode != 0, proc.stdout
    assert "preflight failed on n3" in proc.stdout
    steps = [json.loads(line)["step"] for n in (1, 2, 3)
             for line in (tmp_path / f"remote-n{n}").glob("*.jsonl").__next__().read_text()
             .splitlines()]  # fmt: skip
    assert sorted(steps) == sorted(["preflight", "cleanup", "status"] * 3)
    verdicts = list((tmp_path / "results" / "fencing").glob("*.json"))
    document = json.loads(verdicts[0].read_text())
    assert document["verdict"]["code"] == "refused"
    assert "n3: [in_use_mounted]" in document["verdict"]["text"]
