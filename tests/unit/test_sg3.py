
import pytest

from guestprobe.collect.sg3 import (
    INQUIRY,
    PR_READ_KEYS,
    Outcome,
    classify_exit_status,
    describe_exit_status,
    write_same_probes,
)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (0, Outcome.OK),
        (5, Outcome.NOT_SUPPORTED),
        (9, Outcome.NOT_SUPPORTED),
        (22, Outcome.LBA_OUT_OF_RANGE),
        (24, Outcome.RESERVATION_CONFLICT),
        (6, Outcome.UNIT_ATTENTION),
        (33, Outcome.TIMED_OUT),
        (75, Outcome.PASSTHROUGH_UNAVAILABLE),  # 50 + ENOTTY: virtio-blk
        (72, Outcome.PASSTHROUGH_UNAVAILABLE),  # 50 + EINVAL
        (63, Outcome.PERMISSION_DENIED),  # 50 + EACCES
        (51, Outcome.PERMISSION_DENIED),  # 50 + EPERM
        (56, Outcome.DEVICE_GONE),  # 50 + ENXIO
        (69, Outcome.DEVICE_GONE),  # 50 + ENODEV
        (99, Outcome.OTHER_ERROR),
        (1, Outcome.USAGE_ERROR),
        (250, Outcome.OTHER_ERROR),
    ],
)
def test_exit_status_classification(status, outcome):
    assert classify_exit_status(status) is outcome


def test_exit_status_meaning_names_errno():
    assert "ENOTTY" in describe_exit_status(75)
    assert describe_exit_status(22) == "LBA out of range"


def test_probe_argv_is_a_list_without_shell():
    assert INQUIRY.argv("/dev/sg1") == ["sg_inq", "--raw", "--only", "/dev/sg1"]
    argv = PR_READ_KEYS.argv("/dev/sg1")
    assert argv[0] == "sg_persist" and "--readonly" in argv and argv.count("--hex") == 2


def test_write_same_probes_address_one_block_past_the_end():
    probes = write_same_probes(capacity_blocks=131072, block_size=512, timeout_s=15)
    assert [p.name for p in probes] == [
        "write_same16_oor",
        "write_same10_oor",
        "write_same16_unmap_oor",
    ]
    for probe in probes:
        argv = probe.argv("/dev/sg2")
        assert "--lba=131072" in argv and "--num=1" in argv and "--xferlen=512" in argv
        assert probe.writes_medium
    assert "--unmap" in probes[2].argv("/dev/sg2")


def test_write_same10_not_sent_beyond_32_bit_lba():
    probes = write_same_probes(capacity_blocks=2**32, block_size=4096, timeout_s=15)
    assert [p.name for p in probes] == ["write_same16_oor", "write_same16_unmap_oor"]
