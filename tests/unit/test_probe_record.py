"""A probe's record written by hand for speed: it must still hold every field, in field order."""

from dataclasses import fields

from guestprobe.collect.probe import ProbeResult


def test_to_dict_holds_every_field_in_order_and_reads_back():
    probe = ProbeResult("inquiry", "sg3_utils", "ok", argv=("sg_inq", "/dev/sda"), attempts=2,
                        stdout_hex="00", skip_code="x")
    out = probe.to_dict()
    assert list(out) == [f.name for f in fields(ProbeResult)]
    assert out["argv"] == ["sg_inq", "/dev/sda"] and out["attempts"] == 2
    assert ProbeResult.from_dict(out).to_dict() == out
