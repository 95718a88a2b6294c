"""The test's own registration keys, the SIGINT/SIGTERM guard, and the fakes' hex dumps."""


import os
import signal
from pathlib import Path

import pytest
from test_fencing_fakes import hexdump

from guestprobe.decode.persist import decode_veritas_key
from guestprobe.fencing.keys import (
    PEER_PATH,
    TARGET_PATH,
    leftover_run_id,
    make_key,
    new_run_keys,
    sg_key,
)
from guestprobe.fencing.signals import Interrupted, SignalGuard

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shared-captures"


def test_keys_have_the_documented_format():
    keys = new_run_keys(bytes.fromhex("a1b2c3d4e5"))
    assert (keys.target, keys.peer) == (0x6770A1B2C3D4E501, 0x6770A1B2C3D4E502)
    assert keys.target.to_bytes(8, "big")[:2] == b"gp"
    assert sg_key(keys.target) == "0x6770a1b2c3d4e501"
    assert leftover_run_id(keys.peer) == "a1b2c3d4e5"


def test_keys_are_unique_per_run_and_never_a_veritas_key():
    runs = [new_run_keys() for _ in range(2000)]
    assert len({keys.run_id for keys in runs}) == len(runs)
    for keys in runs:
        for key in keys.all():
            assert key != 0 and decode_veritas_key(key) is None
    # the worst case by construction: every other byte chosen to look like a Veritas key
    for run_id in (b"PGR00", b"VCS00", b"F0000", b"DEED0"):
        for path in (TARGET_PATH, PEER_PATH):
            assert decode_veritas_key(make_key(run_id, path)) is None


def test_veritas_and_foreign_keys_are_no_leftovers():
    assert leftover_run_id(0x5646444545443030) is None  # VFDEED00
    assert leftover_run_id(0x4150475230303031) is None  # APGR0001
    assert leftover_run_id(0x6770A1B2C3D4E503) is None  # "gp" but no path byte of ours
    with pytest.raises(ValueError):
        make_key(b"\x00", TARGET_PATH)


def test_the_fake_dumps_are_byte_exact_sg3_utils_dumps():
    captured = CAPTURES / "kvm-mixed" / "cap" / "IET_beaf11" / "pr_report_capabilities.out"
    assert hexdump(bytes.fromhex("00080080ea010000")) == captured.read_bytes()
    two_lines = hexdump(bytes(range(20)))
    assert two_lines == (
        b" 00     00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f\n 10     10 11 12 13\n"
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_between_commands_raises_at_once(signum):
    old = signal.getsignal(signum)
    with pytest.raises(Interrupted) as raised, SignalGuard():
        os.kill(os.getpid(), signum)
    assert raised.value.signum == signum
    assert signal.getsignal(signum) is old


def test_a_signal_during_a_command_waits_for_it_and_cleanup_is_never_interrupted():
    with SignalGuard() as guard:
        with guard.command():
            os.kill(os.getpid(), signal.SIGTERM)  # held: the command in flight finishes
            finished = True
        assert finished
        with pytest.raises(Interrupted) as raised:
            guard.check()  # at the next step: raised, and cleanup begins
        guard.hold()
        os.kill(os.getpid(), signal.SIGINT)  # cleanup: recorded only
        with guard.command():
            os.kill(os.getpid(), signal.SIGINT)
        guard.check()
    assert raised.value.name == "SIGTERM"
    assert guard.received == [signal.SIGTERM, signal.SIGINT, signal.SIGINT]


def test_a_second_signal_during_a_command_raises_at_once():
    with SignalGuard() as guard, pytest.raises(Interrupted), guard.command():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        pytest.fail("the second SIGINT must raise")
