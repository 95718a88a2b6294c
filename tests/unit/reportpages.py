"""Helpers of the report-page tests: the examples judged, page text, and a hostile bundle.

``hostile_bundle`` is the mixed example with a device and a host that lie in the worst way: the
INQUIRY vendor carries an OSC escape (``ESC ] 0;pw BEL``, which sets a terminal's title), the
product a ``<script>`` tag, the unit serial an ``"><img onerror=…>`` attribute break-out and a
CSI sequence, a designator a ``</script>`` and an OSC 8 hyperlink, the host name both kinds.
"""


import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from documents import build_document

from guestprobe import pipeline
from guestprobe.bundle.archive import build_bundle, read_bundle
from guestprobe.document.build import collection_from_document

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_BUNDLES = sorted(EXAMPLES.glob("*.tar.gz"))

VENDOR = b"\x1b]0;pw\x07 "  # 8 bytes
PRODUCT = b"<script>alert(1)"  # 16 bytes
SERIAL = b'"><img src=x onerror=alert(2)>\x1b[2J\x9b'
DESIGNATOR = b"</script><script>alert(3)</script>\x1b]8;;http://x\x07"
HOSTNAME = "node2\x1b]0;owned\x07<script>alert(4)</script>"
# what must never reach a terminal or a page live
CONTROL_BYTES = ("\x1b", "\x07", "\x9b")


def judge(document: "dict[str, Any]") -> "dict[str, Any]":
    """Decode and judge a report again, as ``guestprobe report`` does."""
    return build_document(collection_from_document(document), pipeline.judge)


def example_report(path: "Path") -> "dict[str, Any]":
    return read_bundle(path.read_bytes(), path.name).report


# the domain XML's placeholders, which the report fills where it knows the disk
PLACEHOLDERS = re.compile(r"dm-uuid-mpath-[0-9a-fA-FWID]+|dev='sd[a-zX]+'")


def unfilled(text: str) -> str:
    return PLACEHOLDERS.sub("PLACEHOLDER", text)


def normalize(text: str) -> str:
    return " ".join(text.split())


def not_usable(document: "dict[str, Any]") -> "list[tuple[str, dict[str, Any]]]":
    """(disk name or "guest", verdict) for every verdict that is not usable."""
    found = [(d["name"], v) for d in document["disks"] for v in d["verdicts"]]
    found += [("guest", v) for v in document["guest_verdicts"]]
    return [(who, v) for who, v in found if v["status"] != "usable"]


class PageText(HTMLParser):
    """The text a reader sees (unescaped), and every start tag and attribute of a page."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: "list[str]" = []
        self.tags: "list[tuple[str, list[tuple[str, str | None]]]]" = []
        self._style = False
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: "list[tuple[str, str | None]]") -> None:
        self.tags.append((tag, attrs))
        self._style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._style = False

    def handle_data(self, data: str) -> None:
        if not self._style:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return normalize(" ".join(self.parts))


def _vpd_0x80(serial: bytes) -> bytes:
    return bytes([0, 0x80, 0, len(serial)]) + serial


def _vpd_0x83(text: bytes) -> bytes:
    designator = bytes([0x02, 0x00, 0x00, len(text)]) + text  # ASCII, vendor specific, LU
    return bytes([0, 0x83, 0, len(designator)]) + designator


def hostile_report() -> "dict[str, Any]":
    report = copy.deepcopy(example_report(EXAMPLES / "mixed.tar.gz"))
    report["platform"]["hostname"] = HOSTNAME
    sda = next(d for d in report["disks"] if d["name"] == "sda")  # QEMU's scsi-hd
    sda["by_id"] = [f"/dev/disk/by-id/scsi-{HOSTNAME}"]
    for probe in sda["probes"]:
        if probe["name"] == "inquiry":
            raw = bytearray(bytes.fromhex(probe["stdout_hex"]))
            raw[8:16], raw[16:32] = VENDOR, PRODUCT
            probe["stdout_hex"] = bytes(raw).hex()
        elif probe["name"] == "vpd_0x80":
            probe["stdout_hex"] = _vpd_0x80(SERIAL).hex()
        elif probe["name"] == "vpd_0x83":
            probe["stdout_hex"] = _vpd_0x83(DESIGNATOR).hex()
    for page, data in (("vpd_0x80", _vpd_0x80(SERIAL)), ("vpd_0x83", _vpd_0x83(DESIGNATOR))):
        if page in (sda["inventory"].get("sysfs_pages") or {}):
            sda["inventory"]["sysfs_pages"][page] = data.hex()
    return report


def hostile_bundle(path: "Path") -> "Path":
    report = hostile_report()
    path.write_bytes(build_bundle(report, {"guestprobe": "test"}))
    return path


def payload_strings() -> "list[str]":
    """The payloads as the decoders make them of the bytes (ASCII, others as U+FFFD)."""
    return [
        VENDOR.decode("ascii").strip(" "),
        PRODUCT.decode("ascii"),
        SERIAL.decode("ascii", "replace"),
        DESIGNATOR.decode("ascii").split("\x1b", 1)[0],  # (its decoder shows ESC as \x1b)
        HOSTNAME,
    ]


def json_text(document: "dict[str, Any]") -> str:
    return json.dumps(document, ensure_ascii=False)


LIVE_MARKUP = re.compile(r"<\s*(script|img|iframe|object|embed|link|meta\s+http-equiv=.refresh)",
                         re.I)


# the views take the typed report: these read a test's JSON document back as a saved report is
def typed(document: "dict[str, Any]") -> "Any":
    from guestprobe.document.model import Report

    return Report.from_dict(document, "report")


def view_of(document: "dict[str, Any]", *args: "Any", **kwargs: "Any") -> "Any":
    from guestprobe.report.findings import build_report_view

    return build_report_view(typed(document), *args, **kwargs)


def terminal_of(document: "dict[str, Any]", *args: "Any", **kwargs: "Any") -> str:
    from guestprobe.report.terminal import render_report

    return render_report(typed(document), *args, **kwargs)


def table_of(document: "dict[str, Any]") -> str:
    from guestprobe.report.terminal import render_table

    return render_table(typed(document))


def page_of(document: "dict[str, Any]", *args: "Any", **kwargs: "Any") -> str:
    from guestprobe.report.html import render_html

    return render_html(typed(document), *args, **kwargs)
