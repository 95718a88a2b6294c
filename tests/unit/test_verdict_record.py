"""The one verdict type (guestprobe.document.verdict): its fields are the schema's, and
every verdict the rules give on the examples goes through from_dict/to_dict unchanged."""


import json
from dataclasses import fields
from pathlib import Path

import jsonschema
import pytest

from guestprobe import pipeline
from guestprobe.document.verdict import STATUSES, Reason, Verdict

TOP = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((TOP / "guestprobe/document/schema.json").read_text())
VERDICT_SCHEMA = SCHEMA["$defs"]["verdict"]
VERDICT_ONLY = {"$schema": SCHEMA["$schema"], "$ref": "#/$defs/verdict", "$defs": SCHEMA["$defs"]}


def test_the_verdict_record_has_the_schemas_fields():
    names = [f.name for f in fields(Verdict)]
    assert set(VERDICT_SCHEMA["properties"]) <= set(names)
    assert set(VERDICT_SCHEMA["required"]) <= set(names)
    assert set(names) - set(VERDICT_SCHEMA["properties"]) == {"details"}  # free-form facts
    assert tuple(VERDICT_SCHEMA["properties"]["status"]["enum"]) == STATUSES


@pytest.mark.parametrize("path", sorted((TOP / "examples").glob("*.tar.gz")), ids=lambda p: p.name)
def test_every_verdict_of_an_example_round_trips(path):
    _, judged, _ = pipeline.rejudge(str(path))
    document = judged.to_dict()
    records = [v for d in document["disks"] for v in d["verdicts"]] + document["guest_verdicts"]
    assert records
    for record in records:
        verdict = Verdict.from_dict(record)
        assert verdict.to_dict() == record
        assert list(verdict.to_dict()) == list(record)  # the key order the report has
        jsonschema.validate(json.loads(json.dumps(verdict.to_dict())), VERDICT_ONLY)


def test_a_verdict_without_details_has_no_details_key():
    verdict = Verdict("naming", "DMP naming", "unknown", [Reason("facts_missing", "x")], [])
    assert "details" not in verdict.to_dict()
    assert verdict.codes == ["facts_missing"]
