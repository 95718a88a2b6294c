"""``guestprobe host``'s terminal output, laid out like the guest's report and made for 80
columns: per domain a header line, the disk table (the long sources stacked under it where the
width asks), the disk x feature matrix with its legend, the domain's verdicts, then the findings
-- alike findings of several disks grouped in one entry -- and each fix once, with whom it is
for. Every cell goes through :func:`guestprobe.report.table.grid` and every text through
:func:`guestprobe.report.escape.terminal_text` (a domain XML is data)."""


from typing import Any, Dict, List, Tuple

from guestprobe.document.host import HostDisk, HostDocument, HostDomain
from guestprobe.document.verdict import Remedy, Verdict
from guestprobe.report.escape import terminal_lines, terminal_text
from guestprobe.report.findings import PLATFORM_WORDS, SEVERITY, STATUS_WORDS
from guestprobe.report.table import (
    STATUS_SYMBOLS,
    STATUS_WORDS_LOWER,
    feature_head,
    feature_name,
    fitted,
    grid,
    wrap,
)
from guestprobe.report.terminal import DEFAULT_WIDTH, fix_text

_HEAD_ORDER = ("pr_fencing",)  # I/O fencing first, as in the guest's matrix


def _dash(value: "Any") -> str:
    if value is None or value == "":
        return "-"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _reservations(disk: "HostDisk") -> str:
    r = disk.reservations
    if not r.enabled:
        return "-"
    where = "managed" if r.managed else _dash(r.socket_path)
    running = disk.pr_helper_running
    return where + ("" if running is None else " (helper up)" if running else " (helper DOWN)")


def _address(disk: "HostDisk") -> str:
    """The address as its bus names it (decode's ``address``); else from the PCI slot or the
    SCSI address (a host document of an older guestprobe)."""
    if disk.address:
        return str(disk.address)
    if disk.pci_slot:
        return "pci " + disk.pci_slot
    if disk.scsi_address:
        ctrl = disk.controller_pci_slot
        return "scsi " + disk.scsi_address + (f" @{ctrl}" if ctrl else "")
    return "-"


def _source(disk: "HostDisk") -> str:
    return f"{disk.source_kind} {_dash(disk.source_where)}"


def _identity(disk: "HostDisk") -> str:
    return _dash(disk.serial or (("0x" + disk.wwn) if disk.wwn else None))


_COLUMNS = {  # header -> the cell of one disk
    "BUS": lambda d: _dash(d.bus),
    "DEVICE": lambda d: d.device,
    "QEMU": lambda d: _dash(d.qemu_device),
    "SOURCE": _source,
    "CACHE": lambda d: d.cache_effective if d.cache else f"({_dash(d.cache_effective)})",
    "IO": lambda d: _dash(d.io),
    "DISCARD": lambda d: _dash(d.discard),
    "ERROR/R": lambda d: f"{_dash(d.error_policy)}/{_dash(d.rerror_policy)}",
    "SGIO": lambda d: _dash(d.sgio),
    "RESERVATIONS": _reservations,
    "SHARE": lambda d: _dash(d.shareable),
    "SERIAL/WWN": _identity,
    "ADDRESS": _address,
}
_FULL = ["BUS", "DEVICE", "QEMU", "SOURCE", "CACHE", "IO", "DISCARD", "ERROR/R", "SGIO",
         "RESERVATIONS", "SHARE", "SERIAL/WWN", "ADDRESS"]
_NARROW = ["DEVICE", "QEMU", "CACHE", "ERROR/R", "RESERVATIONS", "SHARE"]


def disk_rows(domain: "HostDomain", columns: "List[str]" = _FULL) -> "List[List[str]]":
    """One row per disk: its name and the ``columns``."""
    return [[_dash(d.target_dev), *[_COLUMNS[c](d) for c in columns]] for d in domain.disks]


def grouped(rows: "List[List[str]]") -> "List[List[str]]":
    """Runs of three or more rows alike but for the name in one row: ``vda…vdad (30)``."""
    out: "List[List[str]]" = []
    run: "List[List[str]]" = []
    for row in [*rows, None]:
        if run and (row is None or row[1:] != run[0][1:]):
            if len(run) >= 3:
                out.append([f"{run[0][0]}…{run[-1][0]} ({len(run)})", *run[0][1:]])
            else:
                out.extend(run)
            run = []
        if row is not None:
            run.append(row)
    return out


def _disk_table(domain: "HostDomain", width: int) -> str:
    def narrow() -> str:
        heads = ["RESV" if c == "RESERVATIONS" else c for c in _NARROW]
        lines = [grid(["DISK", *heads], grouped(disk_rows(domain, _NARROW)))]
        rest = [c for c in _FULL if c not in _NARROW and c != "BUS"]  # QEMU names the bus
        for d in domain.disks:
            lines += wrap(terminal_text(_dash(d.target_dev) + ": " + "; ".join(
                f"{c.lower()} {_COLUMNS[c](d)}" for c in rest if _COLUMNS[c](d) != "-")),
                width, "      ", "  ")
        return "\n".join(lines)

    return fitted([lambda: grid(["DISK", *_FULL], disk_rows(domain)), narrow], width)


def _features(domain: "HostDomain") -> "List[str]":
    features = [v.feature for v in (domain.disks[0].verdicts if domain.disks else [])]
    return sorted(features, key=lambda f: f not in _HEAD_ORDER)


def _matrix(domain: "HostDomain", width: int) -> str:
    features = _features(domain)
    rows = []
    for d in domain.disks:
        by_feature = {v.feature: v.status for v in d.verdicts}
        rows.append([_dash(d.target_dev),
                     *[STATUS_SYMBOLS.get(by_feature.get(f, ""), "-") for f in features]])
    titles = {v.feature: v.title for d in domain.disks for v in d.verdicts}
    legend = ", ".join(f"{feature_head(f)} {feature_name(f, titles.get(f, ''))}"
                       for f in features)
    symbols = ", ".join(f"{s} {STATUS_WORDS_LOWER[k]}" for k, s in STATUS_SYMBOLS.items())
    return "\n".join([grid(["DISK", *[feature_head(f) for f in features]], grouped(rows)),
                      *wrap(legend, width, "  ", ""), *wrap(symbols, width, "  ", "")])


def _alike(verdict: "Verdict", name: str) -> "Tuple[Any, ...]":
    """What two disks' verdicts share when they read the same but for the disk's name."""
    def general(text: str) -> str:
        return text.replace(f"Disk {name} ", "Disk * ").replace(f"disk {name}", "disk *")

    return (verdict.feature, verdict.status,
            tuple((r.code, general(r.text)) for r in verdict.reasons),
            tuple((r.platform, r.text) for r in verdict.remediation))


class _Findings:
    """The domain's verdicts that are not usable, alike ones of several disks in one entry,
    I/O fencing first and then the worst first; and the fixes, each once, with whom for."""

    def __init__(self, domain: "HostDomain") -> None:
        self.groups: "Dict[Tuple[Any, ...], Tuple[List[str], Verdict]]" = {}
        for disk in domain.disks:
            name = _dash(disk.target_dev)
            for verdict in disk.verdicts:
                if verdict.status != "usable":
                    key = _alike(verdict, name)
                    self.groups.setdefault(key, ([], verdict))[0].append(name)
        for verdict in domain.domain_verdicts:
            if verdict.status != "usable":
                self.groups.setdefault(("domain", *_alike(verdict, "")), (["domain"], verdict))
        self.ordered = sorted(self.groups.values(), key=lambda g: (
            g[1].feature not in _HEAD_ORDER, SEVERITY.get(g[1].status, 9)))
        self.fixes: "List[Tuple[str, str, Dict[str, List[str]]]]" = []  # platform, text, whom
        for names, verdict in self.ordered:
            for remedy in verdict.remediation:
                entry = next((f for f in self.fixes
                              if (f[0], f[1]) == (remedy.platform, remedy.text)), None)
                if entry is None:
                    entry = (remedy.platform, remedy.text, {})
                    self.fixes.append(entry)
                entry[2].setdefault(_subject(names), []).append(verdict.feature)

    def number(self, remedy: "Remedy") -> int:
        return next(i for i, f in enumerate(self.fixes, 1)
                    if (f[0], f[1]) == (remedy.platform, remedy.text))


def _subject(names: "List[str]") -> str:
    if len(names) <= 4:
        return ", ".join(names)
    return f"{', '.join(names[:3])} … {names[-1]} ({len(names)} disks)"


def _finding_lines(names: "List[str]", verdict: "Verdict", findings: "_Findings",
                   width: int) -> "List[str]":
    word = STATUS_WORDS.get(verdict.status, verdict.status.upper())
    lines = wrap(terminal_text(f"{word}  {_subject(names)}  {verdict.feature} "
                               f"({verdict.title})"), width, "    ", "")
    if len(names) > 1:
        lines += wrap(terminal_text(f"(alike on {len(names)} disks; the words are {names[0]}'s)"),
                      width, "    ", "  ")
    for number, reason in enumerate(verdict.reasons):
        label = "" if number == 0 else "note "
        lines += wrap(terminal_text(f"{label}{reason.code}: {reason.text}"), width,
                      "    ", "  - ")
    refs = ", ".join(f"[{findings.number(r)}]" for r in verdict.remediation)
    lines += wrap(f"fix: {refs} below" if refs else "fix: none in the rules", width, "    ", "  ")
    return lines


def render_host(document: "HostDocument", brief: bool = False,
                width: int = DEFAULT_WIDTH) -> str:
    out: "List[str]" = []
    for domain in document.domains:
        out += wrap(terminal_text(
            f"DOMAIN {_dash(domain.name)}: machine {_dash(domain.machine)} "
            f"({domain.machine_family}), state {_dash(domain.state)}, "
            f"{domain.virtio_device_count} VirtIO devices, free hot-plug PCI slots: "
            f"{_dash(domain.free_hotplug_slots)}"), width, "  ", "")
        out += ["", _disk_table(domain, width)]
        if _features(domain):
            out += ["", _matrix(domain, width)]
        for verdict in domain.domain_verdicts:
            out.append("")
            word = STATUS_WORDS.get(verdict.status, verdict.status)
            out += wrap(terminal_text(f"domain  {verdict.title}: {word}: "
                                      + " ".join(r.text for r in verdict.reasons)),
                        width, "    ", "")
        out.append("")
        if brief:
            continue
        findings = _Findings(domain)
        if not findings.ordered:
            continue
        count = len(findings.ordered)
        out += wrap(f"FINDINGS: {count} {'entry' if count == 1 else 'entries'} not usable, "
                    "degraded or unknown (alike disks together; I/O fencing first, then the "
                    "worst first)", width, "", "")
        blocks = ["\n".join(_finding_lines(names, verdict, findings, width))
                  for names, verdict in findings.ordered]
        out += ["\n\n".join(blocks), "", "FIXES (each once, with the disks it is for)"]
        for number, (platform, text, whom) in enumerate(findings.fixes, 1):
            head = wrap(terminal_text(f"[{number}] {PLATFORM_WORDS.get(platform, platform)} — "
                                      "for " + "; ".join(f"{who}: {', '.join(features)}"
                                                         for who, features in whom.items())),
                        width, "    ", "")
            out += head + fix_text(text, width, "    ") + [""]
    return terminal_lines("\n".join(out) + "\n")
