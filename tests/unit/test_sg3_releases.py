"""Old sg3_utils releases: which release is it, how the argvs adapt, and exit 0 that is no answer.

The usage texts in tests/fixtures/sg3-releases/1.37/ are what sg3_utils 1.37, built from the
upstream release tarball (tests/vm/sg3_builds.py), printed for guestprobe's newest argvs: an
unknown option, its usage message, and exit status 0.
"""


from pathlib import Path

import pytest
from documents import build_document
from fakesys import MIXED, kvm_mixed
from replay import register_disk
from reportpages import table_of

from guestprobe.collect import process
from guestprobe.collect.probe import ProbeOptions
from guestprobe.collect.scan import collect
from guestprobe.collect.sg3 import (
    INQUIRY,
    PR_READ_FULL_STATUS,
    PR_READ_KEYS,
    READ_CAPACITY_16,
    REPORT_OPCODES,
    Outcome,
    interpret_command,
    write_same_probes,
)
from guestprobe.collect.sg3_releases import (
    RELEASE_DIFFERENCES,
    SG_INQ_RELEASES,
    adapt,
    differences_for,
    parse_sg_inq_version,
    release_of,
    release_skip_reason,
)
from guestprobe.collect.sysfs import SysRoot
from guestprobe.collect.udev import UdevView

OLD = Path(__file__).resolve().parents[1] / "fixtures" / "sg3-releases" / "1.37"
IET = MIXED / "IET_beaf11"


def captured(name: str) -> "process.CommandResult":
    argv = tuple((OLD / f"{name}.argv").read_text().split())
    return process.CommandResult(
        argv=argv,
        exit_status=int((OLD / f"{name}.rc").read_text()),
        stdout=(OLD / f"{name}.out").read_bytes(),
        stderr=(OLD / f"{name}.err").read_bytes(),
    )


@pytest.mark.parametrize(
    ("version", "release", "probes_as"),
    [
        ("1.17", "1.37", (1, 37)),
        ("1.98", "1.43/1.44", (1, 43)),
        ("2.10", "1.46", (1, 46)),
        ("2.13", "1.47", (1, 47)),
        ("2.48", "1.48", (1, 48)),
    ],
)
def test_release_from_sg_inq_version(version, release, probes_as):
    assert release_of(version)[:2] == (release, probes_as)


def test_sg_inq_version_of_1_37_is_its_own_not_the_release():
    text = (OLD / "sg_inq-version.err").read_text()
    assert parse_sg_inq_version(text) == "1.17"
    assert release_of("1.17")[0] == "1.37"


def test_unknown_sg_inq_version_probes_as_the_newest_known_not_newer():
    release, probes_as, basis = release_of("1.50")  # between 1.37's 1.17 and 1.43's 1.98
    assert release is None and probes_as == (1, 37)
    assert "1.50" in basis and "1.37" in basis
    assert release_of("9.99")[1] == (1, 49)
    assert release_of("0.50")[1] == (1, 37)  # older than all: as the oldest
    assert release_of(None)[:2] == (None, None)
    assert differences_for(None) == ()


def test_table_versions_are_in_order():
    ordered = sorted(SG_INQ_RELEASES.values(), key=lambda item: item[1])
    versions = [v for v, _ in sorted(SG_INQ_RELEASES.items(), key=lambda i: i[1][1])]
    assert [tuple(map(int, v.split("."))) for v in versions] == sorted(
        tuple(map(int, v.split("."))) for v in versions
    )
    assert ordered[0][0] == "1.37"


def test_argvs_for_1_37():
    release = (1, 37)
    assert adapt(INQUIRY, release).argv("/dev/sg1") == ["sg_inq", "--raw", "--verbose", "/dev/sg1"]
    assert adapt(READ_CAPACITY_16, release).args == ("--long", "--raw")
    keys = adapt(PR_READ_KEYS, release)
    assert keys.args == ("--no-inquiry", "--in", "--hex", "--hex", "--read-keys")
    assert keys.output == PR_READ_KEYS.output and keys.name == PR_READ_KEYS.name
    assert adapt(REPORT_OPCODES, release) is REPORT_OPCODES
    for spec in write_same_probes(131072, 512, 15):
        args = adapt(spec, release).args
        assert "-t15" in args and "--verbose" in args
        assert not any(arg.startswith("--timeout") for arg in args)
        kept = [a for a in args if a not in ("-t15", "--verbose")]
        assert kept == [a for a in spec.args if a != "--timeout=15"]


@pytest.mark.parametrize("release", [None, (1, 44), (1, 46), (1, 48)])
def test_argvs_of_newer_releases_are_unchanged(release):
    for spec in (INQUIRY, READ_CAPACITY_16, PR_READ_KEYS):
        assert adapt(spec, release) is spec


def test_which_differences_apply_to_which_release():
    codes = {release: [d.code for d in differences_for(release)] for release in
             [(1, 37), (1, 42), (1, 43), (1, 44), (1, 46), (1, 47), (1, 48)]}  # fmt: skip
    assert codes[(1, 44)] == ["nvme_no_read_capacity_16"]
    assert codes[(1, 43)] == ["nvme_no_read_capacity_16"]  # 1.44 is 1.43's code
    assert codes[(1, 42)] == [d.code for d in differences_for((1, 37))
                              if d.code not in ("no_readonly_option",)]  # fmt: skip
    assert codes[(1, 46)] == codes[(1, 47)] == []  # the rig's own release is the yardstick
    assert codes[(1, 48)] == ["nvme_vpd_0xb1"]
    assert "no_nvme_support" in codes[(1, 37)]
    assert all(d.first is None or d.fixed_in is None or d.first < d.fixed_in
               for d in RELEASE_DIFFERENCES)  # fmt: skip


def test_nvme_disks_get_no_probe_from_1_37():
    assert "cannot reach it" in (release_skip_reason((1, 37), ["block", "nvme"]) or "")
    assert release_skip_reason((1, 44), ["block", "nvme"]) is None
    assert release_skip_reason((1, 37), ["block", "scsi"]) is None
    assert release_skip_reason(None, ["block", "nvme"]) is None


@pytest.mark.parametrize("name", ["sg_readcap-readonly", "sg_persist-readonly", "sg_inq-only"])
def test_1_37_usage_message_with_exit_0_is_a_usage_error(name):
    command = captured(name)
    assert command.exit_status == 0  # what 1.37 really does
    outcome, meaning = interpret_command(command, 15, response_due=True)
    assert outcome is Outcome.USAGE_ERROR
    assert "usage" in meaning


def test_exit_0_without_response_bytes_is_no_response():
    command = process.CommandResult(argv=("sg_readcap",), exit_status=0)
    assert interpret_command(command, 15, response_due=True)[0] is Outcome.NO_RESPONSE
    # a probe that owes no bytes (WRITE SAME) may end silently
    assert interpret_command(command, 15, response_due=False)[0] is Outcome.OK


def test_os_error_named_on_stderr_with_exit_99():
    # sg_vpd 1.37 on virtio-blk (measured in the rig): exit 99, the errno only as text
    stderr = (
        b"inquiry: pass through os error: Inappropriate ioctl for device\n"
        b"fetching VPD page failed\n"
    )
    command = process.CommandResult(argv=("sg_vpd",), exit_status=99, stderr=stderr)
    outcome, meaning = interpret_command(command, 15, response_due=True)
    assert outcome is Outcome.PASSTHROUGH_UNAVAILABLE and "ENOTTY" in meaning
    other = process.CommandResult(argv=("sg_vpd",), exit_status=99, stderr=b"fetching VPD failed\n")
    assert interpret_command(other, 15, response_due=True)[0] is Outcome.OTHER_ERROR


def test_lba_out_of_range_of_1_37_is_read_from_the_sense():
    # sg_write_same 1.37 --verbose: exit 5 for LBA OUT OF RANGE, the sense named on stderr
    stderr = (
        b"    Write same(16) cmd: 93 00 00 00 00 00 00 02 00 00 00 00 00 01 00 00\n"
        b"Write same: Fixed format, current;  Sense key: Illegal Request\n"
        b" Additional sense: Logical block address out of range\n"
        b"bad field in Write same(16) cdb, option probably not supported\n"
    )
    command = process.CommandResult(argv=("sg_write_same",), exit_status=5, stderr=stderr)
    assert interpret_command(command, 15)[0] is Outcome.LBA_OUT_OF_RANGE
    invalid = stderr.replace(b"Logical block address out of range", b"Invalid field in cdb")
    command = process.CommandResult(argv=("sg_write_same",), exit_status=5, stderr=invalid)
    assert interpret_command(command, 15)[0] is Outcome.NOT_SUPPORTED


def test_device_data_on_stdout_is_not_taken_for_a_usage_message():
    command = process.CommandResult(
        argv=("sg_inq",), exit_status=0, stdout=b"\x00\x00\x05\x02Usage: sg_invalid option -- x"
    )
    assert interpret_command(command, 15, response_due=True)[0] is Outcome.OK


def _register_1_37(fp, device: str, release: "tuple[int, int] | None") -> None:
    """A fake 1.37: argvs it knows answer as the capture; --readonly / --only get the usage."""
    for spec, name in (
        (INQUIRY, "sg_inq-only"),
        (READ_CAPACITY_16, "sg_readcap-readonly"),
        (PR_READ_KEYS, "sg_persist-readonly"),
    ):
        command = captured(name)
        fp.register(
            spec.argv(device),
            stdout=command.stdout,
            stderr=command.stderr,
            returncode=0,
            occurrences=5,
        )
    register_disk(fp, IET, device, release=release)  # after: the first registration answers


def _scan_iet(tmp_path, fp, sg_inq_version: bytes, release: "tuple[int, int] | None"):
    """Scan only the passed-through LUN of the mixed guest, sg3_utils faked as 1.37 does."""
    fake = kvm_mixed(tmp_path)
    fp.register(["sg_inq", "--version"], stderr=sg_inq_version)
    _register_1_37(fp, "/dev/sg1", release=release)
    return collect(
        ProbeOptions(engine="cli"), names=["sda"], sys=SysRoot(fake.root),
        udev=UdevView(run_dir=fake.p("/run/udev")),
    )  # fmt: skip


def test_scan_with_1_37_adapts_the_argvs_and_names_the_release(tmp_path, fp):
    collection = _scan_iet(tmp_path, fp, b"Version string: 1.17 20130923\n", (1, 37))
    document = build_document(collection)
    sg3 = document["platform"]["sg3_utils"]
    assert (sg3["release"], sg3["sg_inq_version"]) == ("1.37", "1.17")
    assert [d["code"] for d in sg3["differences"]] == [d.code for d in differences_for((1, 37))]
    assert {d["code"] for d in sg3["differences"]} >= {"no_readonly_option", "sg_inq_no_only"}
    probes = {p["name"]: p for p in document["disks"][0]["probes"]}
    assert "--readonly" not in probes["readcap16"]["argv"]
    assert "--only" not in probes["inquiry"]["argv"]
    assert probes["readcap16"]["outcome"] == "ok"
    assert probes["write_same16_oor"]["outcome"] == "lba_out_of_range"  # capacity was known


def test_newest_argvs_against_1_37_are_errors_not_ok(tmp_path, fp):
    # What the scan did before it knew the release: every --readonly probe "succeeded".
    collection = _scan_iet(tmp_path, fp, b"Version string: 2.10 20210328\n", None)
    probes = {p.name: p for p in collection.disks[0].probes}
    for name in ("inquiry", "readcap16", "pr_read_keys"):
        assert probes[name].exit_status == 0
        assert probes[name].outcome == Outcome.USAGE_ERROR.value, name
    assert probes["write_same16_oor"].outcome == Outcome.SKIPPED.value
    assert "capacity unknown" in (probes["write_same16_oor"].skip_reason or "")


def test_table_names_the_release_and_its_differences(tmp_path, fp):

    collection = _scan_iet(tmp_path, fp, b"Version string: 1.17 20130923\n", (1, 37))
    text = table_of(build_document(collection))
    assert "sg3_utils 1.37 (sg_inq version 1.17): differences handled: sg_inq_no_only" in text
    newest = build_document(collection)
    newest["platform"]["sg3_utils"].update(release="1.46", differences=[])
    assert "differences handled" not in table_of(newest)


def test_read_full_status_is_known_to_1_37_and_adapted_like_the_other_pr_in_probes():
    """sg_persist 1.37 (RHEL 7.9) already has --read-full-status (its own usage, captured), and
    prints its header as text like READ KEYS (src/sg_persist.c prin_work: every service action
    but REPORT CAPABILITIES takes the same --hex path): no difference of its own."""
    assert b"--read-full-status" in captured("sg_persist-readonly").stderr
    old = adapt(PR_READ_FULL_STATUS, (1, 37))
    assert "--readonly" not in old.args and old.args[-1] == "--read-full-status"
    assert old.args == (*adapt(PR_READ_KEYS, (1, 37)).args[:-1], "--read-full-status")
    assert adapt(PR_READ_FULL_STATUS, (1, 46)) == PR_READ_FULL_STATUS
