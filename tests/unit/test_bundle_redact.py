"""Redaction: identifiers from real captured pages become keyed tokens, the same everywhere."""


import json
from pathlib import Path

from fakesys import MIXED, SATA_NVME

from guestprobe.bundle.redact import redact_collection
from guestprobe.decode.hexdump import dump_line_bytes, rewrite_hexdump
from guestprobe.decode.persist import pr_key_offsets
from guestprobe.decode.vpd import designator_spans
from guestprobe.document.build import read_collection

HOST = "db-node7.corp.example"
IQN = "iqn.2003-01.org.linux-iscsi.db-node7:target1"
PORTAL_IP = "192.168.122.77"
KEY = b"\x56\x46\x30\x30\x30\x41\x30\x31"  # a Veritas-style key, "VF000A01"
KEYS_DUMP = (
    " 00     00 00 00 04 00 00 00 10  56 46 30 30 30 41 30 31\n"
    " 10     00 00 00 00 00 00 00 2a\n"
)


def redacted_dict(collection: dict, key: bytes) -> dict:
    """The typed redaction of a collection given in its JSON form, in its JSON form."""
    return redact_collection(read_collection(collection), key).to_dict()


def vpd83_designators(data: bytes) -> "list[tuple[int, int, bytes]]":
    return [(span.code_set, span.type_code, span.value) for span in designator_spans(data)]


def _sysfs(capture: "Path", name: str) -> "str | None":
    path = capture / "sysfs" / name
    return path.read_text().strip() if path.exists() else None


def _pages(capture: "Path") -> "dict[str, str]":
    pages = {}
    for probe, attr in (("vpd_0x80", "device_vpd_pg80"), ("vpd_0x83", "device_vpd_pg83")):
        path = capture / "sysfs" / attr
        if path.exists():
            pages[probe] = path.read_bytes().hex()
    return pages


def _raw_probe(capture: "Path", name: str) -> dict:
    return {
        "name": name,
        "source": "sg3_utils",
        "outcome": "ok",
        "argv": (capture / f"{name}.argv").read_text().split(),
        "output_format": "raw",
        "stdout_hex": (capture / f"{name}.out").read_bytes().hex(),
        "stderr": "",
    }


def _disk(capture: "Path", name: str, links: "list[str]", props: "dict[str, str]") -> dict:
    probes = [_raw_probe(capture, "vpd_0x83"), _raw_probe(capture, "vpd_0x80")]
    return {
        "status": "probed",
        "processes": 2,
        "inventory": {
            "name": name,
            "dev_path": f"/dev/{name}",
            "sysfs_path": f"/sys/block/{name}",
            "serial": _sysfs(capture, "serial"),
            "wwid": _sysfs(capture, "device_wwid"),
            "udev_properties": props,
            "udev_links": links,
            "sysfs_pages": _pages(capture),
        },
        "probes": probes,
    }


def _collection() -> dict:
    iet = MIXED / "IET_beaf11"
    naa = "360000000000000000e00000000010001"
    by_path = f"/dev/disk/by-path/ip-{PORTAL_IP}:3260-iscsi-{IQN}-lun-1"
    path_a = _disk(
        iet, "sda", [f"/dev/disk/by-id/scsi-{naa}", by_path],
        {"ID_SERIAL": naa, "ID_PATH": by_path[len("/dev/disk/by-path/"):]},
    )
    path_b = _disk(iet, "sdc", [f"/dev/disk/by-id/wwn-0x{naa[1:]}"], {"ID_WWN": "0x" + naa[1:]})
    path_b["probes"].append(
        {"name": "pr_read_keys", "source": "sg3_utils", "outcome": "ok",
         "output_format": "hex", "stdout_hex": KEYS_DUMP.encode().hex(), "stderr": ""}
    )
    vblk = MIXED / "0x1af4_VBLKSER01"
    virtio = {
        "status": "probed",
        "inventory": {
            "name": "vda", "dev_path": "/dev/vda", "sysfs_path": "/sys/block/vda",
            "serial": "VBLKSER01", "udev_links": ["/dev/disk/by-id/virtio-VBLKSER01"],
            "udev_properties": {"ID_SERIAL": "VBLKSER01"}, "sysfs_pages": {},
        },
        "probes": [],
    }
    assert (vblk / "sysfs" / "serial").read_text().strip() == "VBLKSER01"
    shd_serial = "0QEMU_QEMU_HARDDISK_SHDSER01"
    shd = _disk(MIXED / "QEMU_SHDSER01", "sdb", [f"/dev/disk/by-id/scsi-{shd_serial}"],
                {"ID_SERIAL": shd_serial})
    sata = _disk(SATA_NVME / "ATA_SATASER1", "sdd", ["/dev/disk/by-id/ata-QEMU_HARDDISK_SATASER1"],
                 {"ID_SERIAL_SHORT": "SATASER1"})
    nvme = _disk(SATA_NVME / "virtio_NVMECAP1", "nvme0n1",
                 ["/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_NVMECAP1"],
                 {"ID_SERIAL": "QEMU NVMe Ctrl_NVMECAP1"})
    nvme["inventory"]["serial"] = "NVMECAP1"
    return {
        "platform": {"hostname": HOST, "kernel_release": "6.1.0-56-amd64"},
        "options": {"targets": None},
        "disks": [path_a, path_b, virtio, shd, sata, nvme],
    }


SECRETS = [
    "db-node7", "beaf11", "VBLKSER01", "SHDSER01", "SATASER1", "NVMECAP1",
    "60000000000000000e00000000010001", "3000000100000001", IQN, PORTAL_IP,
    b"beaf11".hex(), b"SHDSER01".hex(), b"NVMECAP1".hex(),
]


def _text(collection: dict) -> str:
    """Every string of the collection, raw payloads decoded too (hex -> bytes -> latin-1)."""
    parts = [json.dumps(collection)]
    for disk in collection["disks"]:
        for probe in disk["probes"]:
            parts.append(bytes.fromhex(probe["stdout_hex"]).decode("latin-1"))
        for hexed in disk["inventory"]["sysfs_pages"].values():
            parts.append(bytes.fromhex(hexed).decode("latin-1"))
    return "\n".join(parts)


def test_no_identifier_survives_redaction():
    original = _collection()
    before = _text(original)
    for secret in SECRETS:
        assert secret.lower() in before.lower(), secret  # the fixture really holds it
    redacted = redacted_dict(original, b"k" * 32)
    after = _text(redacted)
    for secret in SECRETS:
        assert secret.lower() not in after.lower(), secret
    assert original == _collection()  # the input is left alone


def test_same_identifier_same_token_everywhere():
    redacted = redacted_dict(_collection(), b"k" * 32)
    sda, sdc = redacted["disks"][0], redacted["disks"][1]
    # both paths of the LU: identical designator pages, the NAA type and OUI kept
    pages = sda["inventory"]["sysfs_pages"]
    assert pages["vpd_0x83"] == sdc["inventory"]["sysfs_pages"]["vpd_0x83"]
    designators = list(vpd83_designators(bytes.fromhex(sda["probes"][0]["stdout_hex"])))
    naa = next(ident for _, dtype, ident in designators if dtype == 3 and len(ident) == 16)
    assert naa.hex().startswith("6000000") and naa.hex() != "60000000000000000e00000000010001"
    wwid = sda["inventory"]["wwid"]
    assert wwid == "naa." + naa.hex()
    assert sda["inventory"]["udev_properties"]["ID_SERIAL"] == "3" + naa.hex()
    assert sdc["inventory"]["udev_properties"]["ID_WWN"] == "0x" + naa.hex()
    # the serial from VPD 0x80 and from the udev link agree
    serial = bytes.fromhex(sda["inventory"]["sysfs_pages"]["vpd_0x80"])[4:].decode().strip()
    assert len(serial) == len("beaf11")
    shd_serial = bytes.fromhex(redacted["disks"][3]["inventory"]["sysfs_pages"]["vpd_0x80"])[4:]
    assert redacted["disks"][3]["inventory"]["udev_links"][0].endswith(shd_serial.decode())
    # the host name, in the platform and inside the IQN's by-path link
    host = redacted["platform"]["hostname"]
    assert host.startswith("host-")
    assert redacted["disks"][2]["inventory"]["udev_links"][0].startswith("/dev/disk/by-id/virtio-")


def test_pages_keep_their_layout():
    original = _collection()
    redacted = redacted_dict(original, b"k" * 32)
    for before, after in zip(original["disks"], redacted["disks"]):
        for name, hexed in before["inventory"]["sysfs_pages"].items():
            new = bytes.fromhex(after["inventory"]["sysfs_pages"][name])
            old = bytes.fromhex(hexed)
            assert len(new) == len(old) and new[:4] == old[:4]
            assert [(c, t, len(i)) for c, t, i in vpd83_designators(new)] == [
                (c, t, len(i)) for c, t, i in vpd83_designators(old)
            ]


def test_pr_keys_replaced_in_the_hex_dump_layout_kept():
    redacted = redacted_dict(_collection(), b"k" * 32)
    probe = redacted["disks"][1]["probes"][-1]
    text = bytes.fromhex(probe["stdout_hex"]).decode()
    assert [len(line) for line in text.splitlines()] == [
        len(line) for line in KEYS_DUMP.splitlines()
    ]
    data = dump_line_bytes(text)
    assert data[:8] == dump_line_bytes(KEYS_DUMP)[:8]
    keys = [data[at : at + 8] for at in pr_key_offsets("read_keys", data)]
    assert len(keys) == 2 and keys[0] != KEY
    assert keys[1] != (0x2A).to_bytes(8, "big")


def test_tokens_depend_on_the_key_only():
    first = redacted_dict(_collection(), b"key one")
    again = redacted_dict(_collection(), b"key one")
    other = redacted_dict(_collection(), b"key two")
    assert first == again
    assert first["disks"][0]["inventory"]["wwid"] != other["disks"][0]["inventory"]["wwid"]


def test_hexdump_helpers_round_trip():
    data = dump_line_bytes(KEYS_DUMP)
    assert len(data) == 24
    assert rewrite_hexdump(KEYS_DUMP, data) == KEYS_DUMP
    assert dump_line_bytes(rewrite_hexdump(KEYS_DUMP, bytes(24))) == bytes(24)
