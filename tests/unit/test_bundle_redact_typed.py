"""Redaction of the typed records gives the very bytes the dict redaction of main (0da65dc) gave.

``tests/fixtures/redacted-collections.json.gz`` was written with that code, before redaction
moved to the records: for each sample, ``read_collection(redact_collection(
collection.to_dict(), b"fixture-key")).to_dict()``. The samples: the four unredacted example
bundles; foreign-reservation with its PR IN answers as sg_persist 1.37 prints them (the header
as text, the dump padded to column 60); the captured pages of ``test_bundle_redact`` alone,
with every kind of identifier (``test_bundle_redact_complete``), and with a READ FULL STATUS
answer (iSCSI, FC and SAS TransportIDs). Where a sample is not an example, the fixture holds
its input too.
"""


import copy
import gzip
import json
from pathlib import Path

import pytest

from guestprobe.bundle.archive import read_bundle
from guestprobe.bundle.redact import redact_collection
from guestprobe.collect.scan import Collection
from guestprobe.document.build import collection_from_document, read_collection

TOP = Path(__file__).resolve().parents[2]
FIXTURE = TOP / "tests" / "fixtures" / "redacted-collections.json.gz"
KEY = b"fixture-key"
SAMPLES = json.loads(gzip.decompress(FIXTURE.read_bytes()))


def _json(collection: "Collection") -> str:
    return json.dumps(collection.to_dict(), indent=1, sort_keys=True)


def _input(name: str) -> "Collection":
    if "input" in SAMPLES[name]:
        return read_collection(copy.deepcopy(SAMPLES[name]["input"]))
    report = read_bundle((TOP / "examples" / f"{name}.tar.gz").read_bytes()).report
    return collection_from_document(report)


def test_the_fixture_holds_every_sample():
    assert sorted(SAMPLES) == sorted([
        "collection", "every_kind", "foreign-reservation", "foreign-reservation-1.37",
        "full_status", "mixed", "sata-nvme", "two-paths",
    ])


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_typed_redaction_gives_the_bytes_of_the_dict_redaction(name):
    collection = _input(name)
    before = _json(collection)
    redacted = redact_collection(collection, KEY)
    assert isinstance(redacted, Collection)
    assert _json(redacted) == json.dumps(SAMPLES[name]["redacted"], indent=1, sort_keys=True)
    assert _json(collection) == before  # the input is left as it was
    assert _json(redacted) != before  # (the sample holds identifiers)
