"""Redaction for support bundles: identifiers become stable keyed hashes, consistently everywhere.

Works on the raw collection (the typed :class:`~guestprobe.collect.scan.Collection`: a redacted
copy of each record, made with ``dataclasses.replace``), before the report is built from it, so
the decoded facts, the verdicts and the raw bytes all carry the *same* tokens: one LU seen
through two paths still groups as one LU, and ``guestprobe report BUNDLE`` decodes the redacted
bytes to the redacted facts. Every string field of every record is redacted unless a field
says how (a new field is redacted as text without a word here).

What is replaced, and how (HMAC-SHA256 with a key that is never written to the bundle):

- the host name (``host-<8 hex>``), wherever it appears between non-alphanumerics (so also in
  ``rhel_node2-root``); a host name under 4 characters only where a whole value is the name;
- serial numbers (VPD page 0x80, sysfs ``serial``, udev ``ID_SERIAL*``), WWIDs, device-mapper
  names and UUIDs, the VPD 0x83 LU designators (NAA keeps its type and OUI, e.g. ``naa.6001405`` +
  hashed digits), iSCSI and NVMe qualified names (``iqn.``/``nqn.``), udev by-id/by-path links
  built from them, IPv4 and IPv6 (``[fd00::1]``) portal addresses in udev paths, and the
  PERSISTENT RESERVE keys in the PR IN answers.

Raw answers are redacted *by layout*: the fields that hold identifiers are found where the
decoders find them (``decode/vpd.py`` designator_spans and serial_number_span, ``decode/nvme.py``
SERIAL_NUMBER and SUBSYSTEM_NQN, ``decode/persist.py`` pr_key_offsets, full_status_descriptors
and initiator_span, the sg3_utils hex dump through ``decode/hexdump.py``) and replaced at their
offsets, so no other byte changes —
a redacted reservation keeps its type and scope. Identifiers of 4 characters or more are then
also replaced wherever their text appears; shorter ones only by field (a whole value, a by-id
link component, their offset in a page), never by substring search, which would hit unrelated
text. Tokens keep the length of what they replace, so pages keep their layout and still decode.
With a per-bundle random key, bundles of different nodes cannot be matched LU by LU; pass the
same ``--redact-key`` on every node for that (``guestprobe compare``).
"""


import hashlib
import hmac
import re
import secrets
import typing
from dataclasses import fields, is_dataclass, replace
from typing import Any

from guestprobe.collect.discover import BlockDisk
from guestprobe.collect.platform import PlatformFacts
from guestprobe.collect.probe import ProbeResult
from guestprobe.collect.scan import Collection, DiskCollection
from guestprobe.compat import is_ascii
from guestprobe.decode import DecodeError
from guestprobe.decode.hexdump import dump_line_bytes, rewrite_hexdump
from guestprobe.decode.nvme import SERIAL_NUMBER, SUBSYSTEM_NQN
from guestprobe.decode.persist import (
    decode_veritas_key,
    full_status_descriptors,
    initiator_span,
    pr_in_header_from_text,
    pr_key_offsets,
)
from guestprobe.decode.vpd import designator_spans, serial_number_span

MIN_IDENTIFIER = 4
# iSCSI and NVMe qualified names (RFC 3720 3.2.6.3.1, NVMe Base 4.5)
# (udev's by-path names append "-lun-N" to the target's name: not part of it)
_QN = r"[in]qn\.\d{4}-\d{2}\.(?:[A-Za-z0-9.:_]|-(?!lun-\d))+"
IQN = re.compile(_QN)
IQN_BYTES = re.compile(_QN.encode())
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6_BRACKETED = re.compile(r"\[[0-9A-Fa-f]*:[0-9A-Fa-f:.]*\]")  # udev: ip-[fd00:10::5]:3260
HEX_DIGITS = "0123456789abcdef"
# udev properties whose values identify a disk (ID_SERIAL, ID_SERIAL_SHORT, ID_WWN, …)
IDENTIFYING_UDEV_KEY = re.compile(r"SERIAL|WWN|UUID|SCSI_IDENT|ID_PATH|DM_NAME")
# VPD 0x83 designator types that identify an LU or port: vendor specific, T10, EUI-64, NAA,
# MD5 LU identifier, SCSI name string, UUID (relative target port/port groups do not)
IDENTIFYING_DESIGNATORS = {0x0, 0x1, 0x2, 0x3, 0x7, 0x8, 0xA}
FULL_STATUS_FIXED = 24  # a READ FULL STATUS descriptor before its TransportID
_UDEV_TAG = re.compile(r"[^A-Za-z0-9-]")  # what udev's path_id turns into "_" in ID_PATH_TAG


def new_key() -> bytes:
    """A per-bundle random key; kept in memory only."""
    return secrets.token_bytes(32)


def _replace_at(data: "bytearray", start: int, old: bytes, new: bytes) -> None:
    if len(new) == len(old) and data[start : start + len(old)] == old:
        data[start : start + len(old)] = new


def _stripped_span(data: bytes, start: int, end: int) -> "tuple[int, bytes]":
    """(offset, value) of the field ``data[start:end]`` without its space/NUL padding."""
    field = data[start:end]
    value = field.strip(b" \0")
    return (start + field.find(value) if value else start), value


class Redactor:
    """Collects the identifiers of one collection, then replaces them everywhere."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.text: "dict[str, str]" = {}  # identifier text -> token of the same length
        # identifiers replaced by field only (a whole value, a part of a by-id link or a mount
        # source, their offset in a page): those under MIN_IDENTIFIER characters, and names such
        # as device-mapper's that may be a common word ("root")
        self.by_field: "dict[str, str]" = {}
        # binary identifiers -> tokens of the same length, replaced only where the layout puts
        # them: LU designators in VPD 0x83 pages, reservation keys in PR IN answers
        self.designators: "dict[bytes, bytes]" = {}
        self.keys: "dict[bytes, bytes]" = {}
        self.hostnames: "dict[str, str]" = {}
        self._text_re: "typing.Pattern[str] | None" = None
        self._field_re: "typing.Pattern[str] | None" = None
        self._bytes_re: "typing.Pattern[bytes] | None" = None
        self._host_re: "typing.Pattern[str] | None" = None

    def _changed(self) -> None:
        self._text_re = self._field_re = self._bytes_re = self._host_re = None

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
        if value[:4] in ("iqn.", "nqn.") and len(value) >= 24:
            prefix = value[:4] + "2000-01.invalid:"
            return prefix + self._stream("iqn", value.encode(), len(value) - len(prefix))
        token = self._stream("text", value.encode(), len(value))
        return token.upper() if value.isupper() else token

    def _binary_token(self, value: bytes, designator_type: "int | None" = None) -> bytes:
        if designator_type is None and len(value) == 8:
            veritas = self._veritas_key_token(value)
            if veritas is not None:
                return veritas
        digits = value.hex()
        keep = 0
        if designator_type == 0x3 and digits:  # NAA: keep the NAA type, and the OUI for 5/6
            keep = 7 if digits[0] in "56" else 1
        return bytes.fromhex(digits[:keep] + self._stream("binary", value, len(digits) - keep))

    def _veritas_key_token(self, value: bytes) -> "bytes | None":
        """A Veritas registration key keeps its format, so that a redacted bundle is judged
        like the original (whose cluster holds the LU): a coordinator key ``VF`` + cluster id +
        node id keeps ``VF`` and the node id, its cluster id becomes 4 other hex digits (the same
        for every node of the cluster); a data
        disk key keeps its node byte and ``PGR``/``VCS``, its last 4 characters become 4 hex
        digits. Node ids (0-63) and the scheme identify nobody; the cluster id might."""
        found = decode_veritas_key(int.from_bytes(value, "big"))
        if found is None:
            return None
        if found.scheme == "vxfen_coordinator":  # by the cluster id alone: one cluster's
            # nodes keep one (redacted) cluster id, so compare still tells whose keys they are
            return value[:2] + self._stream("cluster", value[2:6], 4).upper().encode() + value[6:]
        return value[:4] + self._stream("binary", value, 4).upper().encode()

    def token(self, value: str) -> str:
        """The token of an identifier (registered on first use); ``value`` as given if blank."""
        value = value.strip(" \0\t\n")
        if not value:
            return value
        if len(value) < MIN_IDENTIFIER or value in self.by_field:
            self.add_field(value)
            return self.by_field[value]
        self.add_text(value)
        if value not in self.text:  # built from known identifiers: a token of its own here,
            self.text[value] = self._text_token(value)  # as the field must keep its length
            self._changed()
        return self.text[value]

    def add_field(self, value: "str | None") -> None:
        """An identifier replaced by field only (see ``by_field``)."""
        value = (value or "").strip(" \0\t\n")
        if value and value not in self.by_field and value not in self.text:
            self.by_field[value] = self._text_token(value)
            self._changed()

    # -- registering identifiers -----------------------------------------------------------------
    def add_text(self, value: "str | None") -> None:
        if value is None:
            return
        value = value.strip(" \0\t\n")
        if not value or value in self.text or value in self.by_field:
            return
        if len(value) < MIN_IDENTIFIER:
            self.token(value)
            return
        if self.apply_text(value) != value:  # built from identifiers already known: covered
            return
        self._register(value, self._text_token(value))

    def _register(self, value: str, token: str) -> None:
        """``value`` -> ``token`` everywhere, and in udev's spellings of it: spaces as ``_``
        (ID_SERIAL) and, in ID_PATH_TAG, every character but ``[A-Za-z0-9-]`` as ``_``."""
        self.text[value] = token
        for spelling in (lambda t: t.replace(" ", "_"), lambda t: _UDEV_TAG.sub("_", t)):
            if spelling(value) != value and len(spelling(value)) >= MIN_IDENTIFIER:
                self.text.setdefault(spelling(value), spelling(token))
        self._changed()

    def add_binary(self, value: bytes, designator_type: "int | None" = None) -> bytes:
        """A binary LU designator (``designator_type`` from VPD 0x83), or a PR key (None);
        returns its token."""
        table = self.keys if designator_type is None else self.designators
        if not value.strip(b"\0"):
            return value
        if value not in table:
            table[value] = self._binary_token(value, designator_type)
            if len(value) >= MIN_IDENTIFIER:  # its hex text (WWIDs, udev names) too
                self.text[value.hex()] = table[value].hex()
                self.text[value.hex().upper()] = table[value].hex().upper()
            self._changed()
        return table[value]

    def add_hostname(self, hostname: "str | None") -> None:
        if not hostname or len(hostname) < 2:
            return
        for name in {hostname, hostname.split(".", 1)[0]}:
            if len(name) < 2 or name in self.hostnames or name in self.by_field:
                continue
            token = "host-" + self._stream("host", name.encode(), 8)
            if len(name) < MIN_IDENTIFIER:
                self.by_field[name] = token  # by field only: "db" is inside too many words
            else:
                self.hostnames[name] = token
            self._changed()

    def add_address(self, address: str) -> None:
        """An IPv4 address (iSCSI portals in udev paths) -> ``10.x.y.z``; only in texts."""
        if address not in self.text:
            digits = self._stream("ip", address.encode(), 6)
            octets = (str(int(digits[i : i + 2], 16)) for i in (0, 2, 4))
            self._register(address, "10." + ".".join(octets))

    def add_address6(self, bracketed: str) -> None:
        """An IPv6 portal as udev writes it, ``[fd00:10::5]`` -> ``[fdxx:xxxx::xxxx]``."""
        if bracketed not in self.text:
            digits = self._stream("ip6", bracketed.lower().encode(), 10)
            self._register(bracketed, f"[fd{digits[:2]}:{digits[2:6]}::{digits[6:]}]")

    def scan_texts(self, text: str) -> None:
        """Qualified names and portal addresses inside a udev value or link."""
        for match in IQN.finditer(text):
            self.add_text(match.group(0))
        for address in IPV4.findall(text):
            self.add_address(address)
        for address in IPV6_BRACKETED.findall(text):
            self.add_address6(address)

    # -- raw answers, by layout ------------------------------------------------------------------
    def _ascii_designator_spans(
        self, designator_type: int, ident: bytes
    ) -> "list[tuple[int, bytes]]":
        """(offset in ``ident``, identifying text) of an ASCII designator's identifying parts."""
        if designator_type == 0x1:  # T10: 8 bytes vendor, then (product and) serial: the last word
            rest = ident[8:].rstrip(b" \0")
            words = re.split(rb"[\s_]+", rest)
            last = words[-1] if words else b""
            return [(8 + len(rest) - len(last), last)] if last else []
        if designator_type == 0x8:  # SCSI name string, "iqn.…,t,0x1" or "naa.…"
            name = ident.split(b",", 1)[0].rstrip(b"\0 ")
            if IQN_BYTES.fullmatch(name):
                return [(0, name)]
            head, _, tail = name.partition(b".")
            return [(len(head) + 1, tail)] if tail else [(0, name)]
        offset, value = _stripped_span(ident, 0, len(ident))
        return [(offset, value)] if value else []

    def redact_vpd83(self, data: bytes) -> bytes:
        out = bytearray(data)
        for span in designator_spans(data):
            dtype, ident = span.type_code, span.value
            if dtype in IDENTIFYING_DESIGNATORS and ident:
                if span.code_set == 1:
                    _replace_at(out, span.start, ident, self.add_binary(ident, dtype))
                else:
                    for at, value in self._ascii_designator_spans(dtype, ident):
                        text = value.decode("ascii", "replace")
                        token = self.token(text).encode("ascii", "replace")
                        _replace_at(out, span.start + at, value, token)
        return bytes(out)

    def redact_vpd80(self, data: bytes) -> bytes:
        field = serial_number_span(data)
        return data if field is None else self._redact_fields(data, [field])

    def redact_identify(self, data: bytes) -> bytes:
        """NVMe Identify Controller: its serial number and subsystem NQN, in place."""
        return self._redact_fields(data, [SERIAL_NUMBER, SUBSYSTEM_NQN])

    def _redact_fields(self, data: bytes, spans: "list[tuple[int, int]]") -> bytes:
        out = bytearray(data)
        for start, end in spans:
            at, value = _stripped_span(data, start, min(end, len(data)))
            if value:
                token = self.token(value.decode("ascii", "replace")).encode("ascii", "replace")
                _replace_at(out, at, value, token)
        return bytes(out)

    def redact_pr_keys(self, probe_name: "str | None", data: bytes) -> bytes:
        """The keys in PR IN parameter data (probe ``pr_read_keys``, ``pr_read_reservation``
        or ``pr_read_full_status``), and in READ FULL STATUS each TransportID's initiator
        (iSCSI name, FC N_Port_Name, SAS address), replaced at their offsets."""
        service_action = (probe_name or "")[len("pr_"):] if (probe_name or "")[:3] == "pr_" else ""
        out = bytearray(data)
        for at in pr_key_offsets(service_action, data):
            key = data[at : at + 8]
            _replace_at(out, at, key, self.add_binary(key))
        if service_action == "read_full_status":
            for start, end in full_status_descriptors(data):
                self._redact_transport_id(out, data[start + FULL_STATUS_FIXED : end],
                                          start + FULL_STATUS_FIXED)
        return bytes(out)

    def _redact_transport_id(self, out: "bytearray", tid: bytes, at: int) -> None:
        """One TransportID (SPC-4 7.6.4), ``tid``, at offset ``at`` of ``out``: its initiator's
        name (decode/persist.py initiator_span; the iSCSI session id identifies nobody)."""
        span = initiator_span(tid)
        if span is None:
            return
        value = tid[span[0] : span[1]]
        if tid[0] & 0x0F == 0x5:  # an iSCSI name: text
            if value and is_ascii(value.decode("latin-1")):
                token = self.token(value.decode("ascii")).encode("ascii", "replace")
                _replace_at(out, at + span[0], value, token)
        else:  # an FC N_Port_Name or a SAS address: as an NAA designator
            _replace_at(out, at + span[0], value, self.add_binary(value, 0x3))

    # -- replacing in texts ----------------------------------------------------------------------
    def _compiled_text(self) -> "typing.Pattern[str] | None":
        if self._text_re is None and self.text:
            ordered = sorted(self.text, key=len, reverse=True)
            self._text_re = re.compile("|".join(re.escape(value) for value in ordered))
        return self._text_re

    def _compiled_hosts(self) -> "typing.Pattern[str] | None":
        if self._host_re is None and self.hostnames:
            names = "|".join(re.escape(n) for n in sorted(self.hostnames, key=len, reverse=True))
            self._host_re = re.compile(rf"(?<![A-Za-z0-9])(?:{names})(?![A-Za-z0-9])")
        return self._host_re

    def _compiled_bytes(self) -> "typing.Pattern[bytes] | None":
        if self._bytes_re is None:
            values = [
                t.encode() for t in self.text if is_ascii(t) and len(self.text[t]) == len(t)
            ]
            ordered = sorted(set(values), key=len, reverse=True)
            self._bytes_re = (
                re.compile(b"|".join(re.escape(value) for value in ordered)) if ordered else None
            )
        return self._bytes_re

    def apply_text(self, value: str) -> str:
        pattern = self._compiled_text()
        if pattern is not None:
            value = pattern.sub(lambda m: self.text[m.group(0)], value)
        hosts = self._compiled_hosts()
        if hosts is not None:
            value = hosts.sub(lambda m: self.hostnames[m.group(0)], value)
        return value

    def apply_field(self, value: "Any") -> "Any":
        """:meth:`apply` for an identifying field: also the by-field identifiers where they are
        the whole value or a part between separators (``virtio-AB1``, ``/dev/mapper/NAME``)."""
        if not isinstance(value, str):
            return self.apply(value)
        if self.by_field:
            if self._field_re is None:
                ordered = sorted(self.by_field, key=len, reverse=True)
                names = "|".join(re.escape(n) for n in ordered)
                self._field_re = re.compile(rf"(?<![A-Za-z0-9.:])(?:{names})(?![A-Za-z0-9.:])")
            value = self._field_re.sub(lambda m: self.by_field[m.group(0)], value)
        return self.apply_text(value)

    def apply_bytes(self, value: bytes) -> bytes:
        """Identifiers of 4 characters or more, wherever their text is in a raw answer."""
        pattern = self._compiled_bytes()
        if pattern is None:
            return value
        return pattern.sub(lambda m: self.text[m.group(0).decode()].encode(), value)

    def apply(self, value: "Any") -> "Any":
        """Replace identifiers in every string of a JSON-like value (or record)."""
        if isinstance(value, str):
            return self.apply_text(value)
        if isinstance(value, list):
            return [self.apply(item) for item in value]
        if isinstance(value, dict):
            return {self.apply(k): self.apply(v) for k, v in value.items()}
        if is_dataclass(value) and not isinstance(value, type):  # a record inside one
            return _redacted(self, value)
        return value


def _probe_payload(probe: "ProbeResult") -> bytes:
    try:
        return bytes.fromhex(probe.stdout_hex or "")
    except ValueError:
        return b""


def _is_nvme(disk: "BlockDisk") -> bool:
    """As ``facts.disk_facts`` tells it: sg_inq then answers with Identify Controller data."""
    return "nvme" in (disk.driver_chain or []) or bool(disk.nvme_transport)


def _redact_page(
    redactor: "Redactor", name: "str | None", data: bytes, nvme: bool, everywhere: bool = True
) -> bytes:
    """A raw answer (or sysfs page) with its identifying fields replaced by layout, then (with
    ``everywhere``) the known identifiers of 4 characters or more wherever they appear."""
    if name == "vpd_0x83":
        data = redactor.redact_vpd83(data)
    elif name == "vpd_0x80":
        data = redactor.redact_vpd80(data)
    elif name == "inquiry" and nvme:
        data = redactor.redact_identify(data)
    return redactor.apply_bytes(data) if everywhere else data


def _pr_in_data(text: str) -> "tuple[bytes, bytes]":
    """(the header where sg_persist printed it as text (sg3_utils 1.37), else nothing; the
    parameter data: that header and the dump's bytes) of ``sg_persist --hex --hex`` output."""
    try:
        header = pr_in_header_from_text(text)
    except DecodeError:
        header = b""
    return header, header + dump_line_bytes(text)


def _redact_hex_probe(redactor: "Redactor", name: "str | None", text: str) -> str:
    """``sg_persist --hex --hex`` output: the keys replaced at their offsets, nothing else; lines
    that are not part of the dump are texts."""
    header, data = _pr_in_data(text)
    redacted = redactor.redact_pr_keys(name, data)[len(header):]
    return rewrite_hexdump(text, redacted, other=redactor.apply_text)


def _udev_values(disk: "BlockDisk") -> "list[tuple[str, str]]":
    values = [(k, v) for k, v in (disk.udev_properties or {}).items() if isinstance(v, str)]
    return values + [("", link) for link in disk.udev_links or []]


def _gather(redactor: "Redactor", collection: "Collection") -> None:
    platform = collection.platform
    redactor.add_hostname(platform.hostname)
    # identifiers found in SCSI pages first, so sysfs/udev texts built from them reuse their tokens
    for disk in collection.disks:
        nvme = _is_nvme(disk.disk)
        pages = disk.disk.sysfs_pages or {}
        payloads = [(name, bytes.fromhex(hexed)) for name, hexed in pages.items() if hexed]
        for probe in disk.probes:
            data = _probe_payload(probe)
            if probe.output_format == "hex":
                redactor.redact_pr_keys(probe.name, _pr_in_data(data.decode("ascii", "replace"))[1])
            else:
                payloads.append((probe.name, data))
        for name, data in payloads:
            for match in IQN_BYTES.finditer(data):
                redactor.add_text(match.group(0).decode())
            _redact_page(redactor, name, data, nvme, everywhere=False)  # registers the fields
    for inventory in (disk.disk for disk in collection.disks):
        redactor.add_text(inventory.serial)
        wwid = inventory.wwid or ""
        redactor.add_text(wwid.split(".", 1)[-1] if re.match(r"^[a-z0-9]+\.", wwid) else wwid)
        redactor.add_text((inventory.dm_uuid or "").split("-", 1)[-1])
        redactor.add_field(inventory.dm_name)  # LVM names carry host names, multipath WWIDs
        for key, value in _udev_values(inventory):
            redactor.scan_texts(value)
            if key == "DM_NAME":
                redactor.add_field(value)
            elif key and IDENTIFYING_UDEV_KEY.search(key):
                redactor.add_text(value)
    redactor.add_text(platform.dmi_chassis_asset_tag)


Record = typing.TypeVar("Record")


def _redacted(
    redactor: "Redactor", record: "Record", **how: "typing.Callable[[Any], Any]"
) -> "Record":
    """A copy of the dataclass ``record``, each field named in ``how`` through its function,
    every other one through :meth:`Redactor.apply` (so a field added later is redacted too)."""
    changes = {f.name: how.get(f.name, redactor.apply)(getattr(record, f.name))
               for f in fields(record)}
    return replace(record, **changes)  # type: ignore[type-var]


def _redact_probe(redactor: "Redactor", probe: "ProbeResult", nvme: bool) -> "ProbeResult":
    def payload(_: str) -> str:
        data = _probe_payload(probe)
        if probe.output_format == "hex":
            text = data.decode("ascii", "replace")
            return _redact_hex_probe(redactor, probe.name, text).encode().hex()
        return _redact_page(redactor, probe.name, data, nvme).hex()

    return _redacted(redactor, probe, stdout_hex=payload)


# udev properties that are paths (by-path names: "-lun-1" is no serial)
_UDEV_PATHS = re.compile(r"^ID_PATH")


def _redact_link(redactor: "Redactor", link: str) -> str:
    """A by-id link is built from identifiers; other links (by-path) are texts."""
    return redactor.apply_field(link) if "/by-id/" in link else redactor.apply_text(link)


def _redact_udev(redactor: "Redactor", key: str, value: "Any") -> "Any":
    if not isinstance(value, str):
        return redactor.apply(value)
    if key == "DEVLINKS":
        return " ".join(_redact_link(redactor, link) for link in value.split(" "))
    if IDENTIFYING_UDEV_KEY.search(key) and not _UDEV_PATHS.search(key):
        return redactor.apply_field(value)
    return redactor.apply_text(value)


def _redact_inventory(redactor: "Redactor", disk: "BlockDisk") -> "BlockDisk":
    """The disk's record: the fields that hold an identifier (a whole value, or links and names
    built from one) by field, its pages by layout, the rest as texts."""
    nvme = _is_nvme(disk)

    def mount(entry: "dict[str, Any]") -> "dict[str, Any]":
        return {k: redactor.apply_field(v) if k == "source" else redactor.apply(v)
                for k, v in entry.items()}

    return _redacted(
        redactor, disk,
        sysfs_pages=lambda pages: {
            name: _redact_page(redactor, name, bytes.fromhex(hexed), nvme).hex()
            for name, hexed in (pages or {}).items()
        },
        udev_links=lambda links: [_redact_link(redactor, link) for link in links or []],
        udev_properties=lambda properties: {
            k: _redact_udev(redactor, k, v) for k, v in (properties or {}).items()
        },
        mounts=lambda mounts: [mount(entry) for entry in mounts or []],
        serial=redactor.apply_field,
        wwid=redactor.apply_field,
        dm_name=redactor.apply_field,
        dm_uuid=redactor.apply_field,
    )


def _redact_disk(redactor: "Redactor", disk: "DiskCollection") -> "DiskCollection":
    nvme = _is_nvme(disk.disk)
    return _redacted(
        redactor, disk,
        disk=lambda inventory: _redact_inventory(redactor, inventory),
        probes=lambda probes: [_redact_probe(redactor, p, nvme) for p in probes or []],
    )


def _redact_platform(redactor: "Redactor", platform: "PlatformFacts") -> "PlatformFacts":
    return _redacted(redactor, platform, hostname=redactor.apply_field,
                     dmi_chassis_asset_tag=redactor.apply_field)


def redact_collection(collection: "Collection", key: bytes) -> "Collection":
    """A redacted copy of ``collection``: its platform, disks and options (what the scan was
    asked is texts too); the input is left as it was."""
    redactor = Redactor(key)
    _gather(redactor, collection)
    return replace(
        collection,
        platform=_redact_platform(redactor, collection.platform),
        disks=[_redact_disk(redactor, disk) for disk in collection.disks],
        options=redactor.apply(collection.options or {}),
    )


# -- the host's view of a redacted guest (report/compare --host) --------------------------------
# path components that name nothing (kept, so a redacted path still says what kind it is)
_GENERIC_PATH_PARTS = frozenset((
    "", ".", "..", "dev", "disk", "by-id", "by-path", "by-uuid", "mapper", "vx", "dmp", "rdmp",
    "var", "lib", "libvirt", "images", "qemu", "run", "kubevirt", "srv", "mnt", "data", "sg",
))


_KERNEL_NAME = re.compile(r"^(?:[sv]d[a-z]{1,3}|sg\d+|dm-\d+|nvme\d+n\d+)$")


def _redact_path(redactor: "Redactor", path: "Any") -> "Any":
    """Each path component with the identifiers it is built from replaced, else (a name of its
    own: an image file, a volume group) as one token that keeps its extension."""
    if not isinstance(path, str):
        return redactor.apply(path)
    parts = []
    device = path.startswith("/dev/")  # by-id and mapper names: built from the LU's identifiers
    for part in path.split("/"):
        known = redactor.apply_field(part)
        if part in _GENERIC_PATH_PARTS or part.isdigit() or _KERNEL_NAME.match(part) or (
                device and known != part):
            parts.append(known)
            continue
        stem, dot, suffix = part.rpartition(".")
        if not stem or len(suffix) > 6:
            stem, dot, suffix = part, "", ""
        parts.append(redactor.token(stem) + dot + suffix)
    return "/".join(parts)


def _register_host_disk(redactor: "Redactor", disk: "dict[str, Any]") -> None:
    redactor.add_text(disk.get("serial") if isinstance(disk.get("serial"), str) else None)
    for value in (disk.get("wwn"), disk.get("lu_designator")):
        digits = value.split(".", 1)[-1].lower() if isinstance(value, str) else ""
        if digits and len(digits) % 2 == 0 and all(c in HEX_DIGITS for c in digits):
            redactor.add_binary(bytes.fromhex(digits), 0x3)  # as VPD 0x83 NAA, and its hex text
    source = disk.get("source") if isinstance(disk.get("source"), dict) else {}
    hosts = source.get("hosts") if isinstance(source.get("hosts"), list) else []
    for value in [source.get("path"), source.get("name"), *hosts]:
        if isinstance(value, str):
            redactor.scan_texts(value)


def _redact_host_disk(redactor: "Redactor", disk: "dict[str, Any]") -> "dict[str, Any]":
    out = dict(disk)
    serial = disk.get("serial")
    if isinstance(serial, str) and serial.strip():
        out["serial"] = redactor.token(serial)
    for key in ("wwn", "lu_designator"):
        out[key] = redactor.apply_text(disk[key]) if isinstance(disk.get(key), str) else None
    source = disk.get("source")
    if isinstance(source, dict):
        source = dict(source)
        for key in ("path", "name", "pool", "volume"):
            if isinstance(source.get(key), str):
                source[key] = _redact_path(redactor, source[key])
        source["hosts"] = redactor.apply(source.get("hosts"))
        out["source"] = source
    reservations = disk.get("reservations")
    if isinstance(reservations, dict) and isinstance(reservations.get("socket_path"), str):
        out["reservations"] = dict(reservations,
                                   socket_path=_redact_path(redactor, reservations["socket_path"]))
    return out


def redact_host_domains(domains: "list[dict[str, Any]]", key: bytes) -> "list[dict[str, Any]]":
    """The domains of a ``guestprobe host`` document with the tokens a bundle redacted with the
    same ``key`` carries: a serial, LU designator (NAA keeps its type and OUI, as in VPD 0x83),
    IQN or portal address gets the very token the guest's copy of it got, so the join still
    matches; the domain's name gets the host-name token (a domain is often named as its guest),
    its UUID and every source path (image files, volume groups, sockets) a token of their own.
    The input is left as it was."""
    redactor = Redactor(key)
    for domain in domains:
        if isinstance(domain.get("name"), str):
            redactor.add_hostname(domain["name"])
        for disk in domain.get("disks") or []:
            if isinstance(disk, dict):
                _register_host_disk(redactor, disk)
    out = []
    for domain in domains:
        copied = dict(domain)
        if isinstance(domain.get("name"), str):
            copied["name"] = redactor.apply_field(domain["name"])
        if isinstance(domain.get("uuid"), str):
            copied["uuid"] = redactor.token(domain["uuid"])
        copied["disks"] = [_redact_host_disk(redactor, d) if isinstance(d, dict) else d
                           for d in domain.get("disks") or []]
        copied["virtio_devices"] = redactor.apply(domain.get("virtio_devices"))
        out.append(copied)
    return out
