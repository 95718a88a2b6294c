"""Probe one disk: send the sg3_utils probes in order, letting earlier answers steer later ones.

Errors are facts: every probe ends as a :class:`ProbeResult` with an :class:`Outcome`, whatever
happened (tool missing, timeout, ENOTTY, garbage). Follow-ups are skipped, with a reason, where an
earlier answer already tells what they would say: nothing more is sent to a disk whose INQUIRY
could not get through, and nothing more at all to a disk that timed out once — a hung LUN costs
the scan one timeout, not one per command.
"""


import typing
from dataclasses import dataclass, fields
from typing import Any

from guestprobe.collect import process
from guestprobe.collect.discover import SYSFS_SCSI_PAGES, BlockDisk
from guestprobe.collect.sg3 import (
    DISK_UNREACHABLE,
    INQUIRY,
    PR_READ_KEYS,
    PR_READ_RESERVATION,
    PR_REPORT_CAPABILITIES,
    READ_CAPACITY_16,
    REPORT_OPCODES,
    SG_LIB_CAT_INVALID_OP,
    VPD_PAGES,
    Outcome,
    ProbeSpec,
    interpret_command,
    vpd_probe,
    write_same_probes,
)
from guestprobe.collect.sg3_releases import adapt, release_skip_reason
from guestprobe.decode import DecodeError
from guestprobe.decode.persist import pr_in_data_from_hexdump
from guestprobe.decode.readcap import decode_read_capacity_16
from guestprobe.decode.vpd import decode_supported_vpd_pages

Runner = typing.Callable[[typing.Sequence[str], float], process.CommandResult]


@dataclass
class ProbeResult:
    """One probe's full record: enough to decode it again later, and to show the evidence."""

    name: str
    source: str  # "sg3_utils", "sysfs" or "none" (skipped)
    outcome: str
    argv: "list[str] | None" = None
    sysfs_file: "str | None" = None
    output_format: str = "raw"  # "raw", "hex" or "none"
    exit_status: "int | None" = None
    exit_meaning: "str | None" = None
    duration_s: float = 0.0
    attempts: int = 0
    stdout_hex: str = ""
    stderr: str = ""
    skip_reason: "str | None" = None

    def to_dict(self) -> "dict[str, Any]":
        # by hand, not dataclasses.asdict: no deep copy, and reports hold hundreds of these
        result = {f.name: getattr(self, f.name) for f in _FIELDS}
        if self.argv is not None:
            result["argv"] = list(self.argv)
        return result

    @classmethod
    def from_dict(cls, data: "dict[str, Any]") -> "ProbeResult":
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.OK.value

    def response_bytes(self) -> bytes:
        """The response parameter data, whatever form the tool printed it in."""
        raw = bytes.fromhex(self.stdout_hex)
        if self.output_format == "hex":  # sg_persist --hex --hex: PR IN parameter data
            return pr_in_data_from_hexdump(raw)
        return raw


_FIELDS = fields(ProbeResult)


@dataclass
class ProbeOptions:
    timeout_s: float = 15.0
    write_probes: bool = True
    use_sysfs_pages: bool = True
    # the sg3_utils release the argvs are adapted to (sg3_releases.adapt); None: the newest
    sg3_release: "tuple[int, int] | None" = None


class DiskProber:
    """Runs the probe plan against one disk."""

    def __init__(
        self,
        disk: "BlockDisk",
        options: "ProbeOptions",
        run: "Runner" = process.run,
    ) -> None:
        self.disk = disk
        self.options = options
        self.run = run
        self.results: "list[ProbeResult]" = []
        self._stop_reason: "str | None" = None

    # -- helpers -------------------------------------------------------------------------------
    def _skip(self, name: str, reason: str) -> "ProbeResult":
        result = ProbeResult(
            name=name,
            source="none",
            outcome=Outcome.SKIPPED.value,
            output_format="none",
            skip_reason=reason,
        )
        self.results.append(result)
        return result

    def _send(self, spec: "ProbeSpec") -> "ProbeResult":
        if self._stop_reason is not None:
            return self._skip(spec.name, self._stop_reason)
        spec = adapt(spec, self.options.sg3_release)
        argv = spec.argv(self.disk.scsi_device)
        result = ProbeResult(
            name=spec.name,
            source="sg3_utils",
            outcome=Outcome.OTHER_ERROR.value,
            argv=argv,
            output_format=spec.output,
        )
        for _ in range(2):  # a UNIT ATTENTION (reset, power on, reservations preempted) once
            command = self.run(argv, self.options.timeout_s)
            result.attempts += 1
            result.duration_s += command.duration_s
            result.exit_status = command.exit_status
            result.stdout_hex = command.stdout.hex()
            result.stderr = command.stderr_text[-4000:]
            outcome, result.exit_meaning = interpret_command(
                command, self.options.timeout_s, response_due=spec.output != "none"
            )
            result.outcome = outcome.value
            if result.outcome != Outcome.UNIT_ATTENTION.value:
                break
        self.results.append(result)
        if result.outcome == Outcome.TIMED_OUT.value:
            self._stop_reason = f"disk timed out earlier ({spec.name})"
        elif result.outcome in {o.value for o in DISK_UNREACHABLE}:
            self._stop_reason = f"{spec.name}: {result.outcome}"
        return result

    def _from_sysfs(self, name: str) -> "ProbeResult | None":
        if not self.options.use_sysfs_pages:
            return None
        hex_bytes = self.disk.sysfs_pages.get(name)
        if not hex_bytes:
            return None
        page_file = SYSFS_SCSI_PAGES[name]
        result = ProbeResult(
            name=name,
            source="sysfs",
            outcome=Outcome.OK.value,
            output_format="raw",
            sysfs_file=f"{self.disk.sysfs_path.rsplit('/block/', 1)[0]}/{page_file}",
            stdout_hex=hex_bytes,
        )
        self.results.append(result)
        return result

    # -- the plan --------------------------------------------------------------------------------
    def probe(self) -> "list[ProbeResult]":
        self._stop_reason = release_skip_reason(self.options.sg3_release, self.disk.subsystems)
        self._send(INQUIRY)  # the live pass-through test, on every disk
        self._probe_vpd()
        readcap = self._send(READ_CAPACITY_16)
        keys = self._send(PR_READ_KEYS)
        if keys.outcome == Outcome.NOT_SUPPORTED.value:
            reason = "PERSISTENT RESERVE IN is not supported (pr_read_keys)"
            self._skip(PR_READ_RESERVATION.name, reason)
            self._skip(PR_REPORT_CAPABILITIES.name, reason)
        else:
            self._send(PR_READ_RESERVATION)
            self._send(PR_REPORT_CAPABILITIES)
        self._send(REPORT_OPCODES)
        self._probe_write_same(readcap)
        return self.results

    def _probe_vpd(self) -> None:
        supported: "list[int] | None" = None
        for page in VPD_PAGES:
            spec = vpd_probe(page)
            if supported is not None and page not in supported:
                self._skip(spec.name, "not listed in the supported VPD pages (vpd_0x00)")
                continue
            result = self._from_sysfs(spec.name) or self._send(spec)
            if page == 0x00 and result.ok:
                try:
                    supported = decode_supported_vpd_pages(result.response_bytes())
                except DecodeError:
                    supported = None

    def _probe_write_same(self, readcap: "ProbeResult") -> None:
        names = ("write_same16_oor", "write_same10_oor", "write_same16_unmap_oor")
        if not self.options.write_probes:
            for name in names:
                self._skip(name, "write probes disabled (--no-write-probes)")
            return
        capacity = None
        if readcap.ok:
            try:
                capacity = decode_read_capacity_16(readcap.response_bytes())
            except DecodeError:
                capacity = None
        if capacity is None:
            for name in names:
                self._skip(name, "capacity unknown (readcap16 failed): never sent blind")
            return
        block_size = capacity.logical_block_size + (8 if capacity.prot_en else 0)
        ws16_not_supported = False
        for spec in write_same_probes(
            capacity.capacity_blocks, block_size, int(self.options.timeout_s)
        ):
            if spec.name == "write_same16_unmap_oor" and ws16_not_supported:
                self._skip(spec.name, "WRITE SAME(16) is not supported (write_same16_oor)")
                continue
            result = self._send(spec)
            if spec.name == "write_same16_oor" and result.exit_status == SG_LIB_CAT_INVALID_OP:
                ws16_not_supported = True
        if capacity.capacity_blocks >= 2**32:
            self._skip(
                "write_same10_oor", "capacity of 2^32 blocks or more: out of WRITE SAME(10)'s reach"
            )


def probe_disk(
    disk: "BlockDisk", options: "ProbeOptions", run: "Runner" = process.run
) -> "list[ProbeResult]":
    return DiskProber(disk, options, run).probe()
