"""``guestprobe host``'s terminal output: per domain a disk table, the disk x feature matrix,
the domain's verdicts, then every verdict that is not usable with its reasons and each fix once.
Every cell goes through :func:`guestprobe.report.table.grid` (escaped: a domain XML is data)."""


from typing import Any, Dict, List

from guestprobe.report.escape import terminal_lines
from guestprobe.report.table import LEGEND, STATUS_SYMBOLS, grid

_WORST_FIRST = ("not_usable", "degraded", "unknown")


def _dash(value: "Any") -> str:
    if value is None or value == "":
        return "-"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _reservations(disk: "Dict[str, Any]") -> str:
    r = disk["reservations"]
    if not r["enabled"]:
        return "-"
    where = "managed" if r["managed"] else _dash(r["socket_path"])
    running = disk.get("pr_helper_running")
    return where + ("" if running is None else " (helper up)" if running else " (helper DOWN)")


def _address(disk: "Dict[str, Any]") -> str:
    """The address as its bus names it (decode's ``address``); else from the PCI slot or the
    SCSI address (a host document of an older guestprobe)."""
    if disk.get("address"):
        return str(disk["address"])
    if disk.get("pci_slot"):
        return "pci " + disk["pci_slot"]
    if disk.get("scsi_address"):
        ctrl = disk.get("controller_pci_slot")
        return "scsi " + disk["scsi_address"] + (f" @{ctrl}" if ctrl else "")
    return "-"


def disk_rows(domain: "Dict[str, Any]") -> "List[List[str]]":
    rows = []
    for d in domain["disks"]:
        source = d["source"]
        rows.append([
            _dash(d["target_dev"]), _dash(d["bus"]), d["device"], _dash(d["qemu_device"]),
            "{} {}".format(source["kind"], _dash(source.get("path") or source.get("name"))),
            d["cache_effective"] if d["cache"] else f"({_dash(d['cache_effective'])})",
            _dash(d["io"]), _dash(d["discard"]),
            "{}/{}".format(_dash(d["error_policy"]), _dash(d["rerror_policy"])),
            _dash(d["sgio"]), _reservations(d), _dash(d["shareable"]),
            _dash(d["serial"] or (("0x" + d["wwn"]) if d["wwn"] else None)), _address(d),
        ])
    return rows


def _verdict_lines(where: str, verdict: "Dict[str, Any]", fixes: "List[str]") -> "List[str]":
    lines = [f"{verdict['status'].upper().replace('_', ' ')}  {where}  {verdict['feature']} "
             f"({verdict['title']})"]
    for reason in verdict["reasons"]:
        lines.append(f"  - {reason['code']}: {reason['text']}")
    refs = []
    for remedy in verdict.get("remediation") or []:
        text = f"{remedy['platform']}: {remedy['text']}"
        if text not in fixes:
            fixes.append(text)
        refs.append(str(fixes.index(text) + 1))
    lines.append("  fix: " + (", ".join(f"[{n}]" for n in refs) if refs else "none in the rules"))
    return lines


def render_host(document: "Dict[str, Any]", brief: bool = False) -> str:
    out: "List[str]" = []
    for domain in document["domains"]:
        out.append(f"DOMAIN {_dash(domain['name'])}  machine {_dash(domain['machine'])} "
                   f"({domain['machine_family']})  state {_dash(domain.get('state'))}  "
                   f"{domain['virtio_device_count']} VirtIO devices, free hot-plug PCI slots "
                   f"{_dash(domain['free_hotplug_slots'])}")
        out.append("")
        out.append(grid(["DISK", "BUS", "DEVICE", "QEMU", "SOURCE", "CACHE", "IO", "DISCARD",
                         "ERROR/R", "SGIO", "RESERVATIONS", "SHARE", "SERIAL/WWN", "ADDRESS"],
                        disk_rows(domain)))
        features = [v["feature"] for v in (domain["disks"][0]["verdicts"] if domain["disks"]
                                           else [])]
        if features:
            out.append("")
            out.append(grid(["DISK", *features], [
                [_dash(d["target_dev"]), *[STATUS_SYMBOLS.get(v["status"], "?")
                                           for v in d["verdicts"]]]
                for d in domain["disks"]
            ]))
            out.append(LEGEND)
        for verdict in domain["domain_verdicts"]:
            out.append("")
            out.append(f"[{verdict['status']}] {verdict['title']}: "
                       + " ".join(r["text"] for r in verdict["reasons"]))
        out.append("")
        if brief:
            continue
        fixes: "List[str]" = []
        findings = []
        for status in _WORST_FIRST:
            for disk in domain["disks"]:
                for verdict in disk["verdicts"]:
                    if verdict["status"] == status:
                        findings.extend(_verdict_lines(_dash(disk["target_dev"]), verdict, fixes))
            for verdict in domain["domain_verdicts"]:
                if verdict["status"] == status:
                    findings.extend(_verdict_lines("domain", verdict, fixes))
        if findings:
            out.append("FINDINGS (worst first)")
            out.extend(findings)
            out.append("")
            out.append("FIXES (each once)")
            for number, text in enumerate(fixes, 1):
                out.append(f"[{number}] {text}")
            out.append("")
    return terminal_lines("\n".join(out) + "\n")
