"""JSON is JSON: ``NaN``, ``Infinity`` and numbers no float holds are refused in every document
read back (reports, bundles, host documents), and a bundle's ``format_version`` is an integer."""


import hashlib
import json

import pytest
from reportpages import EXAMPLES, example_report
from test_bundle_archive import DOCUMENT, _members, _tar_gz
from test_bundle_cli import run_cli

from guestprobe.bundle.archive import build_bundle, read_bundle
from guestprobe.document.inputs import load_json
from guestprobe.errors import BadInputError, ExitStatus

NOT_JSON_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"]


@pytest.mark.parametrize("number", NOT_JSON_NUMBERS)
def test_load_json_refuses_what_json_has_not(number):
    with pytest.raises(BadInputError, match=r"^x.json: not valid JSON \(.* number"):
        load_json(f'{{"duration_s": {number}}}'.encode(), "x.json")
    assert load_json(b'{"duration_s": 1.5e300}', "x.json") == {"duration_s": 1.5e300}


@pytest.fixture(scope="module")
def mixed_text() -> str:
    return json.dumps(example_report(EXAMPLES / "mixed.tar.gz"))


@pytest.mark.parametrize("number", NOT_JSON_NUMBERS)
def test_report_with_nan_is_exit_8(number, mixed_text, tmp_path, capsys):
    path = tmp_path / "nan.json"
    path.write_text(mixed_text.replace('"duration_s": ', f'"duration_s": {number}, "was": ', 1))
    status, out, err = run_cli(capsys, "report", str(path))
    assert status == ExitStatus.BAD_INPUT and out == ""
    assert err == f"guestprobe: {path}: not valid JSON ({number} is " + err.split(" is ", 1)[1]
    assert len(err.splitlines()) == 1


def test_bundle_with_nan_is_refused():
    members = _members(build_bundle(DOCUMENT, {}))
    members["versions.json"] = b'{"python": NaN}'
    manifest = json.loads(members["manifest.json"])
    for entry in manifest["files"]:  # the sums made again: the manifest holds
        body = members[entry["name"]]
        entry.update(size=len(body), sha256=hashlib.sha256(body).hexdigest())
    members["manifest.json"] = json.dumps(manifest).encode()
    with pytest.raises(BadInputError, match=r"versions.json in the bundle: not valid JSON \(NaN"):
        read_bundle(_tar_gz(members), "b.tar.gz")


def test_host_document_with_infinity_is_exit_8(mixed_text, tmp_path, capsys):
    report = tmp_path / "guest.json"
    report.write_text(mixed_text)
    host = tmp_path / "host.json"
    host.write_text('{"schema_version": "1.0", "kind": "guestprobe-host", "x": Infinity}')
    status, _, err = run_cli(capsys, "report", str(report), "--host", str(host))
    assert status == ExitStatus.BAD_INPUT
    assert "not valid JSON (Infinity is not a JSON number)" in err


@pytest.mark.parametrize("version", [True, 1.0, "1", None])
def test_manifest_format_version_is_an_integer(version):
    members = _members(build_bundle(DOCUMENT, {}))
    manifest = json.loads(members["manifest.json"])
    assert manifest["format_version"] == 1
    manifest["format_version"] = version
    members["manifest.json"] = json.dumps(manifest).encode()
    with pytest.raises(BadInputError, match=r"bundle format .* is not readable"):
        read_bundle(_tar_gz(members), "b.tar.gz")
