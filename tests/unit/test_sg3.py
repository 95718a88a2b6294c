
import pytest

from guestprobe.collect.sg3 import (
    INQUIRY,
    PR_READ_KEYS,
    WRITE_SAME10_LBA,
    WRITE_SAME16_LBA,
    WRITE_SAME_BLOCKS,
    Outcome,
    classify_exit_status,
    describe_exit_status,
    write_same_probe,
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


def test_write_same_probes_address_far_lbas_never_the_capacity():
    probes = write_same_probes(capacity_blocks=131072, block_size=512, timeout_s=15)
    assert [p.name for p in probes] == [
        "write_same16_oor",
        "write_same10_oor",
        "write_same16_unmap_oor",
    ]
    lbas = [probe.argv("/dev/sg2")[2 if "--unmap" not in probe.args else 3] for probe in probes]
    assert lbas == ["--lba=70368744177648", "--lba=4294967280", "--lba=70368744177648"]
    for probe in probes:
        argv = probe.argv("/dev/sg2")
        assert "--num=1" in argv and "--xferlen=512" in argv
        assert not any(arg.startswith("--num=0") for arg in argv)
        assert probe.writes_medium
    assert "--unmap" in probes[2].argv("/dev/sg2")


def test_write_same10_not_sent_where_its_far_lba_is_not_far_enough():
    # WRITE SAME(10)'s 32-bit LBA: only for disks of at most half 2^32 - 16 blocks
    probes = write_same_probes(capacity_blocks=2**31, block_size=4096, timeout_s=15)
    assert [p.name for p in probes] == ["write_same16_oor", "write_same16_unmap_oor"]
    probes = write_same_probes(capacity_blocks=2**31 - 8, block_size=4096, timeout_s=15)
    assert "write_same10_oor" in [p.name for p in probes]
    assert write_same_probes(capacity_blocks=2**45, block_size=512, timeout_s=15) == []


@pytest.mark.parametrize("block_size", [512, 520, 1024, 2048, 4096, 4104, 8192, 65536, 65544])
def test_far_lbas_cannot_wrap_in_a_targets_arithmetic(block_size):
    """LBA + NUM, LBA x block size (a byte offset) and a 32-bit truncation: none comes near 0."""
    for lba, field_bits in ((WRITE_SAME16_LBA, 64), (WRITE_SAME10_LBA, 32)):
        assert lba + WRITE_SAME_BLOCKS < 2 ** (field_bits - 1 if field_bits == 64 else field_bits)
        end_byte = (lba + WRITE_SAME_BLOCKS) * block_size
        assert end_byte < 2**63  # no wrap, even in a signed 64-bit off_t
        assert lba * block_size >= 2**40  # a byte offset far past any LU of 2 TiB
    assert WRITE_SAME16_LBA * 512 >= 2**54  # 16 PiB: no real LU
    assert WRITE_SAME16_LBA & 0xFFFFFFFF == WRITE_SAME10_LBA  # truncated to 32 bits: not 0
    # what 2^62 / 2^63 would do in a 64-bit byte offset: LBA 0
    assert (2**62 * 512) % 2**64 == 0 and (2**63 * 512) % 2**64 == 0


def test_a_write_same_probe_never_goes_to_another_lba_or_block_count():
    with pytest.raises(ValueError):
        write_same_probe("write_same16_oor", 16, block_size=2**20, timeout_s=15, unmap=False)
    probe = write_same_probe("write_same10_oor", 10, block_size=4096, timeout_s=15, unmap=False)
    assert probe.args[:3] == ("--10", f"--lba={WRITE_SAME10_LBA}", "--num=1")
