"""Redaction for support bundles: identifiers become stable keyed hashes, consistently everywhere.

Works on the raw collection (``Collection.to_dict()``), before the report is built from it, so the
decoded facts, the verdicts and the raw bytes all carry the *same* tokens: one LU seen through two
paths still groups as one LU, and ``guestprobe report BUNDLE`` decodes the redacted bytes to the
redacted facts.

What is replaced, and how (HMAC-SHA256 with a key that is never written to the bundle):

- the host name (``host-<8 hex>``), wherever it appears as a word;
- serial numbers (VPD page 0x80, sysfs ``serial``, udev ``ID_SERIAL*``), WWIDs and the VPD 0x83
  LU designators (NAA keeps its type and OUI, e.g. ``naa.6001405`` + hashed digits), iSCSI
  qualified names, udev by-id/by-path links built from them, IPv4 addresses in udev paths, and
  the PERSISTENT RESERVE keys in the PR IN answers.

Tokens keep the length of what they replace, so SCSI pages keep their layout and still decode.
Identifiers shorter than 4 characters are left alone (too short to replace safely). With a
per-bundle random key, bundles of different nodes cannot be matched LU by LU; pass the same
``--redact-key`` on every node for that (``guestprobe compare``).
"""


import copy
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from typing import Any

from guestprobe.compat import is_ascii

MIN_IDENTIFIER = 4
IQN = re.compile(r"iqn\.\d{4}-\d{2}\.[A-Za-z0-9.\-:]+")
IQN_BYTES = re.compile(rb"iqn\.\d{4}-\d{2}\.[A-Za-z0-9.\-:]+")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
HEX_DIGITS = "0123456789abcdef"
# udev properties whose values identify a disk (ID_SERIAL, ID_SERIAL_SHORT, ID_WWN, …)
IDENTIFYING_UDEV_KEY = re.compile(r"SERIAL|WWN|UUID|SCSI_IDENT|ID_PATH|DM_NAME")
# VPD 0x83 designator types that identify an LU or port: vendor specific, T10, EUI-64, NAA,
# MD5 LU identifier, SCSI name string, UUID (relative target port/port groups do not)
IDENTIFYING_DESIGNATORS = {0x0, 0x1, 0x2, 0x3, 0x7, 0x8, 0xA}
PR_KEY_PROBES = ("pr_read_keys", "pr_read_reservation")
_HEXDUMP_LINE = re.compile(r"^(\s*[0-9a-fA-F]+\s+)((?:[0-9a-fA-F]{2}(?: {1,2}|$))+)")
_HEX_BYTE = re.compile(r"[0-9a-fA-F]{2}")


def new_key() -> bytes:
    """A per-bundle random key; kept in memory only."""
    return secrets.token_bytes(32)


def _vpd_page(data: bytes, page: int) -> "bytes | None":
    if len(data) < 4 or data[1] != page:
        return None
    return data[: 4 + int.from_bytes(data[2:4], "big")]


def vpd83_designators(data: bytes) -> "Iterator[tuple[int, int, bytes]]":
    """(code set, designator type, identifier) of each designator of a VPD page 0x83 response.

    >>> list(vpd83_designators(bytes.fromhex("00830008" "01030004" "5001405f")))
    [(1, 3, b'P\\x01@_')]
    """
    page = _vpd_page(data, 0x83)
    if page is None:
        return
    offset = 4
    while offset + 4 <= len(page):
        length = page[offset + 3]
        yield page[offset] & 0x0F, page[offset + 1] & 0x0F, page[offset + 4 : offset + 4 + length]
        offset += 4 + length


def vpd80_serial(data: bytes) -> "bytes | None":
    """The product serial number of a VPD page 0x80 response (padding included)."""
    page = _vpd_page(data, 0x80)
    return None if page is None else page[4:]


def hexdump_bytes(text: str) -> bytes:
    """The bytes of an sg3_utils hex dump (``" 00     00 08 00 80 ea 01 00 00"``)."""
    out = bytearray()
    for line in text.splitlines():
        match = _HEXDUMP_LINE.match(line)
        if match:
            out += bytes.fromhex("".join(_HEX_BYTE.findall(match.group(2))))
    return bytes(out)


def rewrite_hexdump(text: str, new: bytes) -> str:
    """The same hex dump, layout kept, with its bytes replaced by ``new`` (same length)."""
    values = iter(new)
    lines = []
    for line in text.splitlines(keepends=True):
        match = _HEXDUMP_LINE.match(line)
        if match:
            body = _HEX_BYTE.sub(lambda token: _hex_like(token.group(0), next(values)), match[2])
            lines.append(match.group(1) + body + line[match.end(2) :])
        else:
            lines.append(line)
    return "".join(lines)


def _hex_like(original: str, value: int) -> str:
    return f"{value:02X}" if original.isupper() else f"{value:02x}"


def pr_keys(data: bytes) -> "list[bytes]":
    """Reservation keys in READ KEYS / READ RESERVATION parameter data (header included)."""
    if len(data) < 8:
        return []
    length = int.from_bytes(data[4:8], "big")
    body = data[8 : 8 + length]
    return [body[i : i + 8] for i in range(0, len(body) - len(body) % 8, 8)]


class Redactor:
    """Collects the identifiers of one collection, then replaces them everywhere."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.text: "dict[str, str]" = {}  # identifier text -> token of the same length
        # binary identifiers -> tokens of the same length, replaced only in the answers they come
        # from: LU designators in VPD 0x83 pages, reservation keys in PR IN answers (a key such
        # as 0x1 would otherwise also match inside unrelated pages)
        self.designators: "dict[bytes, bytes]" = {}
        self.keys: "dict[bytes, bytes]" = {}
        self.hostnames: "dict[str, str]" = {}
        self._text_re: "re.Pattern[str] | None" = None
        self._bytes_re: "dict[str, re.Pattern[bytes] | None]" = {}

    # -- tokens ----------------------------------------------------------------------------------
    def _stream(self, kind: str, value: bytes, nibbles: int) -> str:
        out = ""
        counter = 0
        while len(out) < nibbles:
            message = kind.encode() + b"\0" + value + counter.to_bytes(4, "big")
            out += hmac.new(self.key, message, hashlib.sha256).hexdigest()
            counter += 1
        return out[:nibbles]

    def _text_token(self, value: str) -> str:
        if value.startswith("iqn.") and len(value) >= 24:
            prefix = "iqn.2000-01.invalid:"
            return prefix + self._stream("iqn", value.encode(), len(value) - len(prefix))
        token = self._stream("text", value.encode(), len(value))
        return token.upper() if value.isupper() else token

    def _binary_token(self, value: bytes, designator_type: "int | None" = None) -> bytes:
        digits = value.hex()
        keep = 0
        if designator_type == 0x3 and digits:  # NAA: keep the NAA type, and the OUI for 5/6
            keep = 7 if digits[0] in "56" else 1
        return bytes.fromhex(digits[:keep] + self._stream("binary", value, len(digits) - keep))

    # -- registering identifiers -----------------------------------------------------------------
    def add_text(self, value: "str | None") -> None:
        if value is None:
            return
        value = value.strip(" \0\t\n")
        if len(value) < MIN_IDENTIFIER or value in self.text:
            return
        if self.apply_text(value) != value:  # built from identifiers already known: covered
            return
        self.text[value] = self._text_token(value)
        if " " in value:  # udev spells spaces as underscores
            self.text[value.replace(" ", "_")] = self.text[value].replace(" ", "_")
        self._text_re = None
        self._bytes_re = {}

    def add_binary(self, value: bytes, designator_type: "int | None" = None) -> None:
        """A binary LU designator (``designator_type`` from VPD 0x83), or a PR key (None)."""
        table = self.keys if designator_type is None else self.designators
        if len(value) < 4 or value in table or not value.strip(b"\0"):
            return
        token = self._binary_token(value, designator_type)
        table[value] = token
        self.text[value.hex()] = token.hex()
        self.text[value.hex().upper()] = token.hex().upper()
        self._text_re = None
        self._bytes_re = {}

    def add_hostname(self, hostname: "str | None") -> None:
        if not hostname or len(hostname) < 2:
            return
        for name in {hostname, hostname.split(".", 1)[0]}:
            if len(name) >= 2 and name not in self.hostnames:
                self.hostnames[name] = "host-" + self._stream("host", name.encode(), 8)

    def add_address(self, address: str) -> None:
        """An IPv4 address (iSCSI portals in udev paths) -> ``10.x.y.z``; only in texts."""
        if address not in self.text:
            digits = self._stream("ip", address.encode(), 6)
            octets = (str(int(digits[i : i + 2], 16)) for i in (0, 2, 4))
            self.text[address] = "10." + ".".join(octets)
            self._text_re = None

    def scan_iqns(self, text: str) -> None:
        for match in IQN.finditer(text):
            self.add_text(match.group(0))

    def add_vpd83(self, data: bytes) -> None:
        for code_set, designator_type, ident in vpd83_designators(data):
            if designator_type not in IDENTIFYING_DESIGNATORS or not ident:
                continue
            if code_set == 1:  # binary
                self.add_binary(ident, designator_type)
                continue
            text = ident.decode("ascii", "replace").strip(" \0")
            self.scan_iqns(text)
            if designator_type == 0x1:  # T10: 8 bytes vendor, then (product and) serial
                words = re.split(r"[\s_]+", ident[8:].decode("ascii", "replace").strip(" \0"))
                if words:
                    self.add_text(words[-1])
            elif designator_type == 0x8:  # SCSI name string, "iqn.…,t,0x1" or "naa.…"
                self.add_text(text.split(",", 1)[0].split(".", 1)[-1])
            else:
                self.add_text(text)

    def add_vpd80(self, data: bytes) -> None:
        serial = vpd80_serial(data)
        if serial:
            self.add_text(serial.decode("ascii", "replace"))

    # -- replacing -------------------------------------------------------------------------------
    def _compiled_text(self) -> "re.Pattern[str] | None":
        if self._text_re is None and self.text:
            ordered = sorted(self.text, key=len, reverse=True)
            self._text_re = re.compile("|".join(re.escape(value) for value in ordered))
        return self._text_re

    def _binary_table(self, kind: str) -> "dict[bytes, bytes]":
        return {"designators": self.designators, "keys": self.keys}.get(kind, {})

    def _compiled_bytes(self, kind: str) -> "re.Pattern[bytes] | None":
        if kind not in self._bytes_re:
            values = list(self._binary_table(kind)) + [
                t.encode() for t in self.text if is_ascii(t) and len(self.text[t]) == len(t)
            ]
            ordered = sorted(set(values), key=len, reverse=True)
            self._bytes_re[kind] = (
                re.compile(b"|".join(re.escape(value) for value in ordered)) if ordered else None
            )
        return self._bytes_re[kind]

    def apply_text(self, value: str) -> str:
        pattern = self._compiled_text()
        if pattern is not None:
            value = pattern.sub(lambda m: self.text[m.group(0)], value)
        for name, token in self.hostnames.items():
            value = re.sub(rf"(?<![A-Za-z0-9-]){re.escape(name)}(?![A-Za-z0-9-])", token, value)
        return value

    def apply_bytes(self, value: bytes, kind: str = "") -> bytes:
        """Replace identifiers in a raw answer; ``kind`` adds "designators" or "keys"."""
        pattern = self._compiled_bytes(kind)
        if pattern is None:
            return value
        table = self._binary_table(kind)

        def _swap(match: "re.Match[bytes]") -> bytes:
            found = match.group(0)
            if found in table:
                return table[found]
            return self.text[found.decode()].encode()

        return pattern.sub(_swap, value)

    def apply(self, value: "Any") -> "Any":
        """Replace identifiers in every string of a JSON-like value."""
        if isinstance(value, str):
            return self.apply_text(value)
        if isinstance(value, list):
            return [self.apply(item) for item in value]
        if isinstance(value, dict):
            return {self.apply(k): self.apply(v) for k, v in value.items()}
        return value


def _probe_payload(probe: "dict[str, Any]") -> bytes:
    try:
        return bytes.fromhex(probe.get("stdout_hex") or "")
    except ValueError:
        return b""


def _gather(redactor: "Redactor", collection: "dict[str, Any]") -> None:
    platform = collection.get("platform") or {}
    redactor.add_hostname(platform.get("hostname"))
    disks = collection.get("disks") or []
    # identifiers found in SCSI pages first, so sysfs/udev texts built from them reuse their tokens
    for disk in disks:
        inventory = disk.get("inventory") or {}
        pages = inventory.get("sysfs_pages") or {}
        payloads = {name: bytes.fromhex(hexed) for name, hexed in pages.items() if hexed}
        for probe in disk.get("probes") or []:
            if probe.get("output_format") == "raw":
                payloads.setdefault(probe.get("name", ""), _probe_payload(probe))
            elif probe.get("name") in PR_KEY_PROBES:
                data = hexdump_bytes(_probe_payload(probe).decode("ascii", "replace"))
                for key in pr_keys(data):
                    redactor.add_binary(key)
        for name, data in payloads.items():
            if name == "vpd_0x83":
                redactor.add_vpd83(data)
            elif name == "vpd_0x80":
                redactor.add_vpd80(data)
            for match in IQN_BYTES.finditer(data):
                redactor.add_text(match.group(0).decode())
    for disk in disks:
        inventory = disk.get("inventory") or {}
        redactor.add_text(inventory.get("serial"))
        wwid = inventory.get("wwid") or ""
        redactor.add_text(wwid.split(".", 1)[-1] if re.match(r"^[a-z0-9]+\.", wwid) else wwid)
        redactor.add_text((inventory.get("dm_uuid") or "").split("-", 1)[-1])
        udev_texts = list((inventory.get("udev_properties") or {}).items())
        udev_texts += [("", link) for link in inventory.get("udev_links") or []]
        for key, value in udev_texts:
            redactor.scan_iqns(value)
            for address in IPV4.findall(value):
                redactor.add_address(address)
            if key and IDENTIFYING_UDEV_KEY.search(key):
                redactor.add_text(value)
    redactor.add_text(platform.get("dmi_chassis_asset_tag"))


def _binary_kind(name: "str | None") -> str:
    if name == "vpd_0x83":
        return "designators"
    return "keys" if name in PR_KEY_PROBES else ""


def _redact_probe(redactor: "Redactor", probe: "dict[str, Any]") -> "dict[str, Any]":
    payload = _probe_payload(probe)
    kind = _binary_kind(probe.get("name"))
    result = {k: redactor.apply(v) for k, v in probe.items() if k != "stdout_hex"}
    if probe.get("output_format") == "hex":
        text = payload.decode("ascii", "replace")
        data = hexdump_bytes(text)
        redacted = redactor.apply_bytes(data, kind)
        if redacted != data:
            text = rewrite_hexdump(text, redacted)
        payload = redactor.apply_text(text).encode()
    else:
        payload = redactor.apply_bytes(payload, kind)
    result["stdout_hex"] = payload.hex()
    return result


def redact_collection(collection: "dict[str, Any]", key: bytes) -> "dict[str, Any]":
    """A redacted copy of ``Collection.to_dict()``; the input is left as it was."""
    redactor = Redactor(key)
    _gather(redactor, collection)
    out = copy.deepcopy(collection)
    out["platform"] = redactor.apply(collection.get("platform") or {})
    disks = []
    for disk in collection.get("disks") or []:
        inventory = dict(disk.get("inventory") or {})
        pages = inventory.pop("sysfs_pages", {}) or {}
        inventory = redactor.apply(inventory)
        inventory["sysfs_pages"] = {
            name: redactor.apply_bytes(bytes.fromhex(hexed), _binary_kind(name)).hex()
            for name, hexed in pages.items()
        }
        redacted = {
            k: redactor.apply(v) for k, v in disk.items() if k not in ("inventory", "probes")
        }
        redacted["inventory"] = inventory
        redacted["probes"] = [_redact_probe(redactor, p) for p in disk.get("probes") or []]
        disks.append(redacted)
    out["disks"] = disks
    out["options"] = redactor.apply(collection.get("options") or {})
    return out
