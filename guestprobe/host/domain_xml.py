"""A libvirt domain XML (``virsh dumpxml``) into host facts: pure, no libvirt needed.

Sample input (one disk of a domain)::

    <disk type='block' device='lun' sgio='unfiltered'>
      <driver name='qemu' type='raw' cache='none' io='native' error_policy='report'/>
      <source dev='/dev/disk/by-id/dm-uuid-mpath-36000c29f0a1b2c3d4e5f60718293a4b5'>
        <reservations managed='yes'/>
      </source>
      <target dev='sdb' bus='scsi'/>
      <shareable/>
      <address type='drive' controller='0' bus='0' target='0' unit='1'/>
    </disk>

gives a disk with ``device`` "lun", ``passthrough`` true, ``host_cache_off`` true,
``source.kind`` "dm-multipath", ``lu_designator`` "naa.6000c29f0a1b2c3d4e5f60718293a4b5",
``reservations.enabled`` true, ``scsi_address`` "0:0:0:1" and, from the controller's own PCI
address, ``controller_pci_slot``. Defaults libvirt leaves to QEMU are spelled out beside the
value as written: ``cache`` null reads ``cache_effective`` "writeback" (QEMU's default),
``error_policy`` null reads ``error_policy_effective`` "enospc" and ``rerror_policy_effective``
"report" (QEMU's block-backend defaults, werror=enospc and rerror=report: libvirt passes no
werror/rerror when the XML sets no error_policy). ``address`` is the address as its bus names it
(``scsi 0:0:0:1 @0000:00:04.0``, ``ide 0:1:0``, ``sata 0 port 2``, ``pci 0000:00:05.0``).

A ``<hostdev mode='subsystem' type='scsi'>`` is a disk too: ``device`` "hostdev", ``qemu_device``
"scsi-generic", joined to the guest's disk by its SCSI address.
"""


import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Tuple

from guestprobe.errors import BadInputError

# QEMU's defaults for what libvirt leaves unset
DEFAULT_CACHE = "writeback"
DEFAULT_ERROR_POLICY = "enospc"
DEFAULT_RERROR_POLICY = "report"
HOST_CACHE_OFF = ("none", "directsync")  # O_DIRECT: no host page cache between guest and LU
PCI_SLOTS_PER_BUS = 32
VIRTIO_PRACTICAL_LIMIT = 28
# Bounds on what one host input may expand into (a domain XML or a VMI; a hostile one is data):
# a real domain XML is a few KB to a few hundred KB; paths are at most PATH_MAX (4096) long.
MAX_HOST_INPUT_BYTES = 8 * 1024 * 1024
MAX_DISKS_PER_DOMAIN = 1024  # <disk> and <hostdev type='scsi'> together
MAX_DEVICE_ELEMENTS = 16384  # every element under <devices>
MAX_HOST_TEXT = 4096  # any attribute or text guestprobe reads
_FREE_TEXT = ("metadata", "description", "title")  # not read: any length

_WWID_PATTERNS = (  # a by-id (or mapper) path that names the LU's NAA / EUI designator
    re.compile(r"/dev/disk/by-id/wwn-0x([0-9a-f]{16,32})$"),
    re.compile(r"/dev/disk/by-id/scsi-3([0-9a-f]{16,32})$"),
    re.compile(r"/dev/disk/by-id/dm-uuid-mpath-3([0-9a-f]{16,32})$"),
    re.compile(r"/dev/mapper/3([0-9a-f]{16,32})$"),
)
_MULTIPATH = re.compile(r"^/dev/(mapper/|disk/by-id/dm-(uuid-mpath|name-mpath)|dm-)")
_DMP = re.compile(r"^/dev/vx/r?dmp/")
_BY_PATH_ISCSI = re.compile(r"^/dev/disk/by-path/.*-iscsi-")


def _int(text: "Optional[str]") -> "Optional[int]":
    if text is None:
        return None
    try:
        return int(text, 0)
    except ValueError:
        return None


def _pci(address: "Optional[ET.Element]") -> "Optional[str]":
    """'0000:00:05.0' from <address type='pci' domain='0x0000' bus='0x00' slot='0x05' .../>."""
    if address is None or address.get("type") != "pci":
        return None
    parts = [_int(address.get(k, "0")) for k in ("domain", "bus", "slot", "function")]
    if any(p is None for p in parts):
        return None
    return "{:04x}:{:02x}:{:02x}.{:x}".format(*parts)


def parse_xml(text: str, what: str) -> "ET.Element":
    """The root element of a domain XML; BadInputError (one line) when it is not one."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:  # libvirt never writes one: refuse, never expand
        raise BadInputError(f"{what}: a DOCTYPE or ENTITY declaration; not a libvirt domain XML")
    if len(text) > MAX_HOST_INPUT_BYTES:
        raise BadInputError(f"{what}: {len(text)} characters, more than the "
                            f"{MAX_HOST_INPUT_BYTES // (1024 * 1024)} MiB a domain XML may be")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise BadInputError(f"{what}: not XML ({exc})") from None
    if root.tag != "domain":
        raise BadInputError(f"{what}: the root element is <{str(root.tag)[:60]}>, not a "
                            "libvirt <domain>")
    _check_bounds(root, what)
    return root


def _check_bounds(root: "ET.Element", what: str) -> None:
    """At most MAX_DISKS_PER_DOMAIN disks and MAX_DEVICE_ELEMENTS elements under <devices>;
    every attribute and text guestprobe may read at most MAX_HOST_TEXT long."""
    devices = root.find("devices")
    if devices is not None:
        disks = len(devices.findall("disk")) + len(_scsi_hostdevs(devices))
        if disks > MAX_DISKS_PER_DOMAIN:
            raise BadInputError(f"{what}: {disks} disks, more than the {MAX_DISKS_PER_DOMAIN} "
                                "guestprobe reads in one domain")
    for part in root:
        if part.tag in _FREE_TEXT:
            continue
        count = 0
        for element in part.iter():
            count += 1
            for name, value in element.attrib.items():
                if len(value) > MAX_HOST_TEXT:
                    raise BadInputError(
                        f"{what}: <{str(element.tag)[:60]} {str(name)[:60]}=...> is "
                        f"{len(value)} characters long, more than the {MAX_HOST_TEXT} "
                        "guestprobe reads")
            if element.text is not None and len(element.text) > MAX_HOST_TEXT:
                raise BadInputError(
                    f"{what}: the text of <{str(element.tag)[:60]}> is {len(element.text)} "
                    f"characters long, more than the {MAX_HOST_TEXT} guestprobe reads")
        if part.tag == "devices" and count > MAX_DEVICE_ELEMENTS:
            raise BadInputError(f"{what}: <devices> holds {count} elements, more than the "
                                f"{MAX_DEVICE_ELEMENTS} guestprobe reads")


def _scsi_hostdevs(devices: "ET.Element") -> "List[ET.Element]":
    return [h for h in devices.findall("hostdev")
            if h.get("type") == "scsi" and h.get("mode", "subsystem") == "subsystem"]


def lu_designator_of_path(path: "Optional[str]") -> "Optional[str]":
    """The NAA designator a by-id path names: 'naa.60000000000000000e00000000010001'."""
    for pattern in _WWID_PATTERNS:
        match = pattern.search((path or "").lower())
        if match:
            return "naa." + match.group(1)
    return None


def source_kind(disk_type: "Optional[str]", source: "Mapping[str, Any]") -> str:
    """file, block, dm-multipath, dmp, iscsi-block (host kernel initiator), iscsi (QEMU's own
    libiscsi), rbd, nbd, gluster, volume, network, dir, none."""
    path = source.get("path") or ""
    if disk_type == "file":
        return "file"
    if disk_type == "block":
        if _DMP.search(path):
            return "dmp"
        if _MULTIPATH.search(path):
            return "dm-multipath"
        if _BY_PATH_ISCSI.search(path):
            return "iscsi-block"
        return "block"
    if disk_type == "network":
        return source.get("protocol") or "network"
    return disk_type or "none"


def _source(disk: "ET.Element") -> "Dict[str, Any]":
    element = disk.find("source")
    out: "Dict[str, Any]" = {"path": None, "protocol": None, "name": None, "hosts": [],
                             "pool": None, "volume": None}
    if element is None:
        return out
    out["path"] = element.get("file") or element.get("dev") or element.get("dir")
    out["protocol"] = element.get("protocol")
    out["name"] = element.get("name")
    out["pool"] = element.get("pool")
    out["volume"] = element.get("volume")
    out["hosts"] = [
        "{}:{}".format(h.get("name") or h.get("socket"), h.get("port") or "")
        .rstrip(":") for h in element.findall("host")
    ]
    return out


def _reservations(disk: "ET.Element") -> "Dict[str, Any]":
    element = disk.find("source/reservations")
    if element is None:
        return {"enabled": False, "managed": None, "socket_path": None}
    source = element.find("source")
    return {
        "enabled": element.get("enabled", "yes") == "yes",
        "managed": element.get("managed") == "yes",
        "socket_path": source.get("path") if source is not None else None,
    }


def qemu_device(bus: "Optional[str]", device: str, kind: str) -> str:
    if bus == "virtio":
        return "virtio-blk-pci"
    if bus == "scsi":
        if device == "lun":
            return "scsi-block" if kind != "iscsi" else "scsi-block (libiscsi)"
        return "scsi-cd" if device == "cdrom" else "scsi-hd"
    if bus in ("sata", "ide"):
        return "ide-cd" if device == "cdrom" else "ide-hd"
    return bus or "unknown"


def drive_address(bus: "Optional[str]", address: "Optional[ET.Element]",
                  controllers: "Mapping[tuple, Dict[str, Any]]"
                  ) -> "Tuple[Optional[str], Optional[Dict[str, Any]], Optional[str]]":
    """(SCSI address, controller, the address as its bus names it) of a disk's <address>: a
    SCSI disk's controller:bus:target:unit (the guest's host:channel:target:lun); an IDE
    disk's controller, bus (primary/secondary) and unit; a SATA disk's controller and port
    (unit); a virtio disk's PCI function; a USB disk's bus and port."""
    kind = address.get("type") if address is not None else None
    if address is None or kind is None:
        return None, None, None
    if kind == "pci":
        return None, None, "pci " + (_pci(address) or "?")
    if kind == "usb":
        return None, None, "usb {}-{}".format(address.get("bus", "0"), address.get("port", "?"))
    if kind != "drive":
        return None, None, kind[:60]
    parts = [_int(address.get(k, "0")) for k in ("controller", "bus", "target", "unit")]
    if any(p is None or p < 0 for p in parts):  # not numbers: no address to match by
        return None, None, "drive ?"
    controller = controllers.get((bus, parts[0]))
    if bus == "scsi":
        scsi = ":".join(str(p) for p in parts)
        slot = controller.get("pci_slot") if controller else None
        return scsi, controller, "scsi " + scsi + (f" @{slot}" if slot else "")
    if bus == "ide":
        return None, controller, f"ide {parts[0]}:{parts[1]}:{parts[3]}"
    if bus == "sata":
        return None, controller, f"sata {parts[0]} port {parts[3]}"
    return None, controller, "{} {}".format(bus or "drive", ":".join(str(p) for p in parts))


def _disk(disk: "ET.Element", controllers: "Mapping[tuple, Dict[str, Any]]") -> "Dict[str, Any]":
    driver = disk.find("driver")
    driver_get = driver.get if driver is not None else (lambda key, default=None: default)
    target = disk.find("target")
    bus = target.get("bus") if target is not None else None
    device = disk.get("device", "disk")
    source = _source(disk)
    kind = source_kind(disk.get("type"), source)
    source["kind"] = kind
    address = disk.find("address")
    cache = driver_get("cache")
    error_policy = driver_get("error_policy")
    rerror_policy = driver_get("rerror_policy")
    wwn = (disk.findtext("wwn") or "").strip().lower() or None
    if wwn and wwn.startswith("0x"):
        wwn = wwn[2:]
    scsi_address, controller, where = drive_address(bus, address, controllers)
    lu = lu_designator_of_path(source.get("path"))
    return {
        "target_dev": target.get("dev") if target is not None else None,
        "bus": bus,
        "device": device,
        "type": disk.get("type"),
        "qemu_device": qemu_device(bus, device, kind),
        "passthrough": device == "lun",
        "driver_name": driver_get("name"),
        "driver_type": driver_get("type"),
        "cache": cache,
        "cache_effective": cache or DEFAULT_CACHE,
        # QEMU's own iSCSI initiator (libiscsi) has no host page cache whatever cache= says
        "host_cache_off": kind == "iscsi" or (cache or DEFAULT_CACHE) in HOST_CACHE_OFF,
        "io": driver_get("io"),
        "discard": driver_get("discard"),
        "discard_effective": driver_get("discard") or "ignore",  # QEMU's default
        "discard_unmap": driver_get("discard") == "unmap",
        "detect_zeroes": driver_get("detect_zeroes"),
        "error_policy": error_policy,
        "error_policy_effective": error_policy or DEFAULT_ERROR_POLICY,
        "rerror_policy": rerror_policy,
        # libvirt gives rerror the error_policy unless rerror_policy is set, except 'enospace'
        "rerror_policy_effective": rerror_policy or (
            error_policy if error_policy not in (None, "enospace") else DEFAULT_RERROR_POLICY),
        "sgio": disk.get("sgio"),
        "sgio_effective": (disk.get("sgio") or "filtered") if device == "lun" else None,
        "rawio": disk.get("rawio") == "yes",
        "reservations": _reservations(disk),
        "pr_helper_running": None,  # set by collect on a live host
        "shareable": disk.find("shareable") is not None,
        "readonly": disk.find("readonly") is not None,
        "source": source,
        "serial": (disk.findtext("serial") or "").strip() or None,
        "wwn": wwn,
        "vendor": (disk.findtext("vendor") or "").strip() or None,
        "product": (disk.findtext("product") or "").strip() or None,
        "lu_designator": ("naa." + wwn) if wwn else lu,
        "pci_slot": _pci(address),
        "scsi_address": scsi_address,
        "address": where,
        "controller_model": controller.get("model") if controller else None,
        "controller_pci_slot": controller.get("pci_slot") if controller else None,
        "alias": (disk.find("alias").get("name") if disk.find("alias") is not None else None),
    }


def _hostdev(hostdev: "ET.Element", index: int,
             controllers: "Mapping[tuple, Dict[str, Any]]") -> "Dict[str, Any]":
    """A ``<hostdev mode='subsystem' type='scsi'>``: one host LU handed to the guest as
    scsi-generic (QEMU passes every SCSI command to the host's /dev/sgN, or to the iSCSI target
    with QEMU's own initiator). No page cache, no werror/rerror (the LU's own status reaches the
    guest), no <reservations> (libvirt has none for a hostdev)."""
    element = hostdev.find("source")
    source: "Dict[str, Any]" = {"path": None, "protocol": None, "name": None, "hosts": [],
                                "pool": None, "volume": None}
    if element is not None and element.get("protocol") == "iscsi":
        source.update(kind="iscsi", protocol="iscsi", name=element.get("name"), hosts=[
            "{}:{}".format(h.get("name"), h.get("port") or "").rstrip(":")
            for h in element.findall("host")])
    else:
        adapter = element.find("adapter") if element is not None else None
        where = element.find("address") if element is not None else None
        source["kind"] = "scsi-host"
        if adapter is not None and where is not None:
            source["path"] = "{} {}:{}:{}".format(adapter.get("name"), where.get("bus", "0"),
                                                 where.get("target", "0"), where.get("unit", "0"))
    scsi_address, controller, shown = drive_address("scsi", hostdev.find("address"), controllers)
    alias = hostdev.find("alias")
    name = alias.get("name") if alias is not None else None
    return {
        "target_dev": name or f"hostdev{index}",
        "bus": "scsi",
        "device": "hostdev",
        "type": "scsi",
        "qemu_device": "scsi-generic",
        "passthrough": True,
        "driver_name": None, "driver_type": None,
        "cache": None, "cache_effective": None, "host_cache_off": True,  # SG_IO: no page cache
        "io": None, "discard": None, "discard_effective": None, "discard_unmap": None,
        "detect_zeroes": None,
        "error_policy": None, "error_policy_effective": "report",
        "rerror_policy": None, "rerror_policy_effective": "report",
        "sgio": hostdev.get("sgio"), "sgio_effective": hostdev.get("sgio") or "filtered",
        "rawio": hostdev.get("rawio") == "yes",
        "reservations": {"enabled": False, "managed": None, "socket_path": None},
        "pr_helper_running": None,
        "shareable": hostdev.find("shareable") is not None,
        "readonly": hostdev.find("readonly") is not None,
        "source": source,
        "serial": None, "wwn": None, "vendor": None, "product": None,
        "lu_designator": lu_designator_of_path(source["path"]),
        "pci_slot": None,
        "scsi_address": scsi_address,
        "address": shown,
        "controller_model": controller.get("model") if controller else None,
        "controller_pci_slot": controller.get("pci_slot") if controller else None,
        "alias": name,
    }


def _virtio_devices(devices: "ET.Element") -> "List[Dict[str, Any]]":
    """Every VirtIO PCI device of the domain: (kind, what, PCI slot)."""
    found: "List[Dict[str, Any]]" = []

    def add(kind: str, element: "ET.Element", what: str) -> None:
        found.append({"kind": kind, "what": what, "pci_slot": _pci(element.find("address"))})

    for disk in devices.findall("disk"):
        target = disk.find("target")
        if target is not None and target.get("bus") == "virtio":
            add("block", disk, f"disk {target.get('dev')}")
    for iface in devices.findall("interface"):
        model = iface.find("model")
        if model is not None and model.get("type") == "virtio":
            add("net", iface, f"interface {iface.get('type')}")
    for ctrl in devices.findall("controller"):
        if ctrl.get("type") == "scsi" and (ctrl.get("model") or "").startswith("virtio-scsi"):
            add("scsi", ctrl, f"controller scsi {ctrl.get('index')}")
        elif ctrl.get("type") == "virtio-serial":
            add("console", ctrl, f"controller virtio-serial {ctrl.get('index')}")
    for fs in devices.findall("filesystem"):
        driver = fs.find("driver")
        if driver is None or driver.get("type") in (None, "path", "handle", "virtiofs"):
            add("9p" if driver is None or driver.get("type") != "virtiofs" else "fs", fs,
                f"filesystem {fs.findtext('target') or ''}".strip())
    for tag, kind in (("memballoon", "balloon"), ("rng", "rng"), ("video", "gpu"),
                      ("input", "input"), ("vsock", "vsock")):
        for element in devices.findall(tag):
            model = element.get("model") or (
                element.find("model").get("type") if element.find("model") is not None else None
            )
            if model in ("virtio", "virtio-transitional", "virtio-non-transitional") or (
                tag == "input" and element.get("bus") == "virtio"
            ):
                add(kind, element, tag)
    return found


def _machine_family(machine: "Optional[str]") -> str:
    text = (machine or "").lower()
    if "q35" in text:
        return "q35"
    if "i440fx" in text or text in ("pc",) or text.startswith("pc-") or text.startswith("rhel"):
        return "i440fx"
    return "other" if text else "unknown"


def _pci_buses(devices: "ET.Element", family: str) -> "List[Dict[str, Any]]":
    """Every PCI bus with its slots: which a device holds, which are free for a new device."""
    buses: "Dict[int, Dict[str, Any]]" = {}
    for ctrl in devices.findall("controller"):
        if ctrl.get("type") != "pci":
            continue
        index = _int(ctrl.get("index")) or 0
        model = ctrl.get("model") or ("pci-root" if family == "i440fx" else "pcie-root")
        buses[index] = {"index": index, "model": model, "used_slots": [], "hotplug": True}
    if 0 not in buses:  # libvirt adds the root bus itself
        buses[0] = {"index": 0, "used_slots": [], "hotplug": True,
                    "model": "pcie-root" if family == "q35" else "pci-root"}
    for element in devices.iter("address"):
        if element.get("type") != "pci":
            continue
        bus = _int(element.get("bus", "0")) or 0
        slot = _int(element.get("slot", "0"))
        if bus in buses and slot is not None and slot not in buses[bus]["used_slots"]:
            buses[bus]["used_slots"].append(slot)
    for bus in buses.values():
        model = bus["model"]
        if model == "pcie-root":  # integrated endpoints: no hot-plug; 0x1f is the ICH9 LPC
            usable = [s for s in range(1, 0x1f)]
            bus["hotplug"] = False
        elif model in ("pcie-root-port", "pcie-switch-downstream-port"):
            usable = [0]
        elif model == "pci-root":  # slot 0 host bridge, slot 1 the PIIX3 (ISA, IDE, USB)
            usable = list(range(2, PCI_SLOTS_PER_BUS))
        else:  # pci-bridge, pcie-to-pci-bridge: slot 0 is reserved
            usable = list(range(1, PCI_SLOTS_PER_BUS))
        bus["used_slots"].sort()
        bus["free_slots"] = len([s for s in usable if s not in bus["used_slots"]])
    return [buses[i] for i in sorted(buses)]


def decode_domain(text: str, what: str = "domain XML") -> "Dict[str, Any]":
    """Host facts of one domain from its XML (see the module docstring)."""
    root = parse_xml(text, what)
    os_type = root.find("os/type")
    machine = os_type.get("machine") if os_type is not None else None
    family = _machine_family(machine)
    devices = root.find("devices")
    if devices is None:
        devices = ET.Element("devices")
    controllers: "Dict[tuple, Dict[str, Any]]" = {}
    controller_list = []
    for ctrl in devices.findall("controller"):
        entry = {
            "type": ctrl.get("type"),
            "index": _int(ctrl.get("index")) or 0,
            "model": ctrl.get("model"),
            "pci_slot": _pci(ctrl.find("address")),
        }
        controller_list.append(entry)
        controllers[(entry["type"], entry["index"])] = entry
    disks = [_disk(d, controllers) for d in devices.findall("disk")]
    disks += [_hostdev(h, i, controllers) for i, h in enumerate(_scsi_hostdevs(devices))]
    virtio = _virtio_devices(devices)
    buses = _pci_buses(devices, family)
    # a device without a PCI address (a hand-written XML) takes a slot when libvirt defines it
    unaddressed = [v["what"] for v in virtio if v["pci_slot"] is None]
    hotplug_free = max(0, sum(b["free_slots"] for b in buses if b["hotplug"]) - len(unaddressed))
    return {
        "name": root.findtext("name"),
        "uuid": root.findtext("uuid"),
        "domain_type": root.get("type"),
        "state": None,  # set by collect from libvirt
        "machine": machine,
        "machine_family": family,
        "emulator": root.findtext("devices/emulator"),
        "controllers": controller_list,
        "pci_buses": buses,
        "pci_addresses_complete": not unaddressed,
        "free_pci_slots": max(0, sum(b["free_slots"] for b in buses) - len(unaddressed)),
        "free_hotplug_slots": hotplug_free,
        **virtio_counts(virtio),
        "disk_count": len(disks),
        "disks": disks,
    }


def virtio_counts(virtio: "List[Dict[str, Any]]") -> "Dict[str, Any]":
    """The domain's VirtIO devices and their counts, as the guest's rules count them."""
    return {
        "virtio_devices": virtio,
        "virtio_device_count": len(virtio),
        "virtio_blk_count": sum(1 for v in virtio if v["kind"] == "block"),
        "virtio_net_count": sum(1 for v in virtio if v["kind"] == "net"),
        "virtio_scsi_controller_count": sum(1 for v in virtio if v["kind"] == "scsi"),
    }
