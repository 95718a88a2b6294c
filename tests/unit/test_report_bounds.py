"""Work and memory bounded by what a report may hold, not only by its bytes.

The annotations of the collector's dataclasses are read once per class (not once per value: that
was most of the time of judging a large report again), and a report past what guestprobe judges
(disks, JSON values, one probe's answer, verdicts) is one line and exit 8. The timings are
measured by bench/report_bench.py and written in docs/performance.md.
"""


import copy
import json

import pytest
from reportpages import EXAMPLES, example_report
from test_bundle_cli import run_cli

from guestprobe.collect.scan import Collection
from guestprobe.document import build as document_module
from guestprobe.document import codec as validate
from guestprobe.document import inputs
from guestprobe.errors import BadInputError, ExitStatus


@pytest.fixture(scope="module")
def mixed() -> dict:
    return example_report(EXAMPLES / "mixed.tar.gz")


def _raw(report: dict, disks: int) -> dict:
    """The collection part of ``report`` with its disks cloned to ``disks``."""
    originals = report["disks"]
    return {
        "tool_version": "x", "started_at": "", "duration_s": 0.0, "options": {},
        "processes_started": 0, "abandoned_processes": 0, "platform": report["platform"],
        "disks": [copy.deepcopy(originals[i % len(originals)]) for i in range(disks)],
    }


def test_annotations_are_read_once_per_class(mixed, monkeypatch):
    calls = []
    normalise = validate._normalise

    def counted(annotation):
        calls.append(annotation)
        return normalise(annotation)

    monkeypatch.setattr(validate, "_normalise", counted)
    monkeypatch.setattr(validate, "_PLANS", {}, raising=False)
    validate.check_record(Collection, _raw(mixed, 3), "report")
    first = len(calls)
    validate.check_record(Collection, _raw(mixed, 60), "report")
    assert first > 0 and len(calls) == first  # 60 more disks: not one annotation read again


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["disks"][1]["inventory"].update(size_bytes="1"),
         "report.disks[1].inventory.size_bytes: a string, expected int | None"),
        (lambda r: r["disks"][0]["probes"][2].update(stdout_hex="zz"),
         "report.disks[0].probes[2].stdout_hex: not hex bytes"),
        (lambda r: r["disks"][0]["inventory"]["mounts"].append({"dir": 5}),
         "report.disks[0].inventory.mounts[0].dir: an integer, expected str"),
        (lambda r: r["disks"][2]["probes"][0].update(argv=[1]),
         "report.disks[2].probes[0].argv[0]: an integer, expected str"),
        (lambda r: r["platform"]["virtio_devices"].append({"name": "v", "kind": "blk"}),
         "report.platform.virtio_devices[0].device_id: missing"),
        (lambda r: r["disks"].append([]), "report.disks[3]: a list, expected an object"),
    ],
)
def test_the_checks_name_what_is_wrong(mixed, edit, message):
    raw = _raw(mixed, 3)
    raw["platform"] = copy.deepcopy(raw["platform"])
    raw["platform"]["virtio_devices"] = []
    edit(raw)
    with pytest.raises(BadInputError) as refused:
        validate.check_record(Collection, raw, "report")
    assert str(refused.value) == message


@pytest.fixture
def mixed_file(tmp_path, mixed):
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(mixed))
    return path


def test_more_disks_than_judged_is_exit_8(mixed_file, monkeypatch, capsys):
    monkeypatch.setattr(document_module, "MAX_DISKS", 2, raising=False)
    status, out, err = run_cli(capsys, "report", str(mixed_file))
    assert status == ExitStatus.BAD_INPUT and out == ""
    assert err == (
        f"guestprobe: {mixed_file}: report has 3 disks, more than the 2 guestprobe judges; "
        "refused\n"
    )


def test_more_verdicts_than_allowed_is_exit_8(mixed_file, monkeypatch, capsys):
    monkeypatch.setattr(document_module, "MAX_VERDICTS", 5, raising=False)
    status, _, err = run_cli(capsys, "report", str(mixed_file), "--json")
    assert status == ExitStatus.BAD_INPUT
    assert "verdicts, more than 5; refused" in err


def test_json_values_are_counted_before_parsing(monkeypatch):
    monkeypatch.setattr(inputs, "MAX_JSON_VALUES", 1000, raising=False)
    assert inputs.load_json(b"[" + b"[]," * 400 + b"[]]", "x") == [[]] * 401
    with pytest.raises(BadInputError, match=r"^x: up to 1,203 JSON values, more than the 1,000"):
        inputs.load_json(b"[" + b"[]," * 600 + b"[]]", "x")


def test_a_probe_answer_past_the_collector_s_limit_is_refused(mixed, monkeypatch):
    monkeypatch.setattr(validate, "MAX_HEX_CHARS", 20_000, raising=False)
    raw = _raw(mixed, 1)
    validate.check_record(Collection, raw, "report")  # the example's answers are shorter
    raw["disks"][0]["probes"][0]["stdout_hex"] = "00" * 10_001
    with pytest.raises(BadInputError) as refused:
        validate.check_record(Collection, raw, "report")
    assert str(refused.value) == (
        "report.disks[0].probes[0].stdout_hex: 10,001 bytes, more than the 10,000 a scan keeps "
        "of one answer"
    )
