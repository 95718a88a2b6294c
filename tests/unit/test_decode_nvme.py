"""NVMe Identify Controller: what sg_inq --raw --only prints for an NVMe namespace."""


import pytest
from fakesys import RIG
from hypothesis import given
from hypothesis import strategies as st

from guestprobe.decode import DecodeError
from guestprobe.decode.inquiry import decode_standard_inquiry
from guestprobe.decode.nvme import decode_identify_controller

RIG_NVME = RIG / "sata-nvme" / "nvme_NVMESER1"


def test_qemu_nvme_controller_from_the_rig():
    data = (RIG_NVME / "inquiry.out").read_bytes()
    assert len(data) == 4096
    identify = decode_identify_controller(data)
    # bytes 0-1 36 1b, 2-3 f4 1a, 4-23 "NVMESER1" padded, 24-63 "QEMU NVMe Ctrl" padded
    assert (identify.pci_vendor_id, identify.pci_subsystem_vendor_id) == (0x1B36, 0x1AF4)
    assert identify.serial_number == "NVMESER1"
    assert identify.model_number == "QEMU NVMe Ctrl"
    assert not identify.truncated


def test_read_as_inquiry_it_would_invent_a_vendor():
    # the reason NVMe disks get their own decoder: as INQUIRY, bytes 8-15 are "SER1    "
    data = (RIG_NVME / "inquiry.out").read_bytes()
    assert decode_standard_inquiry(data).vendor == "SER1"


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_decode_error(data):
    try:
        decode_identify_controller(data)
    except DecodeError:
        assert len(data) < 72


def test_too_short():
    with pytest.raises(DecodeError):
        decode_identify_controller(b"\x36\x1b")
