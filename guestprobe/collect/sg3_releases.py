"""Which sg3_utils release runs here, and what guestprobe does differently for it.

``sg_inq --version`` prints sg_inq's *own* version and date (``Version string: 1.17 20130923``),
not the package's release: :data:`SG_INQ_RELEASES` maps it to the release that shipped it
(checked against ``src/sg_inq.c`` of the upstream release tarballs). An sg_inq version that is
not in the table is placed by its number: the probes are adapted as for the newest known release
not newer than it (a version older than all of them: as for the oldest).

:data:`RELEASE_DIFFERENCES` is the one table of what a release does differently from the
sg3_utils the rig's scans are compared with (Debian 12's 1.46), measured by running the rig's
scenarios with each release first on the guest's PATH (``tests/vm/test_sg3_matrix.py``). An entry
applies to the releases from ``first`` to before ``fixed_in``; its ``drops``, ``replaces`` and
``adds`` change the argvs for them (:func:`adapt`): the same command is sent with the same
allocation length, only the way the tool opens the device or what else it prints differs.
The report's ``platform.sg3_utils.differences`` lists the entries that apply.
Measured were 1.37, 1.44 (the same code as 1.43), 1.46, 1.47 and 1.48: an entry seen in 1.37 and
not in 1.44 is said to end at 1.43 (where the releases in between stand was not measured; the
argv adaptations are harmless there).
"""


import re
from dataclasses import dataclass
from typing import Any

from guestprobe.collect.sg3 import ProbeSpec

# sg_inq's own version -> (the release as reported, the oldest release it may be)
SG_INQ_RELEASES = {
    "1.17": ("1.37", (1, 37)),
    "1.98": ("1.43/1.44", (1, 43)),
    "2.05": ("1.45", (1, 45)),
    "2.10": ("1.46", (1, 46)),
    "2.13": ("1.47", (1, 47)),
    "2.48": ("1.48", (1, 48)),
    "2.65": ("1.49", (1, 49)),
}


@dataclass(frozen=True)
class ReleaseDifference:
    """Releases from ``first`` (None: every older one) up to before ``fixed_in`` (None: every
    newer one) do ``what``; guestprobe does ``handling``."""

    code: str
    first: "tuple[int, int] | None"
    fixed_in: "tuple[int, int] | None"
    what: str
    handling: str
    drops: "tuple[tuple[str, str], ...]" = ()  # (tool, option) left out of older releases' argvs
    # (tool, option prefix, replacement prefix): "--timeout=15" -> "-t15"
    replaces: "tuple[tuple[str, str, str], ...]" = ()
    adds: "tuple[tuple[str, str], ...]" = ()  # (tool, option) added before the device
    # What it changes in a report against 1.46's, as globs over the paths of
    # tests/vm/sg3_matrix.report_view ("disk:<transport>:<name>:facts...", "guest:<feature>...").
    explains: "tuple[str, ...]" = ()
    skips_subsystem: "str | None" = None  # disks on this subsystem get no probe at all
    seen_in: str = "1.37"  # the release the rig measured it in

    def applies(self, release: "tuple[int, int]") -> bool:
        return (self.first is None or release >= self.first) and (
            self.fixed_in is None or release < self.fixed_in
        )

    def to_dict(self) -> "dict[str, Any]":
        return {
            "code": self.code,
            "releases": _span(self.first, self.fixed_in),
            "what": self.what,
            "handling": self.handling,
        }


def release_text(release: "tuple[int, int]") -> str:
    return f"{release[0]}.{release[1]}"


def _span(first: "tuple[int, int] | None", fixed_in: "tuple[int, int] | None") -> str:
    """``(None, (1, 43))`` -> ``before 1.43``; ``((1, 43), (1, 46))`` -> ``1.43 to before 1.46``."""
    low = None if first is None else release_text(first)
    high = None if fixed_in is None else release_text(fixed_in)
    if low and high:
        return f"{low} to before {high}"
    return f"{low} and later" if low else f"before {high}"


RELEASE_DIFFERENCES = (
    ReleaseDifference(
        "sg_inq_no_only",
        None,
        (1, 43),
        "sg_inq has no --only (added in 1.43): given it, it prints its usage and exits 0",
        "sg_inq --raw is sent without --only: the same standard INQUIRY (with --raw, 1.37"
        " fetches no serial number page either)",
        drops=(("sg_inq", "--only"),),
    ),
    ReleaseDifference(
        "no_readonly_option",
        None,
        (1, 39),
        "sg_readcap and sg_persist have no --readonly (added in 1.39): given it, they print"
        " their usage and exit 0",
        "sent without --readonly (the device is opened read-write): the same READ CAPACITY(16)"
        " and PERSISTENT RESERVE IN",
        drops=(("sg_readcap", "--readonly"), ("sg_persist", "--readonly")),
    ),
    ReleaseDifference(
        "os_error_exit_99",
        None,
        (1, 43),
        "an operating system error of SG_IO (ENOTTY: virtio-blk) exits 99 ('other'), not 50 +"
        " errno (added in 1.43); sg_inq says nothing about it without --verbose",
        "sg_inq gets --verbose; the errno is read from the tool's 'pass through os error:"
        " <strerror>' line on stderr, so the outcome is the same as with 50 + errno",
        adds=(("sg_inq", "--verbose"),),
    ),
    ReleaseDifference(
        "lba_out_of_range_exit_5",
        None,
        (1, 43),
        "LBA OUT OF RANGE exits 5 (illegal request, 'bad field in cdb'), as an unsupported field"
        " does, not 22 (added in 1.43); the sense is shown only with --verbose",
        "sg_write_same gets --verbose: 'Logical block address out of range' (the T10 name of"
        " ASC 21h/00h) in the sense it prints makes the outcome lba_out_of_range",
        adds=(("sg_write_same", "--verbose"),),
        explains=("disk:*:*:facts.write_same.*.exit_status",),
    ),
    ReleaseDifference(
        "sg_write_same_timeout_option",
        None,
        (1, 43),
        "sg_write_same refuses --timeout=N ('unrecognised option code 0x72', exit 1): its long"
        " option is wired to the wrong letter",
        "the short form -tN is sent: the same WRITE SAME with the same timeout",
        replaces=(("sg_write_same", "--timeout=", "-t"),),
    ),
    ReleaseDifference(
        "pr_in_header_as_text",
        None,
        (1, 43),
        "sg_persist --hex prints the PR IN header as text (PR generation=0x.., Additional"
        " length=N) and dumps only the bytes after it",
        "the 8-byte header is rebuilt from those two numbers before decoding",
    ),
    ReleaseDifference(
        "no_nvme_support",
        None,
        (1, 43),
        "no NVMe support (added in 1.43): SG_IO on an NVMe namespace fails with ENOTTY",
        "NVMe disks get no probe (skipped, with this reason): their verdicts are unknown, not"
        " not_usable",
        explains=("disk:nvme:*", "guest:fencing_readiness.*"),
        skips_subsystem="nvme",
    ),
    ReleaseDifference(
        "sg_opcodes_honours_no_inquiry",
        None,
        (1, 43),
        "sg_opcodes sends its standard INQUIRY (with --no-inquiry too) on a read-only open of"
        " its own and REPORT SUPPORTED OPERATION CODES on a second, read-write one, printed as"
        " long as its header says (1.44 and later: both on one read-only open, the bytes that"
        " came); libata (kernel 6.1) answers REPORT SUPPORTED OPERATION CODES with whatever the"
        " previous command left in its buffer, so on SATA disks the answer differs: an empty"
        " list here, the INQUIRY data (a decode error) with 1.44 to 1.48",
        "none needed: libata's answer is junk either way, and no verdict reads it on SATA",
        explains=("disk:ata:*:facts.supported_opcodes.*", "disk:ata:*:facts.decode_errors"),
    ),
    ReleaseDifference(
        "nvme_no_read_capacity_16",
        (1, 43),
        (1, 46),
        "on NVMe, sg3_utils' SCSI translation has no READ CAPACITY(16) (INVALID OPCODE) and"
        " lists 10 commands in REPORT SUPPORTED OPERATION CODES, not 23 (1.45 not measured)",
        "capacity unknown: no WRITE SAME probe is sent (never blind) and thin_reclaim is"
        " unknown, naming the missing fact",
        explains=(
            "disk:nvme:*:facts.capacity.*",
            "disk:nvme:*:facts.supported_opcodes.*",
            "disk:nvme:*:facts.write_same.*",
            "disk:nvme:*:verdicts.thin_reclaim.*",
        ),
        seen_in="1.44",
    ),
    ReleaseDifference(
        "nvme_vpd_0xb1",
        (1, 48),
        None,
        "on NVMe, sg3_utils' SCSI translation adds VPD page 0xB1 (Block Device"
        " Characteristics: non-rotating)",
        "decoded like any other page",
        explains=(
            "disk:nvme:*:facts.block_device_characteristics.*",
            "disk:nvme:*:facts.identity.supported_vpd_pages",
        ),
        seen_in="1.48",
    ),
)


def parse_sg_inq_version(text: str) -> "str | None":
    """``Version string: 2.10 20210328`` -> ``2.10``."""
    match = re.search(r"(\d+\.\d+)\s+\d{8}", text)
    return match.group(1) if match else None


def _number(version: str) -> "tuple[int, ...]":
    return tuple(int(part) for part in version.split("."))


def release_of(sg_inq_version: "str | None") -> "tuple[str | None, tuple[int, int] | None, str]":
    """(release as reported or None, the release whose argvs to use, how it was found)."""
    if sg_inq_version is None:
        return None, None, "sg_inq --version printed no version: the newest argvs are used"
    if sg_inq_version in SG_INQ_RELEASES:
        name, oldest = SG_INQ_RELEASES[sg_inq_version]
        return name, oldest, f"sg_inq version {sg_inq_version}"
    known = sorted(SG_INQ_RELEASES.items(), key=lambda item: _number(item[0]))
    older = [item for item in known if _number(item[0]) < _number(sg_inq_version)]
    name, basis = (older[-1] if older else known[0])[1]
    return (
        None,
        basis,
        f"sg_inq version {sg_inq_version} is not in guestprobe's table: probes as for {name}",
    )


def differences_for(release: "tuple[int, int] | None") -> "tuple[ReleaseDifference, ...]":
    """The entries of :data:`RELEASE_DIFFERENCES` that apply (none for an unknown release)."""
    if release is None:
        return ()
    return tuple(d for d in RELEASE_DIFFERENCES if d.applies(release))


def release_skip_reason(release: "tuple[int, int] | None", subsystems: "list[str]") -> "str | None":
    """Why a disk on ``subsystems`` gets no probe from this sg3_utils release; None: it does."""
    for difference in differences_for(release):
        if difference.skips_subsystem in subsystems:
            return f"sg3_utils {release_text(release)} cannot reach it: {difference.what}"  # type: ignore[arg-type]
    return None


def adapt(spec: "ProbeSpec", release: "tuple[int, int] | None") -> "ProbeSpec":
    """``spec`` with its options as ``release`` knows them (dropped, replaced, added)."""
    found = [d for d in differences_for(release) if any(
        entry[0] == spec.tool for entry in (*d.drops, *d.replaces, *d.adds))]  # fmt: skip
    if not found:
        return spec
    args = list(spec.args)
    for difference in found:
        args = [arg for arg in args if (spec.tool, arg) not in difference.drops]
        for tool, old, new in difference.replaces:
            if tool == spec.tool:
                args = [new + arg[len(old) :] if arg.startswith(old) else arg for arg in args]
        args += [option for tool, option in difference.adds if tool == spec.tool]
    return ProbeSpec(spec.name, spec.tool, tuple(args), spec.output, spec.writes_medium)
