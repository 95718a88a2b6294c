"""A KubeVirt VirtualMachineInstance (``kubectl get vmi NAME -o json``) into the host facts of
:mod:`guestprobe.host.decode`, as far as the VMI spec says them. Pure.

Sample (one disk)::

    {"name": "fence1", "lun": {"bus": "scsi", "reservation": true}, "cache": "none",
     "errorPolicy": "report", "shareable": true, "serial": "FENCE1"}

KubeVirt's defaults: bus virtio for ``disk``, scsi for ``lun``; cache none where the volume
supports O_DIRECT (the VMI does not say, so an unset cache reads ``cache_effective`` null);
machine type q35; errorPolicy ``stop`` (KubeVirt's own default).
"""


from typing import Any, Dict, List

from guestprobe.host.decode import HOST_CACHE_OFF, virtio_counts

KUBEVIRT_DEFAULT_ERROR_POLICY = "stop"


def _volume_kinds(spec: "Dict[str, Any]") -> "Dict[str, Dict[str, Any]]":
    out = {}
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        kinds = [k for k in volume if k != "name"]
        kind = kinds[0] if kinds else "none"
        detail = volume.get(kind) if isinstance(volume.get(kind), dict) else {}
        out[str(volume.get("name"))] = {
            "kind": {"persistentVolumeClaim": "pvc", "dataVolume": "datavolume",
                     "containerDisk": "file", "emptyDisk": "file", "hostDisk": "file",
                     "cloudInitNoCloud": "file"}.get(kind, kind),
            "path": detail.get("claimName") or detail.get("name") or detail.get("path"),
            "protocol": None, "name": None, "hosts": [], "pool": None, "volume": None,
        }
    return out


def _disk(entry: "Dict[str, Any]", volumes: "Dict[str, Dict[str, Any]]") -> "Dict[str, Any]":
    device = "lun" if "lun" in entry else "cdrom" if "cdrom" in entry else "disk"
    body = entry.get(device) if isinstance(entry.get(device), dict) else {}
    bus = body.get("bus") or ("scsi" if device == "lun" else "virtio")
    cache = entry.get("cache")
    error_policy = entry.get("errorPolicy")
    reservation = bool(body.get("reservation"))
    source = volumes.get(str(entry.get("name")), {"kind": "none", "path": None, "protocol": None,
                                                   "name": None, "hosts": [], "pool": None,
                                                   "volume": None})
    return {
        "target_dev": entry.get("name"),
        "bus": bus,
        "device": device,
        "type": source["kind"],
        "qemu_device": "virtio-blk-pci" if bus == "virtio" else
        ("scsi-block" if device == "lun" else "scsi-hd" if bus == "scsi" else bus),
        "passthrough": device == "lun",
        "driver_name": "qemu", "driver_type": None,
        "cache": cache,
        "cache_effective": cache,
        "host_cache_off": None if cache is None else cache in HOST_CACHE_OFF,
        "io": entry.get("io"),
        "discard": None, "discard_effective": None, "discard_unmap": None, "detect_zeroes": None,
        "error_policy": error_policy,
        "error_policy_effective": error_policy or KUBEVIRT_DEFAULT_ERROR_POLICY,
        "rerror_policy": None,
        "rerror_policy_effective": error_policy or KUBEVIRT_DEFAULT_ERROR_POLICY,
        "sgio": None, "sgio_effective": "unfiltered" if reservation else None,
        "rawio": False,
        # KubeVirt runs one managed qemu-pr-helper per node (the PersistentReservation gate)
        "reservations": {"enabled": reservation, "managed": reservation or None,
                         "socket_path": None},
        "pr_helper_running": None,
        "shareable": bool(entry.get("shareable")),
        "readonly": bool(body.get("readonly")),
        "source": source,
        "serial": entry.get("serial"),
        "wwn": None, "vendor": None, "product": None, "lu_designator": None,
        "pci_slot": None, "scsi_address": None,
        "controller_model": "virtio-scsi" if bus == "scsi" else None,
        "controller_pci_slot": None,
        "alias": entry.get("name"),
    }


def decode_vmi(document: "Dict[str, Any]", what: str) -> "Dict[str, Any]":
    spec = document.get("spec") if isinstance(document.get("spec"), dict) else {}
    if document.get("kind") == "VirtualMachine":  # the template of a VirtualMachine
        spec = ((spec.get("template") or {}).get("spec")) or {}
    domain_spec = spec.get("domain") if isinstance(spec.get("domain"), dict) else {}
    devices = domain_spec.get("devices") if isinstance(domain_spec.get("devices"), dict) else {}
    volumes = _volume_kinds(spec)
    disks = [_disk(d, volumes) for d in devices.get("disks") or [] if isinstance(d, dict)]
    machine = (domain_spec.get("machine") or {}).get("type") or "q35"
    virtio: "List[Dict[str, Any]]" = [
        {"kind": "block", "what": f"disk {d['target_dev']}", "pci_slot": None}
        for d in disks if d["bus"] == "virtio"
    ]
    if any(d["bus"] == "scsi" for d in disks):
        virtio.append({"kind": "scsi", "what": "controller scsi 0", "pci_slot": None})
    for iface in devices.get("interfaces") or [{}]:
        if isinstance(iface, dict) and iface.get("model", "virtio") == "virtio":
            virtio.append({"kind": "net", "what": f"interface {iface.get('name')}",
                           "pci_slot": None})
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    status = document.get("status") if isinstance(document.get("status"), dict) else {}
    return {
        "name": metadata.get("name"),
        "uuid": metadata.get("uid"),
        "domain_type": "kubevirt",
        "state": (status.get("phase") or "").lower() or None,
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
