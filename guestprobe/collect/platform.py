"""Facts about the guest as a whole: hypervisor, kernel, sg3_utils, udev, VirtIO devices."""


import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from guestprobe.collect import process
from guestprobe.collect.sg3 import SG3_TOOLS
from guestprobe.collect.sg3_releases import differences_for, parse_sg_inq_version, release_of
from guestprobe.collect.sysfs import SysRoot
from guestprobe.collect.udev import UdevView
from guestprobe.decode import json_ready

# virtio device ids (virtio spec 1.2, section 5): the kinds a support engineer cares about.
VIRTIO_DEVICE_KINDS = {
    1: "net",
    2: "block",
    3: "console",
    4: "entropy",
    5: "balloon",
    8: "scsi",
    9: "9p",
    16: "gpu",
    18: "input",
    19: "vsock",
    26: "fs",
}

@dataclass
class VirtioDevice:
    name: str
    device_id: "int | None"
    kind: str
    driver: "str | None"
    pci_slot: "str | None"


@dataclass
class PlatformFacts:
    """The guest-wide facts, as collected."""

    kernel_release: "str | None" = None
    hostname: "str | None" = None
    dmi_sys_vendor: "str | None" = None
    dmi_product_name: "str | None" = None
    dmi_product_family: "str | None" = None
    dmi_chassis_asset_tag: "str | None" = None
    sys_hypervisor_type: "str | None" = None
    cpu_hypervisor_flag: "bool | None" = None
    sg3_utils: "dict[str, Any]" = field(default_factory=dict)
    udev_database_populated: bool = False
    udev_unavailable_reason: "str | None" = None
    virtio_devices: "list[VirtioDevice]" = field(default_factory=list)
    euid: "int | None" = None

    def to_dict(self) -> "dict[str, Any]":
        return json_ready(self)

    @classmethod
    def from_dict(cls, data: "dict[str, Any]") -> "PlatformFacts":
        known = {f.name for f in fields(cls)}
        kwargs = {key: value for key, value in data.items() if key in known}
        kwargs["virtio_devices"] = [VirtioDevice(**v) for v in data.get("virtio_devices", [])]
        return cls(**kwargs)

    @property
    def hypervisor(self) -> "str | None":
        """A best guess at the hypervisor's name from DMI, for remediation wording."""
        text = " ".join(filter(None, [self.dmi_sys_vendor, self.dmi_product_name])).lower()
        for needle, name in (
            ("kubevirt", "kubevirt"),
            ("ovirt", "ovirt"),
            ("rhev", "ovirt"),
            ("red hat", "kvm"),
            ("qemu", "kvm"),
            ("kvm", "kvm"),
            ("openstack", "openstack"),
            ("vmware", "vmware"),
            ("microsoft", "hyperv"),
            ("xen", "xen"),
        ):
            if needle in text:
                return name
        if self.sys_hypervisor_type:
            return self.sys_hypervisor_type
        return "unknown" if self.cpu_hypervisor_flag else None


def sg3_utils_facts(
    timeout_s: float = 10.0, run: "Callable[[Sequence[str], float], Any]" = process.run
) -> "dict[str, Any]":
    """Which sg3_utils tools are on PATH, which release they are (one process: ``sg_inq
    --version``, started by ``run`` within ``timeout_s``), and what the probes do differently
    for that release."""
    tools = {tool: shutil.which(tool) for tool in SG3_TOOLS}
    facts: "dict[str, Any]" = {"tools": tools, "sg_inq_version": None, "release": None}
    if tools["sg_inq"]:
        result = run(["sg_inq", "--version"], timeout_s)
        version = parse_sg_inq_version(
            result.stderr_text + result.stdout.decode("utf-8", "replace")
        )
        release, probes_as, basis = release_of(version)
        facts["sg_inq_version"] = version
        facts["release"] = release
        facts["release_basis"] = basis
        facts["differences"] = [d.to_dict() for d in differences_for(probes_as)]
    return facts


def collect_platform(
    sys: "SysRoot",
    udev: "UdevView",
    probe_sg3: bool = True,
    run: "Callable[[Sequence[str], float], Any]" = process.run,
    timeout_s: float = 10.0,
) -> "PlatformFacts":
    """The guest-wide facts; sg3_utils' release asked through ``run`` within ``timeout_s``."""
    facts = PlatformFacts()
    facts.euid = os.geteuid()
    facts.kernel_release = sys.read_text(sys.path("/proc/sys/kernel/osrelease"))
    facts.hostname = sys.read_text(sys.path("/proc/sys/kernel/hostname"))
    dmi = sys.path("/sys/class/dmi/id")
    facts.dmi_sys_vendor = sys.read_text(dmi / "sys_vendor")
    facts.dmi_product_name = sys.read_text(dmi / "product_name")
    facts.dmi_product_family = sys.read_text(dmi / "product_family")
    facts.dmi_chassis_asset_tag = sys.read_text(dmi / "chassis_asset_tag")
    facts.sys_hypervisor_type = sys.read_text(sys.path("/sys/hypervisor/type"))
    cpuinfo = sys.read_text(sys.path("/proc/cpuinfo"))
    if cpuinfo is not None:
        facts.cpu_hypervisor_flag = bool(re.search(r"^flags\s*:.*\bhypervisor\b", cpuinfo, re.M))
    facts.udev_database_populated = udev.database_populated
    facts.udev_unavailable_reason = udev.unavailable_reason
    facts.virtio_devices = list_virtio_devices(sys)
    if probe_sg3:
        facts.sg3_utils = sg3_utils_facts(timeout_s, run)
    return facts


def list_virtio_devices(sys: "SysRoot") -> "list[VirtioDevice]":
    base = sys.path("/sys/bus/virtio/devices")
    devices = []
    for name in sys.listdir(base):
        node = base / name
        device_id = sys.read_int(node / "device")
        real = sys.realpath(node)
        devices.append(
            VirtioDevice(
                name=name,
                device_id=device_id,
                kind=VIRTIO_DEVICE_KINDS.get(device_id or -1, f"id-{device_id}"),
                driver=sys.link_name(node / "driver"),
                pci_slot=real.parent.name if real.parent.name.count(":") == 2 else None,
            )
        )
    return devices
