"""What a bundle's manifest proves (issue 10, finding 10).

Without a key: SHA-256 sums catch damage and truncation, and nothing more — an edit with the
manifest recomputed is accepted (asserted here, so the README cannot claim more). With the key
of ``collect --redact-key``: the manifest's HMAC-SHA256 makes any edit, a stripped MAC or another
key a refusal (exit 8).
"""


import hashlib
import json

import pytest
from test_bundle_archive import DOCUMENT, _members, _tar_gz, versions_of
from test_bundle_cli import run_cli

from guestprobe.bundle.archive import build_bundle, read_bundle
from guestprobe.errors import BadInputError

KEY = b"cluster-7 shared key"


def _keyed(key: "bytes | None" = KEY) -> bytes:
    return build_bundle(DOCUMENT, versions_of(DOCUMENT), {"method": "hmac-sha256"}, key=key)


def _edited(data: bytes, strip_mac: bool = False) -> bytes:
    """The report changed and the manifest's sums recomputed, as a deliberate editor would."""
    members = _members(data)
    report = json.loads(members["report.json"])
    report["platform"]["hostname"] = "someone-else"
    members["report.json"] = json.dumps(report).encode()
    manifest = json.loads(members["manifest.json"])
    for entry in manifest["files"]:
        body = members[entry["name"]]
        entry.update(size=len(body), sha256=hashlib.sha256(body).hexdigest())
    if strip_mac:
        manifest.pop("mac", None)
    members["manifest.json"] = json.dumps(manifest).encode()
    return _tar_gz(members)


def test_keyed_bundle_verifies_with_its_key():
    data = _keyed()
    manifest = json.loads(_members(data)["manifest.json"])
    assert manifest["mac"]["method"] == "hmac-sha256" and len(manifest["mac"]["value"]) == 64
    bundle = read_bundle(data, "b.tar.gz", KEY)
    assert bundle.verified and bundle.report == DOCUMENT
    assert not read_bundle(data, "b.tar.gz").verified  # readable without the key, unverified


def test_unkeyed_manifest_does_not_detect_a_recomputed_edit():
    """The documented limit: sums are not a signature."""
    edited = read_bundle(_edited(_keyed(None)), "edited.tar.gz")
    assert edited.report["platform"]["hostname"] == "someone-else"


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        (lambda: _edited(_keyed()), KEY, "MAC does not match the key"),
        (lambda: _edited(_keyed(), strip_mac=True), KEY, "carries no MAC"),
        (_keyed, b"another key", "MAC does not match the key"),
        (lambda: _keyed(None), KEY, "carries no MAC"),
    ],
    ids=["edited", "mac-stripped", "other-key", "unkeyed"],
)
def test_with_the_key_edits_are_refused(data, key, message):
    with pytest.raises(BadInputError, match=message):
        read_bundle(data(), "b.tar.gz", key)


def test_cli_verifies_with_redact_key(capsys, tmp_path, monkeypatch):
    good, edited, plain = tmp_path / "good.tar.gz", tmp_path / "edited.tar.gz", tmp_path / "r.json"
    good.write_bytes(_keyed())
    edited.write_bytes(_edited(_keyed()))
    plain.write_text(json.dumps(DOCUMENT))
    key = KEY.decode()
    assert run_cli(capsys, "report", "--json", str(good), "--redact-key", key)[0] == 0
    for args, message in (
        (["report", str(edited), "--redact-key", key], "MAC does not match"),
        (["report", str(plain), "--redact-key", key], "a JSON report carries no MAC"),
        (["compare", str(good), str(edited), "--redact-key", key], "MAC does not match"),
    ):
        status, _, err = run_cli(capsys, *args)
        assert status == 8 and message in err and err.count("\n") == 1, err
    monkeypatch.setenv("GUESTPROBE_REDACT_KEY", key)  # the same variable collect reads
    status, _, err = run_cli(capsys, "report", str(edited))
    assert status == 8 and "MAC does not match" in err


def test_collect_with_redact_key_writes_a_mac(capsys, tmp_path, fp, monkeypatch):
    from test_bundle_cli import FakeGuest

    FakeGuest(tmp_path / "guest", fp, monkeypatch)
    bundle = tmp_path / "case.tar.gz"
    assert run_cli(capsys, "collect", "--redact-key", "k1", "-o", str(bundle))[0] == 0
    assert read_bundle(bundle.read_bytes(), "case", b"k1").verified
    status, _, err = run_cli(capsys, "report", str(bundle), "--redact-key", "k2")
    assert status == 8 and "MAC does not match" in err
    random = tmp_path / "random.tar.gz"
    assert run_cli(capsys, "collect", "--redact", "-o", str(random))[0] == 0
    assert "mac" not in json.loads(_members(random.read_bytes())["manifest.json"])
