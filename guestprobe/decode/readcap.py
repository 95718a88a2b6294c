"""READ CAPACITY(16) parameter data (SBC-3 5.16.2), as ``sg_readcap --long --raw`` gives it.

Sample (the tgt iSCSI LUN of the shared captures, 32 bytes)::

    00 00 00 00 00 01 ff ff  00 00 02 00 00 03 00 00   (then 16 reserved zero bytes)

-> returned LBA 0x1ffff, so 131072 blocks of 512 bytes (64 MiB); LBPPBE 3, so physical
blocks of 4096 bytes; no protection, LBPME 0, lowest aligned LBA 0.

The data has no length header: the first 16 bytes (through the lowest aligned LBA) are
required, bytes past 32 are ignored.
"""


from dataclasses import dataclass

from guestprobe.decode import DecodeError, FactRecord, be_int, require

__all__ = ["ReadCapacity16", "decode_read_capacity_16"]

_NEEDED = 16
_FULL = 32


@dataclass(frozen=True)
class ReadCapacity16(FactRecord):
    returned_lba: int  # the last LBA
    capacity_blocks: int  # returned_lba + 1
    logical_block_size: int
    capacity_bytes: int
    p_type: int
    prot_en: bool
    p_i_exponent: int
    lbppbe: int  # logical blocks per physical block exponent
    physical_block_size: int  # logical_block_size << lbppbe
    lbpme: bool  # logical block provisioning management enabled (thin)
    lbprz: bool  # unmapped blocks read as zero
    lowest_aligned_lba: int


def decode_read_capacity_16(data: bytes) -> "ReadCapacity16":
    """Decode READ CAPACITY(16) data; see the module docstring for a sample."""
    require(data, _NEEDED, "READ CAPACITY(16)")
    data = data[:_FULL]
    lba = be_int(data, 0, 8)
    block_size = be_int(data, 8, 4)
    if block_size == 0:
        raise DecodeError("READ CAPACITY(16): logical block length 0")
    lbppbe = data[13] & 0x0F
    return ReadCapacity16(
        returned_lba=lba,
        capacity_blocks=lba + 1,
        logical_block_size=block_size,
        capacity_bytes=(lba + 1) * block_size,
        p_type=(data[12] >> 1) & 0x07,
        prot_en=bool(data[12] & 0x01),
        p_i_exponent=data[13] >> 4,
        lbppbe=lbppbe,
        physical_block_size=block_size << lbppbe,
        lbpme=bool(data[14] & 0x80),
        lbprz=bool(data[14] & 0x40),
        lowest_aligned_lba=be_int(data, 14, 2) & 0x3FFF,
    )
