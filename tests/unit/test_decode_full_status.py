"""PERSISTENT RESERVE IN READ FULL STATUS (SPC-4 6.16.5), its TransportIDs (SPC-4 7.6.4), the
key owners (Veritas, fence_scsi, other) and the redaction of both by layout.

No target the rig or the shared captures reach answers READ FULL STATUS (tgt 1.0.85 exits 5:
tests/fixtures/shared-captures/kvm-mixed/cap/IET_beaf11/pr_read_full_status.*), so the data is
built here field by field per the standard, and rendered as ``sg_persist --hex --hex`` prints it.
"""


import struct

import pytest
from test_decode_hexdump import sg3_hexdump

from guestprobe.bundle.redact import Redactor
from guestprobe.decode import DecodeError
from guestprobe.decode.persist import (
    decode_fence_scsi_key,
    decode_read_full_status,
    decode_transport_id,
    describe_key,
    full_status_descriptors,
    key_owner,
    pr_in_data_from_hexdump,
)

VF_NODE3 = int.from_bytes(b"VF1A2B03", "big")
VF_NODE4 = int.from_bytes(b"VF1A2B04", "big")
IQN = b"iqn.2026-01.com.example:kvm-host-7"


def iscsi_tid(name: bytes, isid: "str | None" = None) -> bytes:
    """format 00 (name) or 01 (name ",i,0x" ISID), NUL-terminated, padded to 4 bytes."""
    text = name + (b",i,0x" + isid.encode() if isid else b"") + b"\0"
    text += bytes(-len(text) % 4)
    return bytes([(0x40 if isid else 0) | 0x05, 0]) + struct.pack(">H", len(text)) + text


def fc_tid(wwpn: bytes) -> bytes:
    return bytes(8) + wwpn + bytes(8)


def sas_tid(address: bytes) -> bytes:
    return bytes([0x06, 0, 0, 0]) + address + bytes(12)


def descriptor(key: int, tid: bytes, holder: bool = False, pr_type: int = 0,
               all_tg_pt: bool = False, port: int = 1) -> bytes:
    flags = (0x02 if all_tg_pt else 0) | (0x01 if holder else 0)
    return (struct.pack(">QIBBIH", key, 0, flags, pr_type if holder else 0, 0, port)
            + struct.pack(">I", len(tid)) + tid)


def full_status(generation: int, *descriptors: bytes) -> bytes:
    body = b"".join(descriptors)
    return struct.pack(">II", generation, len(body)) + body


def test_iscsi_fc_and_sas_registrations_decode():
    data = full_status(
        7,
        descriptor(VF_NODE3, iscsi_tid(IQN, "23d000000001"), holder=True, pr_type=5),
        descriptor(VF_NODE4, fc_tid(bytes.fromhex("2100001b32123456")), all_tg_pt=True),
        descriptor(0x7AB20002, sas_tid(bytes.fromhex("5000c50012345678")), port=2),
    )
    decoded = decode_read_full_status(pr_in_data_from_hexdump(sg3_hexdump(data)))
    first, second, third = decoded.registrations
    assert (decoded.generation, decoded.truncated) == (7, False)
    assert (first.key_hex, first.reservation_holder, first.type_name, first.relative_target_port) \
        == ("5646314132423033", True, "write_exclusive_registrants_only", 1)
    assert (first.transport_id.protocol, first.transport_id.initiator, first.transport_id.isid) \
        == ("iscsi", IQN.decode(), "23d000000001")
    assert (second.all_tg_pt, second.relative_target_port, second.type_name) == (True, None, None)
    assert (second.transport_id.protocol, second.transport_id.initiator) == (
        "fibre_channel", "0x2100001b32123456")
    assert (third.transport_id.protocol, third.transport_id.initiator) == (
        "sas", "0x5000c50012345678")
    assert third.relative_target_port == 2


def test_no_registration_and_format_00_iscsi_name():
    assert decode_read_full_status(full_status(0)).registrations == ()
    tid = decode_transport_id(iscsi_tid(IQN))
    assert (tid.format_code, tid.initiator, tid.isid) == (0, IQN.decode(), None)


def test_a_cut_descriptor_is_dropped_and_an_overrun_raises():
    data = full_status(1, descriptor(VF_NODE3, iscsi_tid(IQN)),
                       descriptor(VF_NODE4, iscsi_tid(IQN)))
    cut = decode_read_full_status(data[:-10])
    assert cut.truncated and [r.key for r in cut.registrations] == [VF_NODE3]
    # a descriptor whose additional descriptor length runs past the additional length
    bad = bytearray(full_status(1, descriptor(VF_NODE3, iscsi_tid(IQN))))
    bad[8 + 20 : 8 + 24] = struct.pack(">I", 4096)
    with pytest.raises(DecodeError, match="overruns"):
        decode_read_full_status(bytes(bad))
    with pytest.raises(DecodeError):
        decode_read_full_status(b"\0\0\0")


def test_sg3_utils_1_37_header_as_text_is_put_back():
    data = full_status(3, descriptor(VF_NODE3, iscsi_tid(IQN)))
    text = f"  PR generation=0x3, Additional length={len(data) - 8}\n" + sg3_hexdump(data[8:])
    assert decode_read_full_status(pr_in_data_from_hexdump(text)).registrations[0].key == VF_NODE3


def test_key_owners_in_one_wording():
    assert key_owner(VF_NODE3).holder_text == "VF1A2B03: cluster 6699, node 3"
    assert describe_key(VF_NODE3) == (
        "0x5646314132423033 'VF1A2B03' (Veritas coordinator key: cluster 6699, node 3)")
    fence = decode_fence_scsi_key(0x7AB20012)
    assert (fence.cluster_hash, fence.node_id) == ("7ab2", 12)
    assert decode_fence_scsi_key(0x7AB2F00D).node_hash == "f00d"
    assert key_owner(0x7AB20012).holder_text == "0x7ab20012: cluster hash 7ab2, node 12"
    assert decode_fence_scsi_key(int.from_bytes(b"gp\x01\x02\x03\x04\x05\x01", "big")) is None
    assert key_owner(0xF0E1D2C3B4A59687).scheme == "other"


def test_redaction_replaces_keys_and_initiator_names_by_layout():
    data = full_status(
        2,
        descriptor(VF_NODE3, iscsi_tid(IQN, "23d000000001"), holder=True, pr_type=5),
        descriptor(VF_NODE4, fc_tid(bytes.fromhex("2100001b32123456"))),
    )
    redactor = Redactor(b"k" * 32)
    redacted = redactor.redact_pr_keys("pr_read_full_status", data)
    assert len(redacted) == len(data)
    assert full_status_descriptors(redacted) == full_status_descriptors(data)
    assert IQN not in redacted and bytes.fromhex("2100001b32123456") not in redacted
    before, after = (decode_read_full_status(d).registrations for d in (data, redacted))
    # the layout, flags, type, port and session id stay; keys stay Veritas keys of nodes 3, 4
    # of one (redacted) cluster, so compare still tells one cluster's nodes apart
    assert [(r.reservation_holder, r.type_code, r.relative_target_port) for r in after] == [
        (r.reservation_holder, r.type_code, r.relative_target_port) for r in before]
    assert after[0].transport_id.isid == "23d000000001"
    assert after[0].transport_id.initiator.startswith("iqn.2000-01.invalid:")
    owners = [key_owner(r.key) for r in after]
    assert [o.node for o in owners] == ["3", "4"] and owners[0].cluster == owners[1].cluster
    assert owners[0].cluster != "6699"
