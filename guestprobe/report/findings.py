"""The answer a person reads, as a small typed model built from the typed report. Pure.

This is the ONE place the text and HTML renderers read the report (a
:class:`~guestprobe.document.model.Report`): :func:`build_report_view` turns it into the view's
dataclasses, and :mod:`.terminal` and :mod:`.html` only ever see those. Strings stay as the
report has them (device strings included); escaping is the renderers' job (:mod:`.escape`).

* a :class:`VerdictView` per disk and feature (a cell of the matrix) and per guest-wide feature,
  with its reasons, the facts it rests on in words (transport, identity, the probes' outcomes,
  who holds a reservation, the holder's key decoded to Veritas cluster and node), its evidence
  (every cited probe with command, exit status, raw bytes, and the decoded fact groups) and
  its remedies;
* a :class:`Finding` for every verdict that is not ``usable``, one per LU where all paths of
  an LU share the same verdict, else one per disk; usable verdicts with a caveat (a note, or a
  remedy offered all the same) become one-line caveats;
* every :class:`Fix` once, with the subjects (disk or LU, and feature) it applies to.
"""


import re
import shlex
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from guestprobe.check.conditions import MISSING, resolve
from guestprobe.document.verdict import Reason

if TYPE_CHECKING:  # pragma: no cover
    from guestprobe.collect.probe import ProbeResult
    from guestprobe.document.model import DiskReport, PersistentReservations, Report
    from guestprobe.document.verdict import Remedy, Verdict

USABLE, DEGRADED, NOT_USABLE, UNKNOWN = "usable", "degraded", "not_usable", "unknown"
# the order findings are listed in: I/O fencing first, then the worst first
SEVERITY = {NOT_USABLE: 0, DEGRADED: 1, UNKNOWN: 2, USABLE: 3}
FENCING_FEATURES = ("pr_fencing", "fencing_readiness", "raw_io")
STATUS_WORDS = {
    USABLE: "usable",
    DEGRADED: "DEGRADED",
    NOT_USABLE: "NOT USABLE",
    UNKNOWN: "UNKNOWN",
}
PLATFORM_WORDS = {
    "libvirt": "libvirt host (virsh edit / domain XML)",
    "kubevirt": "KubeVirt",
    "ovirt": "oVirt / RHV",
    "guest": "in the guest",
    "infoscale": "InfoScale configuration",
}
GUEST = "guest"
NOT_REPORTED = "(not in the report)"


@dataclass
class ProbeEvidence:
    """One probe a verdict cites: what was sent, how it ended, the raw answer."""

    id: str
    source: str  # sg3_utils, sysfs, none
    command: str  # the argv as one would type it, or the sysfs file, or why it was skipped
    exit_status: "int | None"
    exit_meaning: "str | None"
    outcome: "str | None"
    duration_s: "float | None"
    stderr: str
    raw: bytes  # the response bytes (parsed from the tool's own hex dump where it printed one)
    raw_damaged: bool = False  # not decodable as stored (an edited report): shown as text
    printed_as_hexdump: bool = False  # the tool printed its answer as a hex dump (sg_persist)


@dataclass
class FactGroup:
    """Decoded fields (dotted path -> value text) of a fact group, or one cited fact."""

    name: str
    fields: "list[tuple[str, str]]"


@dataclass
class VerdictView:
    subject: str  # disk name, or "guest"
    feature: str
    title: str
    status: str
    reasons: "list[Reason]"
    facts: "list[tuple[str, str]]"  # the facts it rests on, in words: (label, value)
    probes: "list[ProbeEvidence]"
    decoded: "list[FactGroup]"
    remedies: "list[int]"  # indexes into ReportView.remedies
    missing: "list[str]"
    guide_section: str

    @property
    def codes(self) -> "list[str]":
        return [reason.code for reason in self.reasons]

    @property
    def has_caveat(self) -> bool:
        return self.status == USABLE and (len(self.reasons) > 1 or bool(self.remedies))


@dataclass
class Fix:
    platform: str
    text: str
    # whom it is for: (disks or "guest", feature), in the order the findings name them
    applies_to: "list[tuple[str, str]]" = field(default_factory=list)

    @property
    def platform_words(self) -> str:
        return PLATFORM_WORDS.get(self.platform, self.platform)

    @property
    def headline(self) -> str:
        """The remedy's first sentence: its prose up to the first full stop or colon."""
        prose = []
        for line in self.text.split("\n"):
            if line[:1].isspace() or (prose and not line.strip()):
                break
            prose.append(line.strip())
        return first_clause(" ".join(p for p in prose if p))


def first_clause(text: str) -> str:
    """A text up to its first full stop or colon outside brackets: the words that matter."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and char in ".:" and text[index + 1:index + 2] in ("", " "):
            return text[: index + (char == ".")]
    return text


@dataclass
class Finding:
    """A verdict that is not usable (or usable with a caveat), for a disk, an LU or the guest."""

    subject: str  # "sda", "LU naa.6… (sda, sdb)", "guest"
    disks: "list[str]"
    verdict: "VerdictView"  # of the first disk; the others' are the same


@dataclass
class DiskRow:
    name: str
    dev_path: str
    transport: str
    identity: str
    lu_designator: str
    size_bytes: "int | None"
    status: str
    by_id: "list[str]"
    outcomes: "dict[str, str]"  # probe outcome of inquiry, pr_read_keys, write_same16_oor
    verdicts: "dict[str, VerdictView]"  # feature -> verdict
    holder: str = ""  # who holds a reservation, short: "VF1A2B03: cluster 6699, node 3"


@dataclass
class LuGroup:
    lu_designator: str
    disks: "list[str]"


@dataclass
class PlatformLines:
    """The platform and versions, in words: the page's table and the header's line."""

    host_name: str = ""
    hypervisor: str = ""
    dmi: str = ""
    kernel: str = ""
    sg3_utils: str = ""
    udev_database: str = ""
    virtio_devices: str = ""
    collected_by: str = ""
    scan_started: str = ""
    judged_by: str = ""

    def rows(self) -> "list[tuple[str, str]]":
        """(label, value) of each known line, in order."""
        rows = [
            ("host name", self.host_name), ("hypervisor", self.hypervisor), ("DMI", self.dmi),
            ("kernel", self.kernel), ("sg3_utils", self.sg3_utils),
            ("udev database", self.udev_database), ("VirtIO devices", self.virtio_devices),
            ("collected by guestprobe", self.collected_by), ("scan started", self.scan_started),
            ("judged by", self.judged_by),
        ]
        return [(label, value) for label, value in rows if value]


@dataclass
class ReportView:
    features: "list[str]"
    feature_titles: "dict[str, str]"
    disks: "list[DiskRow]"
    lu_groups: "list[LuGroup]"
    guest_verdicts: "list[VerdictView]"
    findings: "list[Finding]"
    caveats: "list[Finding]"
    remedies: "list[Fix]"
    platform: "PlatformLines"
    hostname: str
    generated_at: str
    scan_summary: str
    complete: bool
    redacted: bool
    sg3_note: str = ""  # the sg3_utils release's differences guestprobe handled, if any


# -- reading the report -----------------------------------------------------------------------
def _text(value: "Any") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _flatten(value: "Any", prefix: str, out: "list[tuple[str, str]]") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "evidence":
                _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}[{index}]", out)
    else:
        words = "(none)" if value == [] else NOT_REPORTED if value is None else _text(value)
        out.append((prefix or "value", words or NOT_REPORTED))


def _response(probe: "ProbeResult") -> "tuple[bytes, bool]":
    """The probe's response bytes, as the decoders read them; (bytes, damaged)."""
    from guestprobe.decode import DecodeError

    if not probe.stdout_hex:
        return b"", False
    try:
        return probe.response_bytes(), False
    except (DecodeError, ValueError):
        try:
            return bytes.fromhex(probe.stdout_hex), True
        except ValueError:
            return probe.stdout_hex.encode("utf-8", "replace"), True


def _probe(probe_id: str, probe: "ProbeResult") -> "ProbeEvidence":
    if probe.argv:
        command = " ".join(shlex.quote(str(a)) for a in probe.argv)
    elif probe.sysfs_file:
        command = f"read {probe.sysfs_file} (the kernel's copy)"
    else:
        command = f"not sent: {probe.skip_reason or 'skipped'}"
    raw, damaged = _response(probe)
    return ProbeEvidence(
        id=probe_id,
        source=probe.source,
        command=command,
        exit_status=probe.exit_status,
        exit_meaning=probe.exit_meaning,
        outcome=probe.outcome,
        duration_s=probe.duration_s,
        stderr=probe.stderr,
        raw=raw,
        raw_damaged=damaged,
        printed_as_hexdump=probe.output_format == "hex",
    )


def _key_words(key_hex: str) -> str:
    """A PR key in words (:func:`guestprobe.decode.persist.describe_key`)."""
    from guestprobe.decode.persist import describe_key

    try:
        return describe_key(int(key_hex, 16))
    except (TypeError, ValueError):
        return f"0x{key_hex}"


def _held(pr: "PersistentReservations") -> "Any":
    """The reservation READ RESERVATION found held, or None."""
    return None if pr.reservation is None else pr.reservation.reservation


def _holder(pr: "PersistentReservations") -> str:
    """The reservation holder in a few words ("" where none is held, or PR IN was not read)."""
    from guestprobe.decode.persist import holder_words

    held = _held(pr)
    return holder_words(held.key_hex) if held is not None and held.key_hex else ""


def _pr_facts(pr: "PersistentReservations") -> "list[tuple[str, str]]":
    facts = []
    held = _held(pr)
    if held is not None and held.key_hex:
        facts.append((
            "reservation holder",
            f"{held.type_name or held.type_code} held by key " + _key_words(held.key_hex),
        ))
    elif pr.reservation is not None:
        facts.append(("reservation", "none held"))
    keys = [] if pr.keys is None else pr.keys.keys_hex
    holder_key = None if held is None else held.key_hex
    if keys:
        facts.append((
            "registered keys",
            "; ".join(f"0x{k} (the holder's)" if k == holder_key else _key_words(k)
                      for k in keys),
        ))
    return facts


def _probe_outcome(probe: "ProbeEvidence") -> str:
    if probe.source == "none":
        return "not sent"
    words = probe.outcome or "-"
    if probe.exit_status is not None:
        words += f" (exit {probe.exit_status}"
        words += f", {probe.exit_meaning})" if probe.exit_meaning else ")"
    return words


class _Builder:
    def __init__(self, report: "Report") -> None:
        self.report = report
        self.remedies: "list[Fix]" = []
        self._guest: "dict[str, Any] | None" = None
        self._disk_json: "dict[int, dict[str, Any]]" = {}

    def remedy_index(self, entry: "Remedy") -> int:
        platform, text = entry.platform, entry.text.strip()
        for index, remedy in enumerate(self.remedies):
            if (remedy.platform, remedy.text) == (platform, text):
                return index
        self.remedies.append(Fix(platform, text))
        return len(self.remedies) - 1

    def cited_fact(self, disk: "DiskReport | None", path: str) -> "Any":
        """A fact a verdict cites outside the probes ("sda/transport.kind",
        "guest/platform.…"), in the report's JSON form; None where the report lacks it."""
        if disk is None:
            source = self.guest_context()
        else:
            source = self._disk_json.get(id(disk))
            if source is None:
                source = self._disk_json[id(disk)] = disk.to_dict()
        value = resolve(source, path)
        return None if value is MISSING else value

    def verdict(self, raw: "Verdict", disk: "DiskReport | None") -> "VerdictView":
        subject = disk.name if disk is not None else GUEST
        probes_by_id = {} if disk is None else {f"{disk.name}/{p.name}": p for p in disk.probes}
        fact_groups = [] if disk is None else disk.facts.cited_groups()
        probes: "list[ProbeEvidence]" = []
        decoded: "list[FactGroup]" = []
        cited_groups: "list[str]" = []
        groups_json: "dict[str, Any]" = {}
        for evidence_id in raw.evidence:
            if evidence_id in probes_by_id:
                probes.append(_probe(evidence_id, probes_by_id[evidence_id]))
                for name, group in fact_groups:
                    if evidence_id in group.evidence and name not in cited_groups:
                        cited_groups.append(name)
                        groups_json[name] = group.to_dict()
                continue
            _, _, path = evidence_id.partition("/")
            fields: "list[tuple[str, str]]" = []
            _flatten(self.cited_fact(disk, path), "", fields)
            if any(value != NOT_REPORTED for _, value in fields):  # no box of nothing
                decoded.append(FactGroup(path or evidence_id, fields))
        groups = []
        for name in cited_groups:
            fields = []
            _flatten(groups_json[name], "", fields)
            groups.append(FactGroup(f"facts.{name}", fields))
        decoded = groups + decoded
        facts = self.verdict_facts(disk, probes) if disk is not None else []
        return VerdictView(
            subject=subject,
            feature=raw.feature,
            title=raw.title or raw.feature,
            status=raw.status or UNKNOWN,
            reasons=list(raw.reasons),
            facts=facts,
            probes=probes,
            decoded=decoded,
            remedies=[self.remedy_index(r) for r in raw.remediation],
            missing=list(raw.missing),
            guide_section=raw.guide_section,
        )

    def guest_context(self) -> "dict[str, Any]":
        from guestprobe.check.derived import guest_derived

        if self._guest is None:
            self._guest = {"platform": self.report.platform.to_dict(),
                           "guest": guest_derived(self.report)}
        return self._guest

    @staticmethod
    def verdict_facts(
        disk: "DiskReport",
        probes: "list[ProbeEvidence]",
    ) -> "list[tuple[str, str]]":
        facts = [("transport", _transport(disk))]
        identity = disk.facts.identity.vendor_product
        if identity:
            facts.append(("identity", identity))
        sent = [p for p in probes if p.source in ("sg3_utils", "none")]
        if sent:
            facts.append(
                (
                    "probes",
                    "; ".join(f"{p.id.split('/', 1)[-1]} {_probe_outcome(p)}" for p in sent),
                )
            )
        if any(p.id.endswith(("/pr_read_reservation", "/pr_read_keys")) for p in probes):
            facts.extend(_pr_facts(disk.facts.persistent_reservations))
        return facts


def _transport(disk: "DiskReport") -> str:
    transport = disk.transport
    words = transport.kind or "?"
    if transport.mode:
        words += f"/{transport.mode}"
    if transport.detail:
        words += f" ({transport.detail})"
    return words


def _outcomes(disk: "DiskReport") -> "dict[str, str]":
    facts = disk.facts
    return dict(
        inquiry=_text(facts.passthrough.inquiry_outcome),
        pr_in=_text(facts.persistent_reservations.read_keys_outcome),
        ws16=_text(facts.write_same.write_same16_oor.outcome),
    )


def _same(a: "VerdictView", b: "VerdictView") -> bool:
    return (a.status, [(r.code, r.text) for r in a.reasons], a.remedies) == (
        b.status,
        [(r.code, r.text) for r in b.reasons],
        b.remedies,
    )


def _platform(report: "Report") -> "PlatformLines":
    platform, scan, tool = report.platform, report.scan, report.tool
    sg3 = _Sg3(platform.sg3_utils)
    return PlatformLines(
        host_name=_text(platform.hostname),
        hypervisor=_text(platform.hypervisor),
        dmi=" ".join(filter(None, (platform.dmi_sys_vendor, platform.dmi_product_name))),
        kernel=_text(platform.kernel_release),
        sg3_utils=" ".join(filter(None, [
            _text(sg3.release), f"(sg_inq {sg3.sg_inq_version})" if sg3.sg_inq_version else ""
        ])),
        udev_database="populated" if platform.udev_database_populated else "not populated",
        virtio_devices=", ".join(
            f"{_text(v.name)} ({_text(v.kind)})" for v in platform.virtio_devices
        ) or "none",
        collected_by=_text(scan.collected_by_version),
        scan_started=_text(scan.started_at),
        judged_by=f"{tool.name} {tool.version}, report schema {report.schema_version}",
    )


class _Sg3:
    """sg3_utils' facts of the platform (``platform.sg3_utils``: the collector's own dict)."""

    def __init__(self, facts: "dict[str, Any]") -> None:
        # (a dict of the collector's, not checked field by field when a report is read back)
        self.release = facts.get("release")
        self.sg_inq_version = facts.get("sg_inq_version")
        self.release_basis = facts.get("release_basis")
        differences = facts.get("differences")
        self.differences = [_text(d.get("code")) if isinstance(d, dict) else ""
                            for d in (differences if isinstance(differences, list) else [])]


def _sg3_note(report: "Report") -> str:
    """One line on the sg3_utils release when it differs from the newest (or is unknown)."""
    sg3 = _Sg3(report.platform.sg3_utils)
    if not sg3.differences and not (sg3.sg_inq_version and not sg3.release):
        return ""
    return (
        f"sg3_utils {_text(sg3.release) or 'release unknown'} "
        f"({_text(sg3.release_basis)}): differences handled: "
        f"{', '.join(sg3.differences) or 'none'} (platform.sg3_utils.differences in the JSON "
        "report)"
    )


def build_report_view(report: "Report", redacted: bool = False) -> "ReportView":
    """The model of a judged report (see the module docstring)."""
    builder = _Builder(report)
    features: "list[str]" = []
    titles: "dict[str, str]" = {}
    disks: "list[DiskRow]" = []
    for disk in report.disks:
        verdicts = {}
        for raw in disk.verdicts:
            verdict = builder.verdict(raw, disk)
            verdicts[verdict.feature] = verdict
            if verdict.feature not in features:
                features.append(verdict.feature)
                titles[verdict.feature] = verdict.title
        identity = disk.facts.identity
        disks.append(
            DiskRow(
                name=disk.name,
                dev_path=disk.dev_path,
                transport=_transport(disk),
                identity=identity.vendor_product,
                lu_designator=_text(identity.lu_designator),
                size_bytes=disk.size_bytes,
                status=disk.status,
                by_id=list(disk.by_id),
                outcomes=_outcomes(disk),
                verdicts=verdicts,
                holder=_holder(disk.facts.persistent_reservations),
            )
        )
    groups = [LuGroup(lu.lu_designator, list(lu.disks)) for lu in report.logical_units]
    guest_verdicts = [builder.verdict(raw, None) for raw in report.guest_verdicts]
    findings, caveats = _findings(features, disks, groups, guest_verdicts, builder.remedies)
    scan = report.scan
    count = scan.disk_count
    summary = (
        f"{count} {'disk' if count == 1 else 'disks'} in {scan.duration_s:.1f} s"
        f", {scan.processes_started} processes"
    )
    return ReportView(
        features=features,
        feature_titles=titles,
        disks=disks,
        lu_groups=groups,
        guest_verdicts=guest_verdicts,
        findings=findings,
        caveats=caveats,
        remedies=builder.remedies,
        platform=_platform(report),
        hostname=_text(report.platform.hostname),
        generated_at=report.generated_at,
        scan_summary=summary,
        complete=scan.complete,
        redacted=redacted,
        sg3_note=_sg3_note(report),
    )


def _findings(
    features: "list[str]",
    disks: "list[DiskRow]",
    groups: "list[LuGroup]",
    guest_verdicts: "list[VerdictView]",
    remedies: "list[Fix]",
) -> "tuple[list[Finding], list[Finding]]":
    by_name = {disk.name: disk for disk in disks}
    lu_of = {}
    for group in groups:
        if len(group.disks) > 1:
            for name in group.disks:
                lu_of[name] = group
    findings: "list[Finding]" = []
    caveats: "list[Finding]" = []
    for feature in features:
        done: "set[str]" = set()
        per_feature: "list[Finding]" = []
        for disk in disks:
            verdict = disk.verdicts.get(feature)
            if verdict is None or disk.name in done:
                continue
            subject, names = disk.name, [disk.name]
            group = lu_of.get(disk.name)
            if group is not None:
                others = [by_name[n].verdicts.get(feature) for n in group.disks if n in by_name]
                if len(others) == len(group.disks) and all(
                    o is not None and _same(verdict, o) for o in others
                ):
                    names = list(group.disks)
                    subject = f"LU {group.lu_designator} ({', '.join(names)})"
                else:
                    subject = f"{disk.name} (a path to LU {group.lu_designator})"
            done.update(names)
            merged = _merge(Finding(subject, names, verdict), per_feature)
            if merged is not None:
                per_feature.append(merged)
        for finding in per_feature:
            _classify(finding, findings, caveats)
    for verdict in guest_verdicts:
        _classify(Finding(GUEST, [], verdict), findings, caveats)
    findings.sort(key=_finding_order)
    _number_remedies(findings + caveats, [*(v for d in disks for v in d.verdicts.values()),
                                          *guest_verdicts], remedies)
    for remedy in remedies:
        _fill_placeholders(remedy, by_name)
    return findings, caveats


_MPATH_PREFIX = {"naa.": "3", "eui.": "2"}  # the host's dm-multipath WWID: scsi_id's prefix


def _wwid(disk: "DiskRow") -> str:
    prefix = _MPATH_PREFIX.get(disk.lu_designator[:4])
    return prefix + disk.lu_designator[4:] if prefix else ""


def _fill_placeholders(remedy: "Fix", disks: "dict[str, DiskRow]") -> None:
    """The domain XML's placeholders filled with what the report knows: for a remedy of one
    disk, the host's multipath WWID from its LU designator and the target from its name; for
    several, the WWID of each disk whose LU designator is known, listed under it."""
    if "dm-uuid-mpath-WWID" not in remedy.text:
        return
    names = []
    for who, _ in remedy.applies_to:
        names += [n for n in who.split(", ") if n in disks and n not in names]
    if len(names) == 1:
        disk = disks[names[0]]
        if _wwid(disk):
            remedy.text = remedy.text.replace("dm-uuid-mpath-WWID", f"dm-uuid-mpath-{_wwid(disk)}")
        if disk.name.startswith("sd"):
            remedy.text = remedy.text.replace("dev='sdb'", f"dev='{disk.name}'")
        return
    remedy.text = remedy.text.replace("dev='sdb'", "dev='sdX'")
    known = [f"{n}: {_wwid(disks[n])}" for n in names if _wwid(disks[n])]
    if known:
        remedy.text += "\nWWID, where the guest sees the LU's designator: " + "; ".join(known) + "."


def _finding_order(finding: "Finding") -> "tuple[int, int]":
    feature = finding.verdict.feature
    rank = FENCING_FEATURES.index(feature) if feature in FENCING_FEATURES else 9
    return rank, SEVERITY.get(finding.verdict.status, 9)


def _merge(finding: "Finding", listed: "list[Finding]") -> "Finding | None":
    """Disks (or LUs) whose verdict reads the same, word for word and fact for fact, share one
    finding (a guest with 64 alike scsi-hd disks gets one line per feature, not 64): the
    finding is added to the first such one in ``listed``, and None returned; else the finding."""
    for other in listed:
        if _same(other.verdict, finding.verdict) and other.verdict.facts == finding.verdict.facts:
            other.disks += finding.disks
            lu = " (" in other.subject + finding.subject  # "LU naa.… (sda, sdb)"
            other.subject += ("; " if lu else ", ") + finding.subject
            return None
    return finding


def _number_remedies(
    listed: "list[Finding]", verdicts: "list[VerdictView]", remedies: "list[Fix]"
) -> None:
    """Number the remedies in the order the findings first name them; note whom each is for."""
    order: "list[int]" = []
    for finding in listed:
        for index in finding.verdict.remedies:
            if index not in order:
                order.append(index)
    order += [i for i in range(len(remedies)) if i not in order]
    renumber = {old: new for new, old in enumerate(order)}
    remedies[:] = [remedies[old] for old in order]
    for verdict in verdicts:
        verdict.remedies = [renumber[i] for i in verdict.remedies]
    for finding in listed:
        for index in finding.verdict.remedies:
            label = (", ".join(finding.disks) or GUEST, finding.verdict.feature)
            if label not in remedies[index].applies_to:
                remedies[index].applies_to.append(label)


def _classify(finding: "Finding", findings: "list[Finding]", caveats: "list[Finding]") -> None:
    if finding.verdict.status != USABLE:
        findings.append(finding)
    elif finding.verdict.has_caveat:
        caveats.append(finding)


def narrow_report(
    report: "Report",
    disks: "tuple[str, ...]" = (),
    features: "tuple[str, ...]" = (),
) -> "Report":
    """The report as far as ``disks`` (names or /dev paths) and ``features`` (ids, or their
    titles) go, for a report on one disk or one feature; the guest-wide verdicts stay unless a
    feature is named. ValueError names what is not in the report and what is."""
    chosen_disks = list(report.disks)
    units = list(report.logical_units)
    guest_verdicts = list(report.guest_verdicts)
    if disks:
        wanted = {name[5:] if name.startswith("/dev/") else name for name in disks}
        known = [d.name for d in chosen_disks]
        unknown = sorted(wanted - set(known))
        if unknown:
            raise ValueError(f"no disk {', '.join(unknown)} in this report "
                             f"(it has {', '.join(known) or 'none'})")
        chosen_disks = [d for d in chosen_disks if d.name in wanted]
        units = [replace(u, disks=[n for n in u.disks if n in wanted])
                 for u in units if set(u.disks) & wanted]
    if features:
        verdicts = [v for d in report.disks for v in d.verdicts] + guest_verdicts
        names = {}
        for verdict in verdicts:
            names[verdict.feature.lower()] = verdict.feature
            names[verdict.title.lower()] = verdict.feature
        chosen = set()
        for name in features:
            feature = names.get(name.lower().replace("-", "_")) or names.get(name.lower())
            if feature is None:
                known = sorted({v.feature for v in verdicts})
                raise ValueError(f"no feature {name} in this report (it has {', '.join(known)})")
            chosen.add(feature)
        chosen_disks = [replace(d, verdicts=[v for v in d.verdicts if v.feature in chosen])
                        for d in chosen_disks]
        guest_verdicts = [v for v in guest_verdicts if v.feature in chosen]
    return replace(report, disks=chosen_disks, logical_units=units,
                   guest_verdicts=guest_verdicts)


GUIDE = "Veritas InfoScale 8.0.2 Virtualization Guide for Linux"
GUIDE_SECTION = "VirtIO disk drives"


def guide_parts(section: str) -> "list[tuple[str, str]]":
    """A rule's guide_section as (English, the Japanese original) per part: the rules write
    the guide's Japanese words each followed by their English in brackets; a part in English
    alone gives ("…", "").

    >>> guide_parts("VirtIO の制限: ディスクキャッシュ (Limitations: disk cache)")
    [('Limitations: disk cache', 'VirtIO の制限: ディスクキャッシュ')]
    >>> guide_parts("ディスクドライブ (disk drives): 一貫した命名 (consistent naming)")
    [('disk drives: consistent naming', 'ディスクドライブ: 一貫した命名')]
    """
    parts = []
    for part in filter(None, (p.strip() for p in section.split("; "))):
        english = re.findall(r"\(([\x20-\x7e]+?)\)", part)
        original = re.sub(r"\s*\([\x20-\x7e]+?\)", "", part).strip()
        if english and any(ord(c) > 127 for c in original):
            parts.append((": ".join(english), original))
        else:
            parts.append((part, ""))
    return parts
