"""A KubeVirt VirtualMachineInstance (``kubectl get vmi NAME -o json``) into the host facts of
:mod:`guestprobe.host.domain_xml`, as far as the VMI spec says them. Pure.

Sample (one disk)::

    {"name": "fence1", "lun": {"bus": "scsi", "reservation": true}, "cache": "none",
     "errorPolicy": "report", "shareable": true, "serial": "FENCE1"}

KubeVirt's defaults: bus virtio for ``disk``, scsi for ``lun``, sata for ``cdrom``; a volume
without a ``devices.disks`` (or ``filesystems``) entry is a virtio disk (KubeVirt's defaulting
webhook adds it); cache none where the volume supports O_DIRECT (the VMI does not say, so an
unset cache reads ``cache_effective`` null); machine type q35; errorPolicy ``stop`` (KubeVirt
writes error_policy='stop' into the domain when the VMI sets none).

Every field read is type-checked as a report's are: a field of the wrong JSON type, a string
longer than :data:`~guestprobe.host.domain_xml.MAX_HOST_TEXT` or more disks than
:data:`~guestprobe.host.domain_xml.MAX_DISKS_PER_DOMAIN` is one BadInputError naming the field.
"""


from typing import Any, Dict, List, Optional

from guestprobe.errors import BadInputError
from guestprobe.host.domain_xml import (
    HOST_CACHE_OFF,
    MAX_DISKS_PER_DOMAIN,
    MAX_HOST_TEXT,
    qemu_device,
    virtio_counts,
)

KUBEVIRT_DEFAULT_ERROR_POLICY = "stop"
_DEFAULT_BUS = {"disk": "virtio", "lun": "scsi", "cdrom": "sata"}
_VOLUME_KINDS = {"persistentVolumeClaim": "pvc", "dataVolume": "datavolume",
                 "containerDisk": "file", "emptyDisk": "file", "hostDisk": "file",
                 "cloudInitNoCloud": "file", "cloudInitConfigDrive": "file"}
_JSON_TYPES = ((bool, "a boolean"), (str, "a string"), (int, "a number"), (float, "a number"),
               (list, "a list"), (dict, "an object"))


def _kind_of(value: "Any") -> str:
    if value is None:
        return "null"
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), "a value")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


class _Reader:
    """Typed access to one document's fields; every refusal names the field."""

    def __init__(self, what: str) -> None:
        self.what = what

    def _refuse(self, where: str, wanted: str, value: "Any") -> "BadInputError":
        return BadInputError(f"{self.what}: {where} must be {wanted}, not {_kind_of(value)}")

    def obj(self, parent: "Dict[str, Any]", key: str, where: str) -> "Dict[str, Any]":
        value = parent.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._refuse(_join(where, key), "an object", value)
        return value

    def objects(self, parent: "Dict[str, Any]", key: str, where: str) -> "List[Dict[str, Any]]":
        value = parent.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._refuse(_join(where, key), "a list", value)
        if len(value) > MAX_DISKS_PER_DOMAIN:
            raise BadInputError(f"{self.what}: {_join(where, key)} has {len(value)} entries, "
                                f"more than the {MAX_DISKS_PER_DOMAIN} guestprobe reads")
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self._refuse(f"{_join(where, key)}[{index}]", "an object", item)
        return value

    def text(self, parent: "Dict[str, Any]", key: str, where: str) -> "Optional[str]":
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._refuse(_join(where, key), "a string", value)
        if len(value) > MAX_HOST_TEXT:
            raise BadInputError(f"{self.what}: {_join(where, key)} is {len(value)} characters "
                                f"long, more than the {MAX_HOST_TEXT} guestprobe reads")
        return value

    def flag(self, parent: "Dict[str, Any]", key: str, where: str) -> bool:
        value = parent.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._refuse(_join(where, key), "true or false", value)
        return value


def _no_source() -> "Dict[str, Any]":
    return {"kind": "none", "path": None, "protocol": None, "name": None, "hosts": [],
            "pool": None, "volume": None}


def _volumes(read: "_Reader", spec: "Dict[str, Any]", where: str
             ) -> "Dict[str, Dict[str, Any]]":
    out = {}
    for index, volume in enumerate(read.objects(spec, "volumes", where)):
        at = f"{where}.volumes[{index}]"
        name = read.text(volume, "name", at)
        kinds = [k for k in volume if k != "name"]
        kind = kinds[0] if kinds else "none"
        detail = read.obj(volume, kind, at) if kinds else {}
        path = None
        for key in ("claimName", "name", "path", "image"):
            path = path or read.text(detail, key, f"{at}.{kind[:60]}")
        source = _no_source()
        source.update(kind=_VOLUME_KINDS.get(kind, kind[:MAX_HOST_TEXT]), path=path)
        out[str(name)] = source
    return out


def _disk(read: "_Reader", entry: "Dict[str, Any]", at: str,
          volumes: "Dict[str, Dict[str, Any]]") -> "Dict[str, Any]":
    device = "lun" if "lun" in entry else "cdrom" if "cdrom" in entry else "disk"
    body = read.obj(entry, device, at)
    bus = read.text(body, "bus", f"{at}.{device}") or _DEFAULT_BUS[device]
    name = read.text(entry, "name", at)
    cache = read.text(entry, "cache", at)
    error_policy = read.text(entry, "errorPolicy", at)
    effective = error_policy or KUBEVIRT_DEFAULT_ERROR_POLICY
    reservation = read.flag(body, "reservation", f"{at}.{device}")
    source = volumes.get(str(name), _no_source())
    return {
        "target_dev": name,
        "bus": bus,
        "device": device,
        "type": source["kind"],
        "qemu_device": qemu_device(bus, device, source["kind"]),
        "passthrough": device == "lun",
        "driver_name": "qemu", "driver_type": None,
        "cache": cache,
        "cache_effective": cache,
        "host_cache_off": None if cache is None else cache in HOST_CACHE_OFF,
        "io": read.text(entry, "io", at),
        "discard": None, "discard_effective": None, "discard_unmap": None, "detect_zeroes": None,
        "error_policy": error_policy,
        "error_policy_effective": effective,
        "rerror_policy": None,
        # libvirt gives rerror the error_policy too, except 'enospace' (no such read policy)
        "rerror_policy_effective": "report" if effective == "enospace" else effective,
        "sgio": None, "sgio_effective": "unfiltered" if reservation else None,
        "rawio": False,
        # KubeVirt runs one managed qemu-pr-helper per node (the PersistentReservation gate)
        "reservations": {"enabled": reservation, "managed": reservation or None,
                         "socket_path": None},
        "pr_helper_running": None,
        "shareable": read.flag(entry, "shareable", at),
        "readonly": read.flag(body, "readonly", f"{at}.{device}"),
        "source": source,
        "serial": read.text(entry, "serial", at),
        "wwn": None, "vendor": None, "product": None, "lu_designator": None,
        "pci_slot": None, "scsi_address": None, "address": None,
        "controller_model": "virtio-scsi" if bus == "scsi" else None,
        "controller_pci_slot": None,
        "alias": name,
    }


def decode_vmi(document: "Dict[str, Any]", what: str) -> "Dict[str, Any]":
    read = _Reader(what)
    spec = read.obj(document, "spec", "")
    where = "spec"
    if document.get("kind") == "VirtualMachine":  # the template of a VirtualMachine
        spec = read.obj(read.obj(spec, "template", where), "spec", where + ".template")
        where = "spec.template.spec"
    domain_spec = read.obj(spec, "domain", where)
    devices = read.obj(domain_spec, "devices", where + ".domain")
    at = where + ".domain.devices"
    volumes = _volumes(read, spec, where)
    entries = read.objects(devices, "disks", at)
    disks = [_disk(read, d, f"{at}.disks[{i}]", volumes) for i, d in enumerate(entries)]
    named = {str(d["target_dev"]) for d in disks}
    named |= {str(read.text(f, "name", f"{at}.filesystems[{i}]"))
              for i, f in enumerate(read.objects(devices, "filesystems", at))}
    for name in volumes:  # KubeVirt's defaulting: a volume without a disk is a virtio disk
        if name not in named:
            disks.append(_disk(read, {"name": name}, f"{where}.volumes[{name}]", volumes))
    if len(disks) > MAX_DISKS_PER_DOMAIN:
        raise BadInputError(f"{what}: {len(disks)} disks, more than the {MAX_DISKS_PER_DOMAIN} "
                            "guestprobe reads in one domain")
    machine = read.text(read.obj(domain_spec, "machine", where + ".domain"), "type",
                        where + ".domain.machine") or "q35"
    virtio: "List[Dict[str, Any]]" = [
        {"kind": "block", "what": f"disk {d['target_dev']}", "pci_slot": None}
        for d in disks if d["bus"] == "virtio"
    ]
    if any(d["bus"] == "scsi" for d in disks):
        virtio.append({"kind": "scsi", "what": "controller scsi 0", "pci_slot": None})
    interfaces = read.objects(devices, "interfaces", at) if "interfaces" in devices else [{}]
    for index, iface in enumerate(interfaces):
        model = read.text(iface, "model", f"{at}.interfaces[{index}]") or "virtio"
        if model == "virtio":
            name = read.text(iface, "name", f"{at}.interfaces[{index}]")
            virtio.append({"kind": "net", "what": f"interface {name}", "pci_slot": None})
    metadata = read.obj(document, "metadata", "")
    status = read.obj(document, "status", "")
    phase = read.text(status, "phase", "status")
    return {
        "name": read.text(metadata, "name", "metadata"),
        "uuid": read.text(metadata, "uid", "metadata"),
        "domain_type": "kubevirt",
        "state": phase.lower() if phase else None,
        "machine": machine,
        "machine_family": "q35" if "q35" in machine else "other",
        "emulator": None,
        "controllers": [],
        "pci_buses": [],
        "pci_addresses_complete": False,
        "free_pci_slots": None,
        "free_hotplug_slots": None,
        **virtio_counts(virtio),
        "disk_count": len(disks),
        "disks": disks,
    }
