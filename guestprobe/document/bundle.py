"""The support bundle's own JSON: its manifest and its versions record (``manifest.json``,
``versions.json``; :mod:`guestprobe.bundle.archive` packs and unpacks them).

The records' ``to_dict()`` is what a bundle holds (their key names are spelled here only); a
manifest read back is checked by :func:`check_manifest` (and its MAC by :func:`check_mac`), each
problem one line naming it (:class:`~guestprobe.errors.BadInputError`).
"""


import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional

from guestprobe.document.codec import Record
from guestprobe.document.model import Tool
from guestprobe.errors import BadInputError

BUNDLE_FORMAT = "guestprobe-bundle"
BUNDLE_FORMAT_VERSION = 1
MAC_METHOD = "hmac-sha256"
MAC_CONTEXT = b"guestprobe-bundle-manifest\0"  # the redaction tokens use the key for other input


@dataclass(frozen=True)
class ManifestFile(Record):
    """One member of the bundle, by its size and SHA-256."""

    name: str
    size: int
    sha256: str

    @classmethod
    def of(cls, name: str, data: bytes) -> "ManifestFile":
        return cls(name, len(data), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class ManifestMac(Record):
    method: str
    value: str


@dataclass(frozen=True)
class Manifest(Record):
    """``manifest.json``: what the bundle is, and every member's sums (with ``collect
    --redact-key``, an HMAC-SHA256 of all the rest: ``mac``)."""

    OMIT_NONE = ("mac",)

    format: str
    format_version: int
    schema_version: "Optional[str]"
    tool: "Tool"
    created_at: str
    redaction: "Optional[Dict[str, Any]]"
    files: "List[ManifestFile]"
    mac: "Optional[ManifestMac]" = None

    def keyed(self, key: bytes) -> "Manifest":
        """This manifest with its MAC under ``key``."""
        return replace(self, mac=ManifestMac(MAC_METHOD, manifest_mac(self.to_dict(), key)))


@dataclass(frozen=True)
class Sg3Versions(Record):
    release: "Optional[str]"
    sg_inq_version: "Optional[str]"


@dataclass(frozen=True)
class Versions(Record):
    """``versions.json``: everything that shaped the report."""

    guestprobe: str
    report_schema: "Optional[str]"
    python: str
    click: "Optional[str]"
    pyudev: "Optional[str]"
    sg3_utils: "Sg3Versions"
    kernel: "Optional[str]"
    os_release: "Dict[str, str]"

    @staticmethod
    def sg3_of(facts: "Dict[str, Any]") -> "Sg3Versions":
        """The release of the platform's sg3_utils facts (``PlatformFacts.sg3_utils``)."""
        return Sg3Versions(facts.get("release"), facts.get("sg_inq_version"))


def manifest_mac(manifest: "Dict[str, Any]", key: bytes) -> str:
    """HMAC-SHA256 of the manifest (all but its ``mac`` field), in a canonical JSON form."""
    body = {name: value for name, value in manifest.items() if name != "mac"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, MAC_CONTEXT + canonical, hashlib.sha256).hexdigest()


def check_mac(manifest: "Dict[str, Any]", key: bytes, source: str) -> None:
    """BadInputError unless the manifest read back carries the MAC ``key`` gives it."""
    mac = manifest.get("mac")
    if not isinstance(mac, dict) or mac.get("method") != MAC_METHOD:
        raise BadInputError(
            f"{source}: bundle carries no MAC (collected without --redact-key), so the key "
            "cannot verify it; refused"
        )
    value = mac.get("value")
    if not isinstance(value, str) or not hmac.compare_digest(value, manifest_mac(manifest, key)):
        raise BadInputError(
            f"{source}: bundle MAC does not match the key (edited after collection, or "
            "collected with another key)"
        )


def check_manifest(manifest: "Any", files: "Dict[str, bytes]", source: str, report: str,
                   unlisted_ok: "tuple[str, ...]") -> None:
    """BadInputError unless ``manifest`` (read back) is a bundle manifest of a format this
    guestprobe reads whose sums match ``files`` and which lists every one of them but
    ``unlisted_ok``, ``report`` among them."""
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BadInputError(f"{source}: not a guestprobe bundle (manifest is foreign)")
    version = manifest.get("format_version")
    if type(version) is not int or version != BUNDLE_FORMAT_VERSION:  # not true, not 1.0
        raise BadInputError(
            f"{source}: bundle format {str(version)[:20]!r} is not "
            f"readable by this guestprobe (reads {BUNDLE_FORMAT_VERSION})"
        )
    if not isinstance(manifest.get("redaction"), (dict, type(None))):
        raise BadInputError(f"{source}: bundle manifest is damaged (redaction)")
    listed = manifest.get("files")
    if not isinstance(listed, list):
        raise BadInputError(f"{source}: bundle manifest has no file list")
    names = set()
    for entry in listed:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            raise BadInputError(f"{source}: bundle manifest is damaged (a file without a name)")
        if name not in files:
            raise BadInputError(f"{source}: bundle is incomplete ({name[:40]!r} is missing)")
        data = files[name]
        digest = hashlib.sha256(data).hexdigest()
        if entry.get("size") != len(data) or entry.get("sha256") != digest:
            raise BadInputError(
                f"{source}: {name} does not match the bundle manifest "
                "(damaged or cut off after collection)"
            )
        names.add(name)
    unlisted = sorted(set(files) - names - set(unlisted_ok))
    if unlisted or report not in names:
        raise BadInputError(
            f"{source}: bundle manifest does not cover {', '.join(unlisted) or report}"
        )
