"""The support bundle: one .tar.gz with the JSON report, the versions, and a manifest of both.

Layout (flat, three regular files and an optional fourth, nothing else)::

    manifest.json   {"format": "guestprobe-bundle", "format_version": 1, "schema_version": "1.0",
                     "tool": {...}, "created_at": ..., "redaction": {...} | null,
                     "files": [{"name": "report.json", "size": 81234, "sha256": "…"}, …]}
    report.json     the full JSON report: every probe's argv, exit status, raw bytes, stderr and
                    timing, the sysfs/udev inventory, the decoded facts and the verdicts
    versions.json   guestprobe, Python, click, pyudev, sg3_utils, kernel and OS release
    report.html     (optional) the same report as one self-contained page, for people

The report already holds everything needed to decode and judge again; no data block and no file
content is ever part of a bundle. Reading is bounded (the unpacked size, each member's real size;
sparse and non-regular members refused) and checks every byte against the manifest, so a damaged,
truncated or foreign bundle is refused with one line (:class:`~guestprobe.errors.BadInputError`).
The sums do not stop a deliberate edit (they can be recomputed); a manifest written with a key
(``collect --redact-key``) carries an HMAC-SHA256 of itself, which does, when read with the key.
"""


import gzip
import importlib
import io
import json
import platform as platform_module
import re
import tarfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from guestprobe import __version__
from guestprobe.collect.platform import PlatformFacts
from guestprobe.document import inputs
from guestprobe.document.bundle import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    MAC_METHOD,
    Manifest,
    ManifestFile,
    Versions,
    check_mac,
    check_manifest,
)
from guestprobe.document.model import Tool
from guestprobe.errors import BadInputError

__all__ = ["BUNDLE_FORMAT", "BUNDLE_FORMAT_VERSION", "MAC_METHOD", "Bundle", "build_bundle",
           "default_bundle_name", "describe_versions", "is_bundle", "read_bundle"]

MANIFEST = "manifest.json"
REPORT = "report.json"
VERSIONS = "versions.json"
MEMBERS = (MANIFEST, REPORT, VERSIONS)
REPORT_HTML = "report.html"  # the same report as a page for people (collect writes it)
OPTIONAL_MEMBERS = (REPORT_HTML,)
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1024 * 1024
_FIRST_PIECE = 64  # the first input piece of a gzip member (an empty member is 20 bytes)


@dataclass
class Bundle:
    manifest: "dict[str, Any]"
    report: "dict[str, Any]"
    versions: "dict[str, Any]"
    verified: bool = False  # the manifest's MAC was checked with the collector's key


def is_bundle(data: bytes) -> bool:
    """A gzip stream (what every bundle is); the content is checked by :func:`read_bundle`."""
    return data[:2] == GZIP_MAGIC


def _json_bytes(value: "Any") -> bytes:
    return (json.dumps(value, indent=2, sort_keys=False) + "\n").encode()


def _package_version(name: str) -> "str | None":
    """The version of an importable library (the bundled copy where the RPM carries one)."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # Python < 3.8: the module's own attribute
        pass
    else:
        try:
            return version(name)
        except PackageNotFoundError:
            pass  # bundled inside the RPM's own directory: no distribution metadata
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    found = getattr(module, "__version__", None)
    return str(found) if found is not None else None


def _os_release(path: "Path") -> "dict[str, str]":
    wanted = {"ID", "NAME", "VERSION_ID", "PRETTY_NAME"}
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in wanted:
            fields[key] = value.strip().strip("\"'")
    return fields


def describe_versions(
    platform: "PlatformFacts", schema_version: "str | None",
    os_release: "Path" = Path("/etc/os-release"),
) -> "Versions":
    """Versions of everything that shaped the report (of ``schema_version``, on ``platform``):
    tool, libraries, sg3_utils, kernel, OS."""
    return Versions(
        guestprobe=__version__,
        report_schema=schema_version,
        python=platform_module.python_version(),
        click=_package_version("click"),
        pyudev=_package_version("pyudev"),
        sg3_utils=Versions.sg3_of(platform.sg3_utils or {}),
        kernel=platform.kernel_release,
        os_release=_os_release(os_release),
    )


def default_bundle_name(hostname: "str | None", generated_at: "str | None") -> str:
    """``guestprobe-HOST-TIME.tar.gz``: a file name (never a path) whatever the host name."""
    host = re.sub(r"[^A-Za-z0-9._-]", "_", hostname or "guest").lstrip(".")[:64] or "guest"
    stamp = (generated_at or "").replace(":", "").replace("-", "")[:15]
    return f"guestprobe-{host}-{stamp or 'now'}.tar.gz"


def _add(tar: "tarfile.TarFile", name: str, data: bytes, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = mtime
    info.mode = 0o600
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    tar.addfile(info, io.BytesIO(data))


def build_bundle(
    document: "dict[str, Any]",
    versions: "Versions | dict[str, Any]",
    redaction: "dict[str, Any] | None" = None,
    created_at: "datetime | None" = None,
    key: "bytes | None" = None,
    report_html: "bytes | None" = None,
) -> bytes:
    """The bundle's bytes (a gzip'd tar); write them with ``write_atomically(..., mode=0o600)``.

    With ``key`` (a ``--redact-key`` given by the user) the manifest carries an HMAC-SHA256 of
    itself, which :func:`read_bundle` verifies when given the same key.
    """
    created = created_at or datetime.now(timezone.utc)
    mtime = int(created.timestamp())
    if isinstance(versions, Versions):
        versions = versions.to_dict()
    payload = {REPORT: _json_bytes(document), VERSIONS: _json_bytes(versions)}
    if report_html is not None:
        payload[REPORT_HTML] = report_html
    manifest = Manifest(
        format=BUNDLE_FORMAT,
        format_version=BUNDLE_FORMAT_VERSION,
        schema_version=document.get("schema_version"),
        tool=Tool("guestprobe", __version__),
        created_at=created.isoformat(timespec="seconds"),
        redaction=redaction,
        files=[ManifestFile.of(name, data) for name, data in payload.items()],
    )
    if key is not None:
        manifest = manifest.keyed(key)
    buffer = io.BytesIO()
    # the gzip header's mtime is fixed too: the same report always gives the same bundle bytes
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=mtime) as gz:  # noqa: SIM117
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            _add(tar, MANIFEST, _json_bytes(manifest.to_dict()), mtime)
            for name, data in payload.items():
                _add(tar, name, data, mtime)
    return buffer.getvalue()


def _gunzip(data: bytes, source: str) -> bytes:
    """Decompress the whole stream, bounded; a cut-off stream is an error, never a short read.

    Linear in the input whatever its number of gzip members: each member is fed from a view of
    ``data`` in pieces that start small (:data:`_FIRST_PIECE`) and double, so what zlib copies
    after a member's end (``unused_data``) is at most one piece, never the rest of the input.
    """
    limit = unpacked_limit()
    out = bytearray()
    view = memoryview(data)
    position = 0
    while position < len(view):  # gzip allows several members one after the other
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        piece_size = _FIRST_PIECE
        try:
            while not inflater.eof and position < len(view):
                pending = view[position : position + piece_size]
                position += len(pending)
                piece_size = min(piece_size * 2, _CHUNK)
                while pending and not inflater.eof:
                    out += inflater.decompress(pending, _CHUNK)
                    pending = inflater.unconsumed_tail
                    if len(out) > limit:
                        raise BadInputError(
                            f"{source}: bundle unpacks to more than {limit >> 20} MiB; refused"
                        )
        except zlib.error as exc:
            raise BadInputError(f"{source}: not a guestprobe bundle (bad gzip: {exc})") from None
        if not inflater.eof:
            raise BadInputError(f"{source}: bundle is truncated (the gzip stream ends early)")
        position -= len(inflater.unused_data)  # the next member starts in this piece
    return bytes(out)


def unpacked_limit() -> int:
    """What a bundle may unpack to: one report of the largest size, the rest, tar headers."""
    return inputs.MAX_INPUT_BYTES + _CHUNK


def _members(raw: bytes, source: str) -> "dict[str, bytes]":
    """The members' bytes, sliced from the unpacked tar itself (their real size, never more).

    Only plain regular members are read: GNU or PAX sparse members (whose stated size can be
    gigabytes of holes in a few bytes of archive), links, devices and directories are refused.
    """
    files: "dict[str, bytes]" = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for info in tar:
                if info.name not in MEMBERS + OPTIONAL_MEMBERS:
                    raise BadInputError(
                        f"{source}: not a guestprobe bundle (unexpected member {info.name!r})"
                    )
                sparse = info.sparse is not None or any(
                    key.startswith("GNU.sparse") for key in info.pax_headers
                )
                if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or sparse:
                    what = "a sparse file" if sparse else "not a plain file"
                    raise BadInputError(f"{source}: {info.name} in the bundle is {what}; refused")
                if info.name in files:
                    raise BadInputError(f"{source}: {info.name} appears twice in the bundle")
                if info.size > inputs.MAX_INPUT_BYTES:
                    raise BadInputError(f"{source}: {info.name} in the bundle is too large")
                data = raw[info.offset_data : info.offset_data + info.size]
                if len(data) != info.size:
                    raise BadInputError(f"{source}: bundle is truncated ({info.name} is cut off)")
                files[info.name] = data
    except (tarfile.TarError, EOFError) as exc:
        raise BadInputError(f"{source}: not a guestprobe bundle or truncated ({exc})") from None
    return files


def _load_json(data: bytes, what: str, source: str) -> "Any":
    return inputs.load_json(data, f"{source}: {what} in the bundle")


def read_bundle(data: bytes, source: str = "bundle", key: "bytes | None" = None) -> "Bundle":
    """Unpack and verify a bundle; :class:`BadInputError` (one line) for anything amiss.

    Without ``key`` the manifest's SHA-256 sums catch damage and truncation, not a deliberate
    edit (whoever edits a member can recompute them). With ``key`` (the ``--redact-key`` the
    bundle was collected with) the manifest's HMAC-SHA256 must match: an edited bundle, or one
    without a MAC, is refused.
    """
    if not is_bundle(data):
        raise BadInputError(f"{source}: not a guestprobe bundle (not gzip)")
    files = _members(_gunzip(data, source), source)
    if MANIFEST not in files:
        raise BadInputError(f"{source}: not a guestprobe bundle (no {MANIFEST})")
    manifest = _load_json(files[MANIFEST], MANIFEST, source)
    check_manifest(manifest, files, source, REPORT, (MANIFEST,))
    if key is not None:
        check_mac(manifest, key, source)
    report = _load_json(files[REPORT], REPORT, source)
    from guestprobe.document.build import check_schema_version  # (imports the decoders)

    try:
        check_schema_version(report)
    except BadInputError as exc:
        raise BadInputError(f"{source}: {exc}") from None
    versions = _load_json(files[VERSIONS], VERSIONS, source) if VERSIONS in files else {}
    return Bundle(manifest=manifest, report=report, versions=versions, verified=key is not None)
