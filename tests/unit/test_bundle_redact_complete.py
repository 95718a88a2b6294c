"""Redaction by layout and by field (issue 10, findings 5 and 6): PR data keeps every byte but
the keys; no identifier of any kind survives anywhere in a redacted bundle, raw bytes included;
short identifiers are replaced where they are fields, never inside unrelated words.
"""


import copy
import io
import json
import re
import tarfile
from pathlib import Path

from documents import build_document
from test_bundle_archive import versions_of
from test_bundle_redact import IQN, PORTAL_IP, SECRETS, _collection, redacted_dict

from guestprobe.bundle.archive import build_bundle, read_bundle
from guestprobe.bundle.redact import redact_collection
from guestprobe.decode.hexdump import dump_line_bytes
from guestprobe.document.build import collection_from_document, read_collection
from guestprobe.pipeline import judge

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KEY = b"k" * 32
IPV6_PORTAL = "fd00:10::5"
IQN6 = "iqn.2026-02.com.example.array6:lun-group"
HOST = "node2.corp.example"


def _example_collection(name: str) -> dict:
    report = read_bundle((EXAMPLES / name).read_bytes()).report
    return collection_from_document(report).to_dict()


def _redacted_document(collection: dict) -> dict:
    return build_document(redact_collection(read_collection(collection), KEY), judge)


# -- finding 5: PR data --------------------------------------------------------------------------
def _pr_dump(disk: dict, name: str) -> bytes:
    probe = next(p for p in disk["probes"] if p["name"] == name)
    return dump_line_bytes(bytes.fromhex(probe["stdout_hex"]).decode())


def _with_key(collection: dict, old: bytes, new: bytes) -> dict:
    """The collection with PR key ``old`` replaced by ``new`` in the PR IN answers."""
    spaced = [" ".join(f"{b:02x}" for b in key) for key in (old, new)]
    for probe in collection["disks"][0]["probes"]:
        if probe["name"] in ("pr_read_keys", "pr_read_reservation"):
            text = bytes.fromhex(probe["stdout_hex"]).decode()
            assert spaced[0] in text
            probe["stdout_hex"] = text.replace(*spaced).encode().hex()
    return collection


def test_redacted_foreign_reservation_keeps_type_and_scope():
    collection = _example_collection("foreign-reservation.tar.gz")
    plain = build_document(read_collection(collection), judge)
    redacted = _redacted_document(collection)
    before = plain["disks"][0]["facts"]["persistent_reservations"]["reservation"]["reservation"]
    after = redacted["disks"][0]["facts"]["persistent_reservations"]["reservation"]["reservation"]
    assert (after["type_name"], after["scope_name"], after["type_code"], after["scope"]) == (
        "write_exclusive_registrants_only", "logical_unit", 5, 0
    ) == (before["type_name"], before["scope_name"], before["type_code"], before["scope"])
    assert after["key_hex"] != before["key_hex"]
    # the holder is still the (redacted) registered key, and every other byte is unchanged
    keys = redacted["disks"][0]["facts"]["persistent_reservations"]["keys"]["keys_hex"]
    assert keys == [after["key_hex"]]
    old, new = _pr_dump(collection["disks"][0], "pr_read_reservation"), _pr_dump(
        redacted_dict(collection, KEY)["disks"][0], "pr_read_reservation"
    )
    assert len(old) == len(new) == 24
    assert old[:8] + old[16:] == new[:8] + new[16:] and old[8:16] != new[8:16]
    verdicts = [
        [(v["feature"], v["status"]) for v in d["verdicts"]] for d in (plain, redacted)
        for d in d["disks"]
    ]
    assert verdicts[0] == verdicts[1]
    # the holder's VxFEN key (VF1A2B03: cluster 6699, node 3) stays a coordinator key of node 3,
    # of another cluster id: the redacted bundle is judged like the original
    holder = [
        d["facts"]["persistent_reservations"]["veritas_keys"][0] for d in (plain, redacted)
        for d in d["disks"]
    ]
    assert holder[0]["ascii"] == "VF1A2B03" and holder[0]["cluster_id"] == 6699
    assert holder[1]["scheme"] == "vxfen_coordinator" and holder[1]["node_id"] == 3
    assert holder[1]["cluster_id"] != 6699 and holder[1]["ascii"].startswith("VF")


def test_a_key_in_no_veritas_format_is_replaced_whole():
    collection = _with_key(_example_collection("foreign-reservation.tar.gz"), b"VF1A2B03",
                           bytes.fromhex("f0e1d2c3b4a59687"))
    redacted = _redacted_document(collection)
    pr = redacted["disks"][0]["facts"]["persistent_reservations"]
    assert pr["keys"]["keys_hex"] != ["f0e1d2c3b4a59687"] and not pr["veritas_keys"]


# -- finding 6: every identifier kind, everywhere --------------------------------------------------
def _tag(path: str) -> str:
    """udev's ID_PATH_TAG spelling of an ID_PATH (path_id: all but [A-Za-z0-9-] as '_')."""
    return re.sub(r"[^A-Za-z0-9-]", "_", path)


def _ipv6_iscsi_disk() -> dict:
    by_path = f"/dev/disk/by-path/ip-[{IPV6_PORTAL}]:3260-iscsi-{IQN6}-lun-2"
    by_id = "/dev/disk/by-id/scsi-36001405aabbccddeeff00112233445566"
    return {
        "status": "probed",
        "inventory": {
            "name": "sdf", "dev_path": "/dev/sdf", "sysfs_path": "/sys/block/sdf",
            "udev_links": [by_path, by_id],
            "udev_properties": {
                "ID_PATH": by_path[len("/dev/disk/by-path/"):],
                "ID_PATH_TAG": _tag(by_path[len("/dev/disk/by-path/"):]),
                "DEVLINKS": f"{by_path} {by_id}",
                "ID_SERIAL": "36001405aabbccddeeff00112233445566",
            },
            "sysfs_pages": {},
        },
        "probes": [],
    }


def _lvm_disk() -> dict:
    """A device-mapper LV named after the host, no udev database (udev empty)."""
    return {
        "status": "probed",
        "inventory": {
            "name": "dm-0", "dev_path": "/dev/dm-0", "sysfs_path": "/sys/block/dm-0",
            "dm_name": "rhel_node2-root",
            "dm_uuid": "LVM-Qw3rTy8uIoP1aSdF2gHjK4lZxC5vBnM6Qw3rTy8uIoP1aSdF2gHjK4lZxC5vBnM6",
            "mounts": [{"devnum": "253:0", "mount_point": "/srv/node2", "fs_type": "xfs",
                        "source": "/dev/mapper/rhel_node2-root"}],
            "udev_properties": {}, "udev_links": [], "sysfs_pages": {},
        },
        "probes": [],
    }


def _short_serial_disks() -> "list[dict]":
    """A virtio-blk disk with serial AB1, and a SCSI disk whose VPD 0x80 serial is Z7."""
    virtio = {
        "status": "probed",
        "inventory": {
            "name": "vdb", "dev_path": "/dev/vdb", "sysfs_path": "/sys/block/vdb",
            "serial": "AB1", "driver_chain": ["virtio_blk", "virtio-pci"],
            "udev_links": ["/dev/disk/by-id/virtio-AB1"],
            "udev_properties": {"ID_SERIAL": "AB1", "ID_MODEL": "CAB1X", "ID_BUS": "virtio"},
            "sysfs_pages": {},
        },
        "probes": [],
    }
    page80 = bytes.fromhex("00800004") + b"  Z7"
    scsi = {
        "status": "probed",
        "inventory": {
            "name": "sdg", "dev_path": "/dev/sdg", "sysfs_path": "/sys/block/sdg",
            "udev_links": ["/dev/disk/by-id/scsi-SQEMU_QEMU_HARDDISK_Z7"],
            "udev_properties": {"ID_SERIAL_SHORT": "Z7", "ID_REVISION": "Z7Z7"},
            "sysfs_pages": {"vpd_0x80": page80.hex()},
        },
        "probes": [],
    }
    return [virtio, scsi]


def _nvme_disk() -> dict:
    """The rig's NVMe namespace (sata-nvme.tar.gz), with no VPD 0x80 probe and no sysfs serial:
    its serial and subsystem NQN are only in the Identify Controller bytes."""
    disk = next(
        d for d in _example_collection("sata-nvme.tar.gz")["disks"]
        if d["inventory"]["name"] == "nvme0n1"
    )
    disk["probes"] = [p for p in disk["probes"] if p["name"] not in ("vpd_0x80", "vpd_0x83")]
    disk["inventory"].update(serial=None, wwid=None, name="nvme1n1", dev_path="/dev/nvme1n1")
    return disk


def _every_kind() -> dict:
    collection = _collection()
    collection["platform"]["hostname"] = HOST
    sda = collection["disks"][0]["inventory"]["udev_properties"]
    sda["ID_PATH_TAG"] = _tag(sda["ID_PATH"])
    collection["disks"] += [_ipv6_iscsi_disk(), _lvm_disk(), *_short_serial_disks(), _nvme_disk()]
    return collection


LONG_SECRETS = [
    *SECRETS[1:],  # (the host name of that fixture is replaced by HOST here)
    "node2", HOST, IPV6_PORTAL, IQN6, "array6", "aabbccddeeff00112233445566",
    "rhel_node2-root", "Qw3rTy8uIoP1aSdF2gHjK4lZxC5vBnM6", "NVMESER1", "nqn.2019-08.org.qemu",
    _tag(IQN), _tag(IQN6), _tag(PORTAL_IP), _tag(IPV6_PORTAL),  # ID_PATH_TAG spellings
]
SHORT_SECRETS = ["AB1", "Z7"]


def _walk_hex(value, out: "list[bytes]") -> None:
    """Every raw answer and sysfs page of a report, decoded (hex dumps too)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "stdout_hex" and isinstance(item, str):
                data = bytes.fromhex(item)
                out += [data, dump_line_bytes(data.decode("latin-1"))]
            elif key == "sysfs_pages":
                out += [bytes.fromhex(h) for h in item.values()]
            else:
                _walk_hex(item, out)
    elif isinstance(value, list):
        for item in value:
            _walk_hex(item, out)


def _bundle_text(collection: dict) -> str:
    """Every member of the bundle, and every raw byte in it, as text (latin-1)."""
    document = _redacted_document(collection)
    data = build_bundle(document, versions_of(document), {"method": "hmac-sha256"})
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar}
    raw: "list[bytes]" = []
    _walk_hex(json.loads(members["report.json"]), raw)
    return "\n".join(b.decode("latin-1") for b in [*members.values(), *raw])


def test_no_identifier_of_any_kind_survives_in_the_bundle():
    collection = _every_kind()
    plain = _bundle_text(copy.deepcopy(collection))  # (the fixture really holds each one)
    raw_plain: "list[bytes]" = []
    _walk_hex({"disks": collection["disks"]}, raw_plain)
    everything = plain + "\n".join(b.decode("latin-1") for b in raw_plain)
    text = _bundle_text(collection)
    for secret in LONG_SECRETS:
        assert secret.lower() in everything.lower() or secret in json.dumps(collection), secret
        assert secret.lower() not in text.lower(), secret
    for secret in SHORT_SECRETS:
        bounded = re.compile(rf"(?<![A-Za-z0-9]){secret}(?![A-Za-z0-9])")
        assert bounded.search(json.dumps(collection)) or bounded.search(everything), secret
        assert not bounded.search(text), secret


def test_short_identifiers_replaced_by_field_not_inside_words():
    redacted = redacted_dict(_every_kind(), KEY)
    vdb = next(d for d in redacted["disks"] if d["inventory"]["name"] == "vdb")["inventory"]
    token = vdb["serial"]
    assert token != "AB1" and len(token) == 3
    assert vdb["udev_properties"]["ID_SERIAL"] == token
    assert vdb["udev_links"] == [f"/dev/disk/by-id/virtio-{token}"]
    assert vdb["udev_properties"]["ID_MODEL"] == "CAB1X"  # a word that merely contains it
    assert vdb["udev_properties"]["ID_BUS"] == "virtio"
    sdg = next(d for d in redacted["disks"] if d["inventory"]["name"] == "sdg")["inventory"]
    page = bytes.fromhex(sdg["sysfs_pages"]["vpd_0x80"])
    assert page[:6] == bytes.fromhex("00800004") + b"  " and page[6:] != b"Z7"
    assert sdg["udev_properties"]["ID_SERIAL_SHORT"] == page[6:].decode()
    assert sdg["udev_properties"]["ID_REVISION"] == "Z7Z7"
    assert sdg["udev_links"] == [f"/dev/disk/by-id/scsi-SQEMU_QEMU_HARDDISK_{page[6:].decode()}"]


def test_host_names_inside_compound_names_and_short_host_names():
    redacted = redacted_dict(_every_kind(), KEY)
    lvm = next(d for d in redacted["disks"] if d["inventory"]["name"] == "dm-0")["inventory"]
    assert "node2" not in json.dumps(lvm)
    assert lvm["mounts"][0]["source"] == "/dev/mapper/" + lvm["dm_name"]
    assert lvm["mounts"][0]["fs_type"] == "xfs"
    short = _collection()
    short["platform"]["hostname"] = "db"
    short["disks"][2]["inventory"]["mounts"] = [
        {"devnum": "252:0", "mount_point": "/srv/mongodb", "fs_type": "xfs", "source": "/dev/vda"}
    ]
    out = redacted_dict(short, KEY)
    assert out["platform"]["hostname"].startswith("host-")
    assert out["disks"][2]["inventory"]["mounts"][0]["mount_point"] == "/srv/mongodb"


def test_ipv6_portal_replaced_in_every_spelling():
    redacted = redacted_dict(_every_kind(), KEY)
    sdf = next(d for d in redacted["disks"] if d["inventory"]["name"] == "sdf")["inventory"]
    by_path = sdf["udev_links"][0]
    assert re.fullmatch(r"/dev/disk/by-path/ip-\[fd[0-9a-f]{2}:[0-9a-f]{4}::[0-9a-f]{4}\]:3260"
                        r"-iscsi-iqn\.2000-01\.invalid:[0-9a-f]+-lun-2", by_path), by_path
    assert sdf["udev_properties"]["ID_PATH"] == by_path[len("/dev/disk/by-path/"):]
    assert sdf["udev_properties"]["ID_PATH_TAG"] == _tag(sdf["udev_properties"]["ID_PATH"])
    assert sdf["udev_properties"]["DEVLINKS"].split(" ") == sdf["udev_links"]


def test_nvme_identify_bytes_redacted_in_place():
    collection = _every_kind()
    redacted = redacted_dict(collection, KEY)
    before = next(d for d in collection["disks"] if d["inventory"]["name"] == "nvme1n1")
    after = next(d for d in redacted["disks"] if d["inventory"]["name"] == "nvme1n1")
    old = bytes.fromhex(next(p for p in before["probes"] if p["name"] == "inquiry")["stdout_hex"])
    new = bytes.fromhex(next(p for p in after["probes"] if p["name"] == "inquiry")["stdout_hex"])
    assert len(old) == len(new) == 4096
    changed = [i for i in range(4096) if old[i] != new[i]]
    assert changed and all(4 <= i < 24 or 768 <= i < 1024 for i in changed)
    assert new[768:772] == b"nqn." and b"NVMESER1" not in new
    document = build_document(read_collection(redacted), judge)
    nvme = next(d for d in document["disks"] if d["name"] == "nvme1n1")
    assert nvme["transport"]["kind"] == "nvme"
    assert nvme["facts"]["identity"]["product"] == "QEMU NVMe Ctrl"
