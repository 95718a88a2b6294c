"""udev's database: when guestprobe reads it, and what the naming rule makes of its links.

The link names are the ones systemd-udevd 252 really made in the rig's ``mixed-udev`` guest.
"""


from pathlib import Path

import checkfacts as cf
import pytest
from documents import judge_in_place as apply_checks

from guestprobe.collect.udev import UdevView

# What udev made for the mixed guest's disks (tests/vm, scenario mixed-udev)
UDEV_LINKS = {
    "vda": [
        "/dev/disk/by-diskseq/1",
        "/dev/disk/by-id/virtio-VBLKSER01",
        "/dev/disk/by-path/pci-0000:00:05.0",
        "/dev/disk/by-path/virtio-pci-0000:00:05.0",
    ],
    "sda": [
        "/dev/disk/by-diskseq/2",
        "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_SHDSER01",
        "/dev/disk/by-path/pci-0000:00:04.0-scsi-0:0:0:0",
    ],
}


def test_database_missing_empty_and_populated(tmp_path: "Path") -> None:
    view = UdevView(run_dir=tmp_path / "udev")
    assert view.database_populated is False  # no /run/udev at all (no udevd ever ran)
    (tmp_path / "udev" / "data").mkdir(parents=True)
    assert view.database_populated is False  # udevd started, nothing handled yet
    (tmp_path / "udev" / "data" / "b254:0").write_text("S:disk/by-id/virtio-VBLKSER01\n")
    assert view.database_populated is True


def _naming_codes(name: str, links: "list[str]", populated: bool) -> "set[str]":
    disk = cf.recorded_disk("mixed", name)
    disk["inventory"]["udev_links"] = links
    document = cf.document([disk], platform={"udev_database_populated": populated})
    apply_checks(document)
    naming = next(v for v in document["disks"][0]["verdicts"] if v["feature"] == "naming")
    return {reason["code"] for reason in naming["reasons"]}


@pytest.mark.parametrize("name", sorted(UDEV_LINKS))
def test_no_by_id_link_note_only_when_udev_knows_there_is_none(name: str) -> None:
    assert "no_by_id_link" not in _naming_codes(name, UDEV_LINKS[name], populated=True)
    by_path_only = [link for link in UDEV_LINKS[name] if "/by-id/" not in link]
    assert "no_by_id_link" in _naming_codes(name, by_path_only, populated=True)
    # udev's database not populated: nobody knows, so no note either way
    assert "no_by_id_link" not in _naming_codes(name, [], populated=False)


def test_a_failed_udev_lookup_says_why(tmp_path):
    from guestprobe.collect.udev import UdevView

    view = UdevView(run_dir=tmp_path)
    view._unavailable = "pyudev unavailable: libudev.so.1 not found"
    record = view.lookup("sda")
    assert record.links == () and record.error == "pyudev unavailable: libudev.so.1 not found"
