"""REPORT SUPPORTED OPERATION CODES, reporting options 000b (all commands; SPC-4 6.35.2), as
``sg_opcodes --raw`` gives it, with or without RCTD (command timeouts descriptors).

Layout: a 4-byte COMMAND DATA LENGTH, then one command descriptor per command: operation code,
reserved, service action (2 bytes), reserved, flags (bit 1 CTDP, bit 0 SERVACTV), CDB length
(2 bytes); with CTDP set a 12-byte command timeouts descriptor follows (descriptor length 0x0a,
reserved, command specific, nominal and recommended timeout in seconds).

Sample (the tgt LUN of the shared captures, 404 bytes, 50 descriptors)::

    00 00 01 90  00 00 00 00 00 00 00 06  03 00 00 00 00 00 00 06 ...
                 5e 00 00 00 00 01 00 0a  5e 00 00 01 00 01 00 0a ...

-> TEST UNIT READY (0x00, 6-byte CDB), REQUEST SENSE (0x03), ..., PERSISTENT RESERVE IN
service actions 0, 1, 2 (0x5e/0..2, 10-byte CDB), ...

A descriptor cut off by a truncated response is dropped (``truncated``); one that runs past
the command data length raises :class:`DecodeError`. An empty list (4 zero bytes, as libata
answers) decodes to no commands.
"""


from dataclasses import dataclass

from guestprobe.decode import DecodeError, FactRecord, be_int, require

__all__ = ["CommandDescriptor", "SupportedOpcodes", "decode_supported_opcodes"]

_HEADER = 4
_DESCRIPTOR = 8
_TIMEOUTS = 12


@dataclass(frozen=True)
class CommandDescriptor(FactRecord):
    opcode: int
    service_action: "int | None"  # None when SERVACTV = 0
    cdb_length: int
    nominal_timeout_s: "int | None"  # only with CTDP (RCTD asked)
    recommended_timeout_s: "int | None"


@dataclass(frozen=True)
class SupportedOpcodes(FactRecord):
    commands: "tuple[CommandDescriptor, ...]"
    truncated: bool

    def supports(self, opcode: int, service_action: "int | None" = None) -> bool:
        """Whether the list holds ``opcode`` (with that service action, when one is given)."""
        return any(
            c.opcode == opcode and (service_action is None or c.service_action == service_action)
            for c in self.commands
        )

    def command_list(self) -> "list[tuple[int, int | None, int]]":
        """(opcode, service action or None, CDB length) for every command, in list order."""
        return [(c.opcode, c.service_action, c.cdb_length) for c in self.commands]


def decode_supported_opcodes(data: bytes) -> "SupportedOpcodes":
    """Decode an all-commands REPORT SUPPORTED OPERATION CODES response (module docstring)."""
    require(data, _HEADER, "REPORT SUPPORTED OPERATION CODES")
    total = _HEADER + be_int(data, 0, 4)
    body = data[:total]
    truncated = len(body) < total
    commands = []
    pos = _HEADER
    while pos < len(body):
        ctdp = pos + _DESCRIPTOR <= len(body) and bool(body[pos + 5] & 0x02)
        end = pos + _DESCRIPTOR + (_TIMEOUTS if ctdp else 0)
        if end > len(body):
            if truncated:
                break
            raise DecodeError(f"REPORT SUPPORTED OPERATION CODES: descriptor at {pos} overruns")
        flags = body[pos + 5]
        commands.append(
            CommandDescriptor(
                opcode=body[pos],
                service_action=be_int(body, pos + 2, 2) if flags & 0x01 else None,
                cdb_length=be_int(body, pos + 6, 2),
                nominal_timeout_s=be_int(body, pos + 12, 4) if ctdp else None,
                recommended_timeout_s=be_int(body, pos + 16, 4) if ctdp else None,
            )
        )
        pos = end
    return SupportedOpcodes(tuple(commands), truncated)
