"""The typed report (guestprobe.document): JSON -> records -> JSON is the identity on every
example, a wrong value is refused naming its field, and the records are typed all the way down."""

import json
from pathlib import Path

import pytest

from guestprobe import pipeline
from guestprobe.decode.persist import ReadKeys
from guestprobe.decode.vpd import Association, Designator
from guestprobe.document.model import Report
from guestprobe.document.verdict import Verdict
from guestprobe.errors import BadInputError

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.tar.gz"))


def _judged(name: str) -> "Report":
    return pipeline.rejudge(str(next(p for p in EXAMPLES if p.name == name)))[1]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_goes_through_the_records_unchanged(path):
    report = pipeline.rejudge(str(path))[1]
    document = json.loads(json.dumps(report.to_dict()))
    again = Report.from_dict(document)
    assert again.to_dict() == document
    assert json.dumps(again.to_dict(), indent=2) == json.dumps(report.to_dict(), indent=2)


def test_the_records_are_typed_down_to_the_decoders():
    report = Report.from_dict(json.loads(json.dumps(_judged("mixed.tar.gz").to_dict())))
    disk = next(d for d in report.disks if d.facts.identity.designators)
    designator = disk.facts.identity.designators[0]
    assert isinstance(designator, Designator)
    assert isinstance(designator.association, Association)
    assert isinstance(designator.value, bytes)
    assert all(isinstance(v, Verdict) for v in disk.verdicts + report.guest_verdicts)
    keys = [d.facts.persistent_reservations.keys for d in report.disks]
    assert any(isinstance(k, ReadKeys) for k in keys)
    assert disk.facts.identity.vendor_product == " ".join(
        p for p in (disk.facts.identity.vendor, disk.facts.identity.product) if p)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["disks"][0]["facts"]["identity"].update(lu_designator=7),
     "report.disks[0].facts.identity.lu_designator: an integer, expected str | None"),
    (lambda d: d["disks"][0]["facts"]["identity"]["designators"][0].update(association="x"),
     "report.disks[0].facts.identity.designators[0].association: 'x' is not a Association"),
    (lambda d: d["disks"][0]["facts"]["identity"]["designators"][0].update(value="zz"),
     "report.disks[0].facts.identity.designators[0].value: not hex bytes"),
    (lambda d: d["disks"][0]["verdicts"][0].pop("status"),
     "report.disks[0].verdicts[0].status: missing"),
    (lambda d: d.update(logical_units={}),
     "report.logical_units: an object, expected list[LogicalUnit]"),
])
def test_a_wrong_value_is_refused_naming_its_field(edit, message):
    document = json.loads(json.dumps(_judged("two-paths.tar.gz").to_dict()))
    edit(document)
    with pytest.raises(BadInputError) as caught:
        Report.from_dict(document, "report")
    assert str(caught.value) == message
