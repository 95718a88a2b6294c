"""Preflight: the read-only scan of the disk (and peer) and the refusals it leads to."""



import pytest
from test_fencing_fakes import (
    FOREIGN,
    KA,
    KEYS,
    VERITAS_COORDINATOR,
    hexdump,
    machine,
    read_keys_data,
    two_path_guest,
)

from guestprobe.compat import shell_join
from guestprobe.fencing import prout
from guestprobe.fencing.keys import make_key, new_run_keys
from guestprobe.fencing.preflight import PEER, TARGET, gather, path_facts, refusals


def _facts(fake, names=("sda", "sdc")):
    sys_root, udev = machine(fake)
    found = gather(list(dict.fromkeys(names)), 5, sys=sys_root, udev=udev)
    target = path_facts(TARGET, found[names[0]])
    peer = path_facts(PEER, found[names[1]]) if len(names) > 1 else None
    return target, peer


def _codes(found):
    return [(r.code, r.role) for r in found]


def test_two_paths_to_one_lu_may_be_tested(tmp_path, fp):
    target, peer = _facts(two_path_guest(tmp_path, fp))
    assert (target.device, peer.device) == ("/dev/sg1", "/dev/sg2")
    assert target.lu_designator == peer.lu_designator == "naa.60000000000000000e00000000010001"
    assert target.keys == [] and target.reservation is None and target.reservation_known
    assert refusals(target, peer, KEYS, force=False) == []
    sent = [list(c) for c in fp.calls]
    assert not any("--out" in c for c in sent)  # preflight sends no PR OUT
    assert not any(c[0] == "sg_write_same" for c in sent)  # and no WRITE SAME


def test_foreign_registrations_are_refused_unless_forced(tmp_path, fp):
    target, peer = _facts(two_path_guest(tmp_path, fp, keys=[VERITAS_COORDINATOR, FOREIGN]))
    found = refusals(target, peer, KEYS, force=False)
    assert _codes(found) == [("foreign_registrations", TARGET)]
    assert "0x5646444545443030 (Veritas coordinator key" in found[0].text
    assert "Veritas coordinator key: cluster 57069, node 0" in found[0].text
    assert "0xf0e1d2c3b4a59687 (unknown owner)" in found[0].text
    assert refusals(target, peer, KEYS, force=True) == []


def test_a_leftover_key_of_an_earlier_run_is_named_with_its_removal_command(tmp_path, fp):
    leftover = make_key(bytes.fromhex("0102030405"), 1)
    target, _ = _facts(two_path_guest(tmp_path, fp, keys=[leftover]), names=("sda",))
    (refusal,) = refusals(target, None, KEYS, force=False)
    assert "left by guestprobe fencing-test run 0102030405" in refusal.text
    assert shell_join(prout.unregister("DEVICE", leftover)) in refusal.text


def test_a_disk_with_holders_is_refused_even_when_forced(tmp_path, fp):
    fake = two_path_guest(tmp_path, fp)
    sysfs = fake.p("/sys/block/sda").resolve()
    (sysfs / "holders" / "dm-0").mkdir(parents=True)
    target, peer = _facts(fake)
    assert target.holders == ["dm-0"]
    found = refusals(target, peer, KEYS, force=True)
    assert _codes(found) == [("in_use_holders", TARGET)]
    assert "held by dm-0" in found[0].text


def test_a_mounted_peer_is_refused(tmp_path, fp):
    fake = two_path_guest(tmp_path, fp)
    fake.write("/proc/self/mountinfo", "29 1 8:32 / /mnt rw,relatime shared:1 - ext4 /dev/sdc rw\n")
    target, peer = _facts(fake)
    found = refusals(target, peer, KEYS, force=False)
    assert _codes(found) == [("in_use_mounted", PEER)]
    assert "/mnt (ext4)" in found[0].text


def test_a_peer_of_another_lu_is_refused(tmp_path, fp):
    target, peer = _facts(two_path_guest(tmp_path, fp, other_lu=True))
    assert peer.lu_designator == "naa.60000000000000000e000000000100fe"
    found = refusals(target, peer, KEYS, force=True)
    assert _codes(found) == [("peer_not_same_lu", PEER)]
    assert "naa.60000000000000000e000000000100fe" in found[0].text


def test_the_disk_itself_as_peer_is_refused(tmp_path, fp):
    target, _ = _facts(two_path_guest(tmp_path, fp), names=("sda",))
    found = refusals(target, target, KEYS, force=False)
    assert _codes(found) == [("peer_is_target", PEER)]


@pytest.mark.parametrize(
    ("name", "transport", "detail"),
    [
        ("sdb", "virtio-scsi/emulated", "exit 9: invalid operation code"),
        ("vda", "virtio-blk", "skipped"),
    ],
)
def test_disks_without_pr_are_refused(tmp_path, fp, name, transport, detail):
    target, _ = _facts(two_path_guest(tmp_path, fp), names=(name,))
    (refusal,) = refusals(target, None, KEYS, force=True)
    assert refusal.code == "pr_in_not_working"
    assert transport in refusal.text and detail in refusal.text


def test_a_truncated_read_keys_answer_is_refused(tmp_path, fp):
    """A cut-off key list may hide a registration of another node: never guess."""
    fp.register(prout.read_keys("/dev/sg1"), stdout=hexdump(read_keys_data([KA])[:-3]))
    target, _ = _facts(two_path_guest(tmp_path, fp), names=("sda",))
    assert target.keys is None
    (refusal,) = refusals(target, None, new_run_keys(), force=True)
    assert refusal.code == "pr_in_undecodable"
