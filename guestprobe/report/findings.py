"""The answer a person reads, as a small typed model built from a report document. Pure.

This is the ONE place the text and HTML renderers read the report document (a JSON dict today):
:func:`build_report_view` turns it into dataclasses, and :mod:`.terminal` and :mod:`.html` only
ever see those. Strings stay as the document has them (device strings included); escaping is
the renderers' job (:mod:`.escape`).

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
from dataclasses import dataclass, field
from typing import Any

from guestprobe.document.verdict import Reason
from guestprobe.errors import BadInputError

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
class ReportView:
    features: "list[str]"
    feature_titles: "dict[str, str]"
    disks: "list[DiskRow]"
    lu_groups: "list[LuGroup]"
    guest_verdicts: "list[VerdictView]"
    findings: "list[Finding]"
    caveats: "list[Finding]"
    remedies: "list[Fix]"
    platform: "list[tuple[str, str]]"  # (label, value) for the page's platform and versions
    hostname: str
    generated_at: str
    scan_summary: str
    complete: bool
    redacted: bool
    sg3_note: str = ""  # the sg3_utils release's differences guestprobe handled, if any


# -- reading the document ---------------------------------------------------------------------
def _dict(value: "Any") -> "dict[str, Any]":
    return value if isinstance(value, dict) else {}


def _list(value: "Any") -> "list[Any]":
    return value if isinstance(value, list) else []


def _text(value: "Any") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _resolve(data: "Any", path: str) -> "Any":
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


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


def _response(entry: "dict[str, Any]") -> "tuple[bytes, bool]":
    """The probe's response bytes, as the decoders read them; (bytes, damaged)."""
    from guestprobe.collect.probe import ProbeResult
    from guestprobe.decode import DecodeError

    stdout_hex = entry.get("stdout_hex")
    if not stdout_hex:
        return b"", False
    try:
        return ProbeResult.from_dict(entry).response_bytes(), False
    except (DecodeError, ValueError, TypeError, AttributeError):
        try:
            return bytes.fromhex(str(stdout_hex)), True
        except ValueError:
            return str(stdout_hex).encode("utf-8", "replace"), True


def _probe(entry: "dict[str, Any]") -> "ProbeEvidence":
    argv = entry.get("argv")
    if isinstance(argv, list) and argv:
        command = " ".join(shlex.quote(str(a)) for a in argv)
    elif entry.get("sysfs_file"):
        command = f"read {entry['sysfs_file']} (the kernel's copy)"
    else:
        command = f"not sent: {entry.get('skip_reason') or 'skipped'}"
    raw, damaged = _response(entry)
    return ProbeEvidence(
        id=_text(entry.get("id")),
        source=_text(entry.get("source")),
        command=command,
        exit_status=entry.get("exit_status") if isinstance(entry.get("exit_status"), int) else None,
        exit_meaning=entry.get("exit_meaning"),
        outcome=entry.get("outcome"),
        duration_s=entry.get("duration_s")
        if isinstance(entry.get("duration_s"), (int, float))
        else None,
        stderr=_text(entry.get("stderr")),
        raw=raw,
        raw_damaged=damaged,
        printed_as_hexdump=entry.get("output_format") == "hex",
    )


def _key_words(key_hex: str, pr: "dict[str, Any]") -> str:
    """A PR key in words (:func:`guestprobe.decode.persist.describe_key`)."""
    from guestprobe.decode.persist import describe_key

    try:
        return describe_key(int(key_hex, 16))
    except (TypeError, ValueError):
        return f"0x{key_hex}"


def _holder(pr: "dict[str, Any]") -> str:
    """The reservation holder in a few words ("" where none is held, or PR IN was not read)."""
    from guestprobe.decode.persist import holder_words

    key_hex = _text(_dict(_dict(pr.get("reservation")).get("reservation")).get("key_hex"))
    return holder_words(key_hex) if key_hex else ""


def _pr_facts(pr: "dict[str, Any]") -> "list[tuple[str, str]]":
    facts = []
    held = _dict(_dict(pr.get("reservation")).get("reservation"))
    if held.get("key_hex"):
        facts.append(
            (
                "reservation holder",
                f"{held.get('type_name') or held.get('type_code')} held by key "
                + _key_words(str(held["key_hex"]), pr),
            )
        )
    elif isinstance(pr.get("reservation"), dict):
        facts.append(("reservation", "none held"))
    keys = _list(_dict(pr.get("keys")).get("keys_hex"))
    if keys:
        facts.append((
            "registered keys",
            "; ".join(
                f"0x{k} (the holder's)" if k == held.get("key_hex") else _key_words(str(k), pr)
                for k in keys
            ),
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
    def __init__(self, document: "dict[str, Any]") -> None:
        self.document = document
        self.remedies: "list[Fix]" = []

    def remedy_index(self, entry: "dict[str, Any]") -> int:
        platform, text = _text(entry.get("platform")), _text(entry.get("text")).strip()
        for index, remedy in enumerate(self.remedies):
            if (remedy.platform, remedy.text) == (platform, text):
                return index
        self.remedies.append(Fix(platform, text))
        return len(self.remedies) - 1

    def verdict(self, raw: "dict[str, Any]", disk: "dict[str, Any] | None") -> "VerdictView":
        subject = _text(disk.get("name")) if disk is not None else GUEST
        probes_by_id = {
            p.get("id"): p for p in _list((disk or {}).get("probes")) if isinstance(p, dict)
        }
        fact_groups = _dict((disk or {}).get("facts"))
        probes: "list[ProbeEvidence]" = []
        decoded: "list[FactGroup]" = []
        cited_groups: "list[str]" = []
        for cited in _list(raw.get("evidence")):
            evidence_id = _text(cited)
            if evidence_id in probes_by_id:
                probes.append(_probe(probes_by_id[evidence_id]))
                cited_groups += [
                    name
                    for name, group in fact_groups.items()
                    if evidence_id in _list(_dict(group).get("evidence"))
                    and name not in cited_groups
                ]
                continue
            # a cited fact outside the probes: "sda/transport.kind", "guest/platform.…"
            _, _, path = evidence_id.partition("/")
            source = disk if disk is not None else self.guest_context()
            fields: "list[tuple[str, str]]" = []
            _flatten(_resolve(source, path), "", fields)
            if any(value != NOT_REPORTED for _, value in fields):  # no box of nothing
                decoded.append(FactGroup(path or evidence_id, fields))
        groups = []
        for name in cited_groups:
            fields = []
            _flatten(fact_groups[name], "", fields)
            groups.append(FactGroup(f"facts.{name}", fields))
        decoded = groups + decoded
        facts = self.verdict_facts(disk, probes) if disk is not None else []
        return VerdictView(
            subject=subject,
            feature=_text(raw.get("feature")),
            title=_text(raw.get("title")) or _text(raw.get("feature")),
            status=_text(raw.get("status")) or UNKNOWN,
            reasons=[
                Reason(_text(r.get("code")), _text(r.get("text")))
                for r in _list(raw.get("reasons"))
                if isinstance(r, dict)
            ],
            facts=facts,
            probes=probes,
            decoded=decoded,
            remedies=[
                self.remedy_index(r) for r in _list(raw.get("remediation")) if isinstance(r, dict)
            ],
            missing=[_text(m) for m in _list(raw.get("missing"))],
            guide_section=_text(raw.get("guide_section")),
        )

    def guest_context(self) -> "dict[str, Any]":
        from guestprobe.check.derived import guest_derived
        from guestprobe.document.model import Report

        try:  # (a document edited by hand past what a report holds: no guest facts to show)
            guest = guest_derived(Report.from_dict(self.document, "report"))
        except BadInputError:
            guest = {}
        return {"platform": self.document.get("platform"), "guest": guest}

    @staticmethod
    def verdict_facts(
        disk: "dict[str, Any]",
        probes: "list[ProbeEvidence]",
    ) -> "list[tuple[str, str]]":
        facts = [("transport", _transport(disk))]
        identity = _identity(disk)
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
            facts.extend(_pr_facts(_dict(_dict(disk.get("facts")).get("persistent_reservations"))))
        return facts


def _transport(disk: "dict[str, Any]") -> str:
    transport = _dict(disk.get("transport"))
    words = _text(transport.get("kind")) or "?"
    if transport.get("mode"):
        words += f"/{transport['mode']}"
    if transport.get("detail"):
        words += f" ({transport['detail']})"
    return words


def _identity(disk: "dict[str, Any]") -> str:
    identity = _dict(_dict(disk.get("facts")).get("identity"))
    return " ".join(_text(identity.get(k)) for k in ("vendor", "product") if identity.get(k))


def _outcomes(disk: "dict[str, Any]") -> "dict[str, str]":
    facts = _dict(disk.get("facts"))
    return {
        "inquiry": _text(_dict(facts.get("passthrough")).get("inquiry_outcome")),
        "pr_in": _text(_dict(facts.get("persistent_reservations")).get("read_keys_outcome")),
        "ws16": _text(_dict(_dict(facts.get("write_same")).get("write_same16_oor")).get("outcome")),
    }


def _hypervisor(platform: "dict[str, Any]") -> str:
    from guestprobe.collect.platform import PlatformFacts

    try:
        return _text(PlatformFacts.from_dict(dict(platform)).hypervisor)
    except (TypeError, ValueError, AttributeError):
        return ""


def _same(a: "VerdictView", b: "VerdictView") -> bool:
    return (a.status, [(r.code, r.text) for r in a.reasons], a.remedies) == (
        b.status,
        [(r.code, r.text) for r in b.reasons],
        b.remedies,
    )


def _platform(document: "dict[str, Any]") -> "list[tuple[str, str]]":
    platform = _dict(document.get("platform"))
    scan = _dict(document.get("scan"))
    sg3 = _dict(platform.get("sg3_utils"))
    dmi = " ".join(
        _text(platform.get(k)) for k in ("dmi_sys_vendor", "dmi_product_name") if platform.get(k)
    )
    rows = [
        ("host name", _text(platform.get("hostname"))),
        ("hypervisor", _hypervisor(platform)),
        ("DMI", dmi),
        ("kernel", _text(platform.get("kernel_release"))),
        ("sg3_utils", " ".join(filter(None, [_text(sg3.get("release")),
                                             f"(sg_inq {sg3['sg_inq_version']})"
                                             if sg3.get("sg_inq_version") else ""]))),
        ("udev database",
         "populated" if platform.get("udev_database_populated") else "not populated"),
        ("VirtIO devices", ", ".join(
            f"{_text(_dict(v).get('name'))} ({_text(_dict(v).get('kind'))})"
            for v in _list(platform.get("virtio_devices"))
        ) or "none"),
        ("collected by guestprobe", _text(scan.get("collected_by_version"))),
        ("scan started", _text(scan.get("started_at"))),
        ("judged by", f"{_text(_dict(document.get('tool')).get('name'))} "
                      f"{_text(_dict(document.get('tool')).get('version'))}, "
                      f"report schema {_text(document.get('schema_version'))}"),
    ]
    return [(label, value) for label, value in rows if value]


def _sg3_note(document: "dict[str, Any]") -> str:
    """One line on the sg3_utils release when it differs from the newest (or is unknown)."""
    sg3 = _dict(_dict(document.get("platform")).get("sg3_utils"))
    differences = [_text(_dict(d).get("code")) for d in _list(sg3.get("differences"))]
    if not differences and not (sg3.get("sg_inq_version") and not sg3.get("release")):
        return ""
    return (
        f"sg3_utils {_text(sg3.get('release')) or 'release unknown'} "
        f"({_text(sg3.get('release_basis'))}): differences handled: "
        f"{', '.join(differences) or 'none'} (platform.sg3_utils.differences in the JSON report)"
    )


def build_report_view(document: "dict[str, Any]", redacted: bool = False) -> "ReportView":
    """The model of a judged report document (see the module docstring)."""
    builder = _Builder(document)
    features: "list[str]" = []
    titles: "dict[str, str]" = {}
    disks: "list[DiskRow]" = []
    for disk in map(_dict, _list(document.get("disks"))):
        verdicts = {}
        for raw in _list(disk.get("verdicts")):
            verdict = builder.verdict(_dict(raw), disk)
            verdicts[verdict.feature] = verdict
            if verdict.feature not in features:
                features.append(verdict.feature)
                titles[verdict.feature] = verdict.title
        identity = _dict(_dict(disk.get("facts")).get("identity"))
        disks.append(
            DiskRow(
                name=_text(disk.get("name")),
                dev_path=_text(disk.get("dev_path")),
                transport=_transport(disk),
                identity=_identity(disk),
                lu_designator=_text(identity.get("lu_designator")),
                size_bytes=disk["size_bytes"] if isinstance(disk.get("size_bytes"), int) else None,
                status=_text(disk.get("status")),
                by_id=[_text(link) for link in _list(disk.get("by_id"))],
                outcomes=_outcomes(disk),
                verdicts=verdicts,
                holder=_holder(_dict(_dict(disk.get("facts")).get("persistent_reservations"))),
            )
        )
    groups = [
        LuGroup(_text(g.get("lu_designator")), [_text(d) for d in _list(g.get("disks"))])
        for g in map(_dict, _list(document.get("logical_units")))
    ]
    guest_verdicts = [
        builder.verdict(_dict(raw), None) for raw in _list(document.get("guest_verdicts"))
    ]
    findings, caveats = _findings(features, disks, groups, guest_verdicts, builder.remedies)
    scan = _dict(document.get("scan"))
    duration = scan.get("duration_s")
    count = scan.get("disk_count")
    summary = (
        f"{_text(count)} {'disk' if count == 1 else 'disks'} in "
        + (f"{duration:.1f} s" if isinstance(duration, (int, float)) else "? s")
        + f", {_text(scan.get('processes_started'))} processes"
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
        platform=_platform(document),
        hostname=_text(_dict(document.get("platform")).get("hostname")),
        generated_at=_text(document.get("generated_at")),
        scan_summary=summary,
        complete=scan.get("complete") is not False,
        redacted=redacted,
        sg3_note=_sg3_note(document),
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


def narrow_document(
    document: "dict[str, Any]",
    disks: "tuple[str, ...]" = (),
    features: "tuple[str, ...]" = (),
) -> "dict[str, Any]":
    """The document as far as ``disks`` (names or /dev paths) and ``features`` (ids, or their
    titles) go, for a report on one disk or one feature; the guest-wide verdicts stay unless a
    feature is named. ValueError names what is not in the report and what is."""
    out = dict(document)
    all_disks = [_dict(d) for d in _list(document.get("disks"))]
    if disks:
        wanted = {name[5:] if name.startswith("/dev/") else name for name in disks}
        known = [_text(d.get("name")) for d in all_disks]
        unknown = sorted(wanted - set(known))
        if unknown:
            raise ValueError(f"no disk {', '.join(unknown)} in this report "
                             f"(it has {', '.join(known) or 'none'})")
        all_disks = [d for d in all_disks if _text(d.get("name")) in wanted]
        out["logical_units"] = [
            dict(g, disks=[n for n in _list(g.get("disks")) if n in wanted])
            for g in map(_dict, _list(document.get("logical_units")))
            if set(_list(g.get("disks"))) & wanted
        ]
    if features:
        verdicts = [_dict(v) for d in _list(document.get("disks")) for v in
                    _list(_dict(d).get("verdicts"))] + list(
            map(_dict, _list(document.get("guest_verdicts"))))
        names = {}
        for verdict in verdicts:
            feature = _text(verdict.get("feature"))
            names[feature.lower()] = feature
            names[_text(verdict.get("title")).lower()] = feature
        chosen = set()
        for name in features:
            feature = names.get(name.lower().replace("-", "_")) or names.get(name.lower())
            if feature is None:
                known = sorted({_text(v.get("feature")) for v in verdicts})
                raise ValueError(f"no feature {name} in this report (it has {', '.join(known)})")
            chosen.add(feature)
        all_disks = [
            dict(d, verdicts=[v for v in _list(d.get("verdicts"))
                              if _dict(v).get("feature") in chosen])
            for d in all_disks
        ]
        out["guest_verdicts"] = [v for v in _list(document.get("guest_verdicts"))
                                 if _dict(v).get("feature") in chosen]
    out["disks"] = all_disks
    return out


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
