"""Ctrl-C twice during a fencing test, with real processes: cleanup still removes the key.

A terminal sends SIGINT to its whole foreground process group. Here a driver interpreter runs a
FencingTest in a session of its own (its process group stands for the terminal's), with a fake
``sg_persist`` on PATH that keeps PR state in a file and is slow at RESERVE and at the unregister.
The test sends SIGINT to that process group twice: during RESERVE (the test stops) and during the
cleanup's unregister. Before issue 10, the second SIGINT killed the unregistering sg_persist too
(it was in the same group) and it was not sent again: the key stayed.
"""


import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FAKE_SG_PERSIST = r'''#!{python}
import json, os, sys, time
argv = sys.argv[1:]
state_file = os.environ["FAKE_PR_STATE"]
with open(os.environ["FAKE_PR_LOG"], "a") as log:
    log.write(" ".join(argv) + "\n")
state = json.load(open(state_file))
def arg(name):
    return next((a.split("=", 1)[1] for a in argv if a.startswith(name + "=")), None)
def dump(data):
    for offset in range(0, len(data), 16):
        chunk = ["%02x" % b for b in data[offset:offset + 16]]
        body = " ".join(chunk[:8]) + ("  " + " ".join(chunk[8:]) if chunk[8:] else "")
        print(" %02x     %s" % (offset, body))
if "--in" in argv:
    if "--read-keys" in argv:
        keys = state["keys"]
        dump(bytes(4) + (8 * len(keys)).to_bytes(4, "big")
             + b"".join(k.to_bytes(8, "big") for k in keys))
    else:
        holder = state["holder"]
        if holder is None:
            dump(bytes(8))
        else:
            dump(bytes(4) + (16).to_bytes(4, "big") + holder.to_bytes(8, "big") + bytes(5)
                 + bytes([5]) + bytes(2))
    sys.exit(0)
if "--register" in argv and arg("--param-sark") == "0":
    open(os.environ["FAKE_MARKER"] + ".unregister", "w").close()
    time.sleep(2)
    key = int(arg("--param-rk"), 16)
    state["keys"] = [k for k in state["keys"] if k != key]
    if state["holder"] == key:
        state["holder"] = None
elif "--register" in argv:
    state["keys"].append(int(arg("--param-sark"), 16))
elif "--reserve" in argv:
    open(os.environ["FAKE_MARKER"] + ".reserve", "w").close()
    time.sleep(2)
    state["holder"] = int(arg("--param-rk"), 16)
elif "--release" in argv:
    state["holder"] = None
json.dump(state, open(state_file, "w"))
'''

DRIVER = r'''
import json, sys
from guestprobe.fencing.keys import new_run_keys
from guestprobe.fencing.sequence import FencingTest, PrPath
from guestprobe.fencing.signals import SignalGuard
from guestprobe.fencing.outcome import judge
key = new_run_keys(bytes.fromhex("a1b2c3d4e5")).target
with SignalGuard() as guard:
    result = FencingTest(PrPath("target", "/dev/fake", "/dev/fake", key), None, [], None,
                         timeout_s=30, guard=guard).run()
print(json.dumps({"verified": result.cleanup_verified, "interrupted": result.interrupted,
                  "keys_after": result.keys_after, "verdict": judge(result, False).code,
                  "unregister": [s.exit_statuses for s in result.steps
                                 if s.id == "cleanup_unregister_target"]}))
'''


def _wait_for(path: "Path", proc: "subprocess.Popen", timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path.name} never came"
        time.sleep(0.02)


def test_sigint_twice_to_the_process_group_still_removes_the_key(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "sg_persist"
    tool.write_text(FAKE_SG_PERSIST.replace("{python}", sys.executable))
    tool.chmod(0o755)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"keys": [], "holder": None}))
    marker = tmp_path / "marker"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "FAKE_PR_STATE": str(state),
        "FAKE_PR_LOG": str(tmp_path / "calls.log"),
        "FAKE_MARKER": str(marker),
    }
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=str(REPO),
        start_new_session=True,  # its process group plays the terminal's foreground group
    )
    try:
        _wait_for(Path(f"{marker}.reserve"), driver)
        os.killpg(driver.pid, signal.SIGINT)  # first Ctrl-C, while RESERVE runs
        _wait_for(Path(f"{marker}.unregister"), driver)
        os.killpg(driver.pid, signal.SIGINT)  # second Ctrl-C, while cleanup unregisters
        out, err = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    assert json.loads(state.read_text()) == {"keys": [], "holder": None}, err.decode()
    result = json.loads(out)
    assert result["verified"] is True and result["keys_after"] == []
    assert (result["interrupted"], result["verdict"]) == ("SIGINT", "interrupted")
    assert result["unregister"] == [[0]]  # the second Ctrl-C never reached it
