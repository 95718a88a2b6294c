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
from guestprobe.collect.sending import send
from guestprobe.collect.sg3 import (
    DISK_UNREACHABLE,
    INQUIRY,
    MAX_BLOCK_SIZE,
    PR_READ_FULL_STATUS,
    PR_READ_KEYS,
    PR_READ_RESERVATION,
    PR_REPORT_CAPABILITIES,
    READ_CAPACITY_16,
    READ_CAPACITY_16_RECHECK,
    REPORT_OPCODES,
    SG_LIB_CAT_INVALID_OP,
    VPD_PAGES,
    Outcome,
    ProbeSpec,
    far_lba,
    vpd_probe,
    write_same_probes,
)
from guestprobe.collect.sg3_releases import adapt, release_skip_reason
from guestprobe.decode import DecodeError
from guestprobe.decode.persist import pr_in_data_from_hexdump
from guestprobe.decode.readcap import ReadCapacity16, decode_read_capacity_16
from guestprobe.decode.vpd import decode_supported_vpd_pages

Runner = typing.Callable[[typing.Sequence[str], float], process.CommandResult]
# The kernel's idea of the disk's size, read now: (size in bytes, logical block size), None unknown
KernelCapacity = typing.Callable[[], "tuple[int | None, int | None]"]

WRITE_SAME_NAMES = ("write_same16_oor", "write_same10_oor", "write_same16_unmap_oor")


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
    skip_code: "str | None" = None  # stable, for machines: e.g. "capacity_mismatch"

    def to_dict(self) -> "dict[str, Any]":
        # by hand, not dataclasses.asdict: no deep copy, and reports hold hundreds of these
        return {
            "name": self.name,
            "source": self.source,
            "outcome": self.outcome,
            "argv": None if self.argv is None else list(self.argv),
            "sysfs_file": self.sysfs_file,
            "output_format": self.output_format,
            "exit_status": self.exit_status,
            "exit_meaning": self.exit_meaning,
            "duration_s": self.duration_s,
            "attempts": self.attempts,
            "stdout_hex": self.stdout_hex,
            "stderr": self.stderr,
            "skip_reason": self.skip_reason,
            "skip_code": self.skip_code,
        }

    @classmethod
    def from_dict(cls, data: "dict[str, Any]") -> "ProbeResult":
        return cls(**{key: value for key, value in data.items() if key in _KNOWN})

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.OK.value

    def response_bytes(self) -> bytes:
        """The response parameter data, whatever form the tool printed it in."""
        raw = bytes.fromhex(self.stdout_hex)
        if self.output_format == "hex":  # sg_persist --hex --hex: PR IN parameter data
            return pr_in_data_from_hexdump(raw)
        return raw


_NAMES = tuple(f.name for f in fields(ProbeResult))
_KNOWN = frozenset(_NAMES)


@dataclass(frozen=True)
class ProbeOptions:
    """How to probe: the one place these defaults are written (``pipeline.ScanRequest`` adds
    which disks; the command-line options show these defaults)."""

    timeout_s: float = 15.0  # seconds one command may take
    write_probes: bool = True  # the WRITE SAME probes (far past the end: no data block)
    use_sysfs_pages: bool = True  # the kernel's copies of VPD pages where it has them
    # the sg3_utils release the argvs are adapted to (sg3_releases.adapt); None: the newest
    sg3_release: "tuple[int, int] | None" = None
    # "lib": libsgutils2 in worker processes where it loads (collect/lib_engine.py
    # choose_engine says why not, and the executables send instead); "cli": the executables
    engine: str = "lib"


class DiskProber:
    """Runs the probe plan against one disk."""

    def __init__(
        self,
        disk: "BlockDisk",
        options: "ProbeOptions",
        run: "Runner" = process.run,
        kernel_capacity: "KernelCapacity | None" = None,
    ) -> None:
        self.disk = disk
        self.options = options
        self.run = run
        self.kernel_capacity = kernel_capacity or (
            lambda: (disk.size_bytes, disk.queue.get("logical_block_size"))
        )
        self.results: "list[ProbeResult]" = []
        self._stop_reason: "str | None" = None

    # -- helpers -------------------------------------------------------------------------------
    def _skip(self, name: str, reason: str, code: str = "not_needed") -> "ProbeResult":
        result = ProbeResult(
            name=name,
            source="none",
            outcome=Outcome.SKIPPED.value,
            output_format="none",
            skip_reason=reason,
            skip_code=code,
        )
        self.results.append(result)
        return result

    def _send(self, spec: "ProbeSpec") -> "ProbeResult":
        if self._stop_reason is not None:
            return self._skip(spec.name, self._stop_reason, "disk_unreachable")
        spec = adapt(spec, self.options.sg3_release)
        argv = spec.argv(self.disk.scsi_device)
        result = ProbeResult(
            name=spec.name,
            source="sg3_utils",
            outcome=Outcome.OTHER_ERROR.value,
            argv=argv,
            output_format=spec.output,
        )
        sent = send(self.run, argv, self.options.timeout_s, response_due=spec.output != "none")
        result.attempts, result.duration_s = sent.attempts, sent.duration_s
        result.exit_status, result.exit_meaning = sent.exit_status, sent.exit_meaning
        result.stdout_hex, result.stderr, result.outcome = (
            sent.stdout.hex(),
            sent.stderr,
            sent.outcome,
        )
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
            self._skip(PR_READ_RESERVATION.name, reason, "pr_in_not_supported")
            self._skip(PR_REPORT_CAPABILITIES.name, reason, "pr_in_not_supported")
            self._skip(PR_READ_FULL_STATUS.name, reason, "pr_in_not_supported")
        else:
            self._send(PR_READ_RESERVATION)
            self._send(PR_REPORT_CAPABILITIES)
            self._send(PR_READ_FULL_STATUS)
        self._send(REPORT_OPCODES)
        self._probe_write_same(readcap)
        return self.results

    def _probe_vpd(self) -> None:
        supported: "list[int] | None" = None
        for page in VPD_PAGES:
            spec = vpd_probe(page)
            if supported is not None and page not in supported:
                self._skip(
                    spec.name, "not listed in the supported VPD pages (vpd_0x00)", "vpd_not_listed"
                )
                continue
            result = self._from_sysfs(spec.name) or self._send(spec)
            if page == 0x00 and result.ok:
                try:
                    supported = decode_supported_vpd_pages(result.response_bytes())
                except DecodeError:
                    supported = None

    def _probe_write_same(self, readcap: "ProbeResult") -> None:
        """The WRITE SAME probes, at far LBAs, only after the capacity checks out twice.

        The LBA never comes from the device: it is a constant far past any real disk
        (:data:`~guestprobe.collect.sg3.WRITE_SAME16_LBA`). The capacity only decides whether the
        disk is small enough for that constant to stay out of range, and it must agree with the
        kernel's size, and again when read afresh just before the probes.
        """
        if not self.options.write_probes:
            return self._skip_write_same("write_probes_disabled", "--no-write-probes")
        first = self._capacity(readcap)
        if first is None:
            return self._skip_write_same(
                "capacity_unknown", "capacity unknown (readcap16 failed): never sent blind"
            )
        at_discovery = (self.disk.size_bytes, self.disk.queue.get("logical_block_size"))
        problem = self._disagreement(first, *at_discovery)
        if problem is not None:
            return self._skip_write_same(*problem)
        fresh_probe = self._send(READ_CAPACITY_16_RECHECK)
        fresh = self._capacity(fresh_probe)
        if fresh is None:
            return self._skip_write_same(
                "capacity_recheck_failed",
                f"READ CAPACITY(16) just before the write probes failed ({fresh_probe.outcome})",
            )
        if (fresh.capacity_blocks, fresh.logical_block_size) != (
            first.capacity_blocks,
            first.logical_block_size,
        ):
            return self._skip_write_same(
                "capacity_changed",
                f"the capacity changed during the scan ({first.capacity_blocks} then "
                f"{fresh.capacity_blocks} blocks of {first.logical_block_size} then "
                f"{fresh.logical_block_size} bytes)",
            )
        problem = self._disagreement(fresh, *self.kernel_capacity())
        if problem is not None:
            code, text = problem
            return self._skip_write_same(
                "capacity_changed" if code == "capacity_mismatch" else code, text + " (read again)"
            )
        self._send_write_same(fresh)

    def _send_write_same(self, capacity: "ReadCapacity16") -> None:
        block_size = capacity.logical_block_size + (8 if capacity.prot_en else 0)
        specs = {
            spec.name: spec
            for spec in write_same_probes(
                capacity.capacity_blocks, block_size, int(self.options.timeout_s)
            )
        }
        ws16_not_supported = False
        for name in WRITE_SAME_NAMES:
            spec = specs.get(name)
            cdb_size = 10 if name == "write_same10_oor" else 16
            if spec is None:
                self._skip(
                    name,
                    f"{capacity.capacity_blocks} blocks: too many for WRITE SAME({cdb_size})'s "
                    f"far LBA {far_lba(cdb_size)} to stay out of range with a margin",
                    "disk_too_large_for_far_lba",
                )
            elif name == "write_same16_unmap_oor" and ws16_not_supported:
                self._skip(
                    name,
                    "WRITE SAME(16) is not supported (write_same16_oor)",
                    "write_same16_not_supported",
                )
            else:
                result = self._send(spec)
                if name == "write_same16_oor" and result.exit_status == SG_LIB_CAT_INVALID_OP:
                    ws16_not_supported = True

    def _skip_write_same(self, code: str, reason: str) -> None:
        for name in WRITE_SAME_NAMES:
            self._skip(name, reason, code)

    @staticmethod
    def _capacity(readcap: "ProbeResult") -> "ReadCapacity16 | None":
        if not readcap.ok:
            return None
        try:
            return decode_read_capacity_16(readcap.response_bytes())
        except DecodeError:
            return None

    @staticmethod
    def _disagreement(
        capacity: "ReadCapacity16", kernel_bytes: "int | None", kernel_block_size: "int | None"
    ) -> "tuple[str, str] | None":
        """(code, why) READ CAPACITY(16) and the kernel's size do not agree; None when they do."""
        if kernel_bytes is None or kernel_block_size is None:
            return (
                "kernel_size_unknown",
                "the kernel's size or logical block size is unknown: nothing to check against",
            )
        if capacity.logical_block_size != kernel_block_size:
            return (
                "capacity_mismatch",
                f"READ CAPACITY(16) says {capacity.logical_block_size}-byte blocks, the kernel "
                f"{kernel_block_size}",
            )
        if not 512 <= capacity.logical_block_size <= MAX_BLOCK_SIZE:
            return (
                "block_size_out_of_bounds",
                f"logical block size {capacity.logical_block_size} is not 512 to {MAX_BLOCK_SIZE}",
            )
        if capacity.capacity_bytes != kernel_bytes:
            return (
                "capacity_mismatch",
                f"READ CAPACITY(16) says {capacity.capacity_bytes} bytes "
                f"({capacity.capacity_blocks} blocks), the kernel {kernel_bytes} bytes",
            )
        return None


def probe_disk(
    disk: "BlockDisk",
    options: "ProbeOptions",
    run: "Runner" = process.run,
    kernel_capacity: "KernelCapacity | None" = None,
) -> "list[ProbeResult]":
    return DiskProber(disk, options, run, kernel_capacity).probe()
