"""The bundle file: exactly three members, checked against the manifest; bad bundles refused."""


import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
from typing import Any

import pytest

from guestprobe.bundle.archive import (
    MEMBERS,
    build_bundle,
    describe_versions,
    is_bundle,
    read_bundle,
)
from guestprobe.collect.platform import PlatformFacts
from guestprobe.errors import BadInputError, ExitStatus
from guestprobe.report.output import write_atomically

DOCUMENT = {
    "schema_version": "1.0",
    "tool": {"name": "guestprobe", "version": "0.1.0"},
    "platform": {"hostname": "node1", "kernel_release": "6.1.0-56-amd64",
                 "sg3_utils": {"release": "1.46", "sg_inq_version": "2.10"}},
    "scan": {"started_at": "2026-11-28T02:00:00+00:00"},
    "disks": [],
}


def versions_of(document: dict) -> "Any":
    """The versions record of a report document (its platform facts, its schema)."""
    platform = PlatformFacts.from_dict(document["platform"])
    return describe_versions(platform, document["schema_version"])


def _bundle(document: dict = DOCUMENT) -> bytes:
    return build_bundle(document, versions_of(document))


def _tar_gz(files: "dict[str, bytes]") -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _members(data: bytes) -> "dict[str, bytes]":
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}


def test_round_trip_and_contents():
    data = _bundle()
    assert is_bundle(data)
    bundle = read_bundle(data)
    assert bundle.report == DOCUMENT
    assert bundle.versions["sg3_utils"] == {"release": "1.46", "sg_inq_version": "2.10"}
    assert bundle.versions["kernel"] == "6.1.0-56-amd64"
    members = _members(data)
    assert sorted(members) == sorted(MEMBERS)
    manifest = json.loads(members["manifest.json"])
    assert manifest["format"] == "guestprobe-bundle"
    assert manifest["schema_version"] == "1.0"
    for entry in manifest["files"]:
        assert entry["sha256"] == hashlib.sha256(members[entry["name"]]).hexdigest()


def test_written_mode_0600(tmp_path):
    target = tmp_path / "b.tar.gz"
    write_atomically(target, _bundle(), mode=0o600)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


@pytest.mark.parametrize("cut", [10, 100, 0.5, -9])
def test_truncated_bundle_is_refused(cut):
    data = _bundle()
    at = int(len(data) * cut) if isinstance(cut, float) else cut
    with pytest.raises(BadInputError, match=r"truncated|not a guestprobe bundle"):
        read_bundle(data[:at], "b.tar.gz")


def test_tampered_report_is_refused():
    members = _members(_bundle())
    report = json.loads(members["report.json"])
    report["disks"] = [{"name": "sdz"}]
    members["report.json"] = json.dumps(report).encode()
    with pytest.raises(BadInputError, match=r"report\.json does not match the bundle manifest"):
        read_bundle(_tar_gz(members), "b.tar.gz")


def test_foreign_tarball_is_refused():
    with pytest.raises(BadInputError, match="not a guestprobe bundle"):
        read_bundle(_tar_gz({"etc/passwd": b"root:x:0:0\n"}), "x.tar.gz")
    members = _members(_bundle())
    members["extra.bin"] = b"\0" * 10
    with pytest.raises(BadInputError, match=r"unexpected member 'extra\.bin'"):
        read_bundle(_tar_gz(members), "x.tar.gz")
    members = _members(_bundle())
    members["manifest.json"] = b'{"format": "something-else"}'
    with pytest.raises(BadInputError, match="manifest is foreign"):
        read_bundle(_tar_gz(members), "x.tar.gz")
    with pytest.raises(BadInputError, match="bad gzip"):
        read_bundle(_bundle() + b"trailing junk", "x.tar.gz")


def test_other_schema_major_is_refused():
    document = dict(DOCUMENT, schema_version="2.0")
    with pytest.raises(BadInputError, match=r"schema version 2.0 .*reads 1\.x"):
        read_bundle(_bundle(document), "new.tar.gz")


def test_bad_input_exit_status():
    assert BadInputError("x").exit_status == ExitStatus.BAD_INPUT == 8


def test_same_report_same_bytes():
    from datetime import datetime, timezone

    when = datetime(2026, 11, 28, tzinfo=timezone.utc)
    versions = {"guestprobe": "0.1.0"}
    assert build_bundle(DOCUMENT, versions, created_at=when) == build_bundle(
        DOCUMENT, versions, created_at=when
    )
