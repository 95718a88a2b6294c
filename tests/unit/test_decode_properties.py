"""Property tests: no decoder raises anything but DecodeError, and builders round-trip."""


import contextlib
import struct
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_decode_captures import DECODERS, capture, good_responses
from test_decode_hexdump import sg3_hexdump

from guestprobe.decode import DecodeError
from guestprobe.decode.hexdump import parse_hexdump
from guestprobe.decode.persist import (
    decode_read_full_status,
    decode_read_keys,
    decode_read_reservation,
    decode_report_capabilities,
    decode_veritas_key,
    pr_in_data_from_hexdump,
)
from guestprobe.decode.vpd import (
    Association,
    DesignatorType,
    decode_device_identification,
    decode_supported_vpd_pages,
    lu_designators,
)

ALL_DECODERS: "list[Callable[[bytes], Any]]" = [
    *(decoder for decoder, _ in DECODERS.values()),
    decode_supported_vpd_pages,
    decode_read_keys,
    decode_read_reservation,
    decode_report_capabilities,
    decode_read_full_status,
]
REAL = [(DECODERS[name][0], capture(disk, name)) for disk, name in good_responses()]
SETTINGS = settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])


def _decodes_or_refuses(decoder: "Callable[[bytes], Any]", data: bytes) -> "Any":
    try:
        result = decoder(data)
    except DecodeError:
        return None
    if hasattr(result, "to_dict"):
        result.to_dict()
    return result


@SETTINGS
@given(decoder=st.sampled_from(ALL_DECODERS), data=st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_decode_error(
    decoder: "Callable[[bytes], Any]", data: bytes
) -> None:
    _decodes_or_refuses(decoder, data)


@SETTINGS
@given(
    decoder=st.sampled_from(ALL_DECODERS),
    head=st.sampled_from([b"\x00\x83", b"\x00\xb0", b"\x00\xb1", b"\x00\xb2", b"\x00\x00"]),
    data=st.binary(max_size=200),
)
def test_plausible_headers_raise_only_decode_error(
    decoder: "Callable[[bytes], Any]", head: bytes, data: bytes
) -> None:
    _decodes_or_refuses(decoder, head + data)


def test_every_truncation_of_every_real_response() -> None:
    # every real response here is exactly as long as its header says, so any cut is truncated
    for decoder, data in REAL:
        for cut in range(len(data)):
            result = _decodes_or_refuses(decoder, data[:cut])
            assert getattr(result, "truncated", True) is True


@SETTINGS
@given(
    pick=st.integers(min_value=0, max_value=len(REAL) - 1),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=6),
)
def test_mutated_real_responses(pick: int, flips: "list[tuple[int, int]]") -> None:
    decoder, data = REAL[pick]
    mutated = bytearray(data)
    for pos, value in flips:
        mutated[pos % len(mutated)] = value
    _decodes_or_refuses(decoder, bytes(mutated))


@SETTINGS
@given(st.text(alphabet=st.sampled_from(list("0123456789abcdefABCDEF .\nxyz=")), max_size=400))
def test_hexdump_text_raises_only_decode_error(text: str) -> None:
    with contextlib.suppress(DecodeError):
        parse_hexdump(text)


@SETTINGS
@given(data=st.binary(max_size=300), no_ascii=st.sampled_from([1, 0, -1]))
def test_hexdump_round_trip(data: bytes, no_ascii: int) -> None:
    assert parse_hexdump(sg3_hexdump(data, no_ascii)) == data


@SETTINGS
@given(generation=st.integers(0, 2**32 - 1), keys=st.lists(st.integers(0, 2**64 - 1), max_size=40))
def test_read_keys_round_trip(generation: int, keys: "list[int]") -> None:
    data = struct.pack(">II", generation, 8 * len(keys)) + b"".join(
        struct.pack(">Q", key) for key in keys
    )
    decoded = decode_read_keys(pr_in_data_from_hexdump(sg3_hexdump(data, 1)))
    assert decoded.generation == generation
    assert list(decoded.keys) == keys
    assert list(decoded.keys_hex) == [f"{key:016x}" for key in keys]


@given(cluster=st.integers(0, 0xFFFF), node=st.integers(0, 0xFF))
def test_coordinator_key_round_trip(cluster: int, node: int) -> None:
    vk = decode_veritas_key(int.from_bytes(f"VF{cluster:04X}{node:02X}".encode(), "big"))
    assert vk is not None
    assert (vk.kind, vk.cluster_id, vk.node_id) == ("coordinator", cluster, node)


@given(
    node=st.integers(0, 63),
    tag=st.sampled_from([b"PGR", b"VCS"]),
    tail=st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=4, max_size=4
    ),
)
def test_data_disk_key_round_trip(node: int, tag: bytes, tail: str) -> None:
    raw = bytes([0x41 + node]) + tag + tail.encode()
    vk = decode_veritas_key(int.from_bytes(raw, "big"))
    assert vk is not None
    assert (vk.kind, vk.node_id) == ("data_disk", node)
    assert vk.dg_count == (tail if tag == b"PGR" else None)
    assert vk.ascii == "".join(chr(b) if b < 0x7F else "." for b in raw)  # 'A' + 62 is DEL


_DESIGNATOR = st.tuples(
    st.integers(0, 15),  # protocol identifier
    st.integers(0, 15),  # code set
    st.booleans(),  # PIV
    st.integers(0, 3),  # association
    st.integers(0, 15),  # designator type
    st.binary(max_size=40),
)


@SETTINGS
@given(st.lists(_DESIGNATOR, max_size=8))
def test_designators_round_trip(specs: "list[tuple[int, int, bool, int, int, bytes]]") -> None:
    body = b"".join(
        bytes([proto << 4 | code_set, piv << 7 | assoc << 4 | kind, 0, len(value)]) + value
        for proto, code_set, piv, assoc, kind, value in specs
    )
    page = decode_device_identification(b"\x00\x83" + struct.pack(">H", len(body)) + body)
    assert len(page.designators) == len(specs)
    for designator, (proto, _, piv, assoc, kind, value) in zip(page.designators, specs):
        assert designator.value == value
        assert designator.piv is piv
        assert designator.association is list(Association)[assoc]
        if kind <= 0xA:
            assert designator.designator_type is list(DesignatorType)[kind]
        if piv and assoc in (1, 2):
            assert designator.protocol_identifier == proto
        else:
            assert designator.protocol_identifier is None
        if kind == 3:
            assert designator.text == "naa." + value.hex()
    best = lu_designators(page)
    assert all(d.association is Association.LOGICAL_UNIT for d in best)
    assert len(best) == len({id(d) for d in best})
