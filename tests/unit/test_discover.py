"""Discovery and transport classification on sysfs trees laid from real KVM guest captures."""


from fakesys import kvm_mixed, kvm_sata_nvme

from guestprobe.classify.transport import classify_transport
from guestprobe.collect.discover import Discoverer, read_mounts
from guestprobe.collect.platform import collect_platform
from guestprobe.collect.sysfs import SysRoot
from guestprobe.collect.udev import UdevView


def _discover(fake):
    sys = SysRoot(fake.root)
    return {d.name: d for d in Discoverer(sys, UdevView(run_dir=fake.p("/run/udev"))).discover()}


def test_kvm_mixed_inventory(tmp_path):
    disks = _discover(kvm_mixed(tmp_path))
    assert sorted(disks) == ["sda", "sdb", "vda"]
    vda, sda, sdb = disks["vda"], disks["sda"], disks["sdb"]
    assert vda.driver_chain[:1] == ["virtio_blk"]
    assert vda.serial == "VBLKSER01"
    assert vda.hctl is None and vda.sg_path is None
    assert vda.virtio_device == "virtio2"
    assert vda.write_cache == "write back"
    assert sda.hctl == "0:0:1:0" and sda.sg_path == "/dev/sg1"
    assert sda.scsi_host_proc_name == "virtio_scsi"
    assert sda.scsi_vendor == "IET"
    assert "vpd_0x83" in sda.sysfs_pages and "inquiry" in sda.sysfs_pages
    assert sda.scsi_device == "/dev/sg1"
    assert sdb.scsi_vendor == "QEMU"
    assert sdb.size_bytes and sdb.queue["logical_block_size"] == 512
    # the inventory round-trips through JSON-ready dicts unchanged
    assert type(sda).from_dict(sda.to_dict()) == sda


def test_transport_classification_is_by_driver_and_identity_not_name(tmp_path):
    disks = _discover(kvm_mixed(tmp_path))
    vda = classify_transport(disks["vda"], None, None, None)
    assert vda.kind == "virtio-blk" and vda.virtio_blk_scsi_feature is False
    lun = classify_transport(disks["sda"], "IET", "VIRTUAL-DISK", "sda/inquiry")
    assert (lun.kind, lun.mode) == ("virtio-scsi", "passthrough")
    hd = classify_transport(disks["sdb"], "QEMU    ", "QEMU HARDDISK", "sdb/inquiry")
    assert (hd.kind, hd.mode, hd.detail) == ("virtio-scsi", "emulated", "scsi-hd")
    unknown = classify_transport(disks["sda"], None, None, None)
    assert unknown.mode == "unknown"


def test_legacy_virtio_blk_scsi_feature_is_flagged(tmp_path):
    fake = kvm_mixed(tmp_path)
    features = list("0010101001111110000000000000110010000000100000000000000000000000")
    features[7] = "1"
    fake.write("/sys/devices/pci0000:00/0000:00:06.0/virtio2/features", "".join(features))
    disks = _discover(fake)
    transport = classify_transport(disks["vda"], None, None, None)
    assert transport.virtio_blk_scsi_feature is True
    assert any("VIRTIO_BLK_F_SCSI" in e for e in transport.evidence)


def test_sata_and_nvme(tmp_path):
    disks = _discover(kvm_sata_nvme(tmp_path))
    assert classify_transport(disks["sda"], "ATA", "QEMU HARDDISK", "x").kind == "ata"
    nvme = classify_transport(disks["nvme0n1"], None, None, None)
    assert (nvme.kind, nvme.detail) == ("nvme", "pcie")


def test_holders_mounts_and_partitions(tmp_path):
    fake = kvm_mixed(tmp_path)
    sdb = "/sys/devices/pci0000:00/0000:00:07.0/virtio3/host0/target0:0:0/0:0:0:0/block/sdb"
    fake.write(f"{sdb}/sdb1/partition", "1\n")
    fake.write(f"{sdb}/sdb1/dev", "8:17\n")
    fake.p(f"{sdb}/sdb1/holders/dm-0").mkdir(parents=True)
    fake.write(
        "/proc/self/mountinfo", "36 25 8:17 / /data rw,relatime shared:1 - vxfs /dev/sdb1 rw\n"
    )
    disks = _discover(fake)
    assert disks["sdb"].partitions == ["sdb1"]
    assert disks["sdb"].holders == ["dm-0"]
    assert disks["sdb"].mounts == [
        {"devnum": "8:17", "mount_point": "/data", "fs_type": "vxfs", "source": "/dev/sdb1"}
    ]
    assert read_mounts(SysRoot(fake.root))[0].fs_type == "vxfs"


def test_a_vanished_disk_is_none_not_an_error(tmp_path):
    fake = kvm_mixed(tmp_path)
    discoverer = Discoverer(SysRoot(fake.root), UdevView(run_dir=fake.p("/run/udev")))
    fake.p("/sys/block/sda").unlink()
    assert discoverer.describe("sda") is None


def test_platform_facts_count_virtio_devices(tmp_path):
    fake = kvm_mixed(tmp_path)
    facts = collect_platform(
        SysRoot(fake.root), UdevView(run_dir=fake.p("/run/udev")), probe_sg3=False
    )
    kinds = sorted(device.kind for device in facts.virtio_devices)
    assert kinds == ["9p", "block", "scsi"]
    assert facts.cpu_hypervisor_flag is True
    assert facts.hypervisor == "kvm"
    assert facts.udev_database_populated is False


def kvm_nvme_native_multipath(root):
    """An NVMe namespace under the kernel's native multipath, as QEMU 10.0's NVMe controller
    shows it to a 6.1 guest (rig, sata-nvme under qemu-10.0): the head ``nvme0n1`` below the
    virtual nvme-subsystem, which links its controller ``nvme0``, and the namespace's hidden
    per-controller path ``nvme0c0n1`` (no device node)."""
    fake = kvm_sata_nvme(root)
    for entry in ("nvme0n1",):
        (fake.p(f"/sys/block/{entry}")).unlink()
    pci = "/sys/devices/pci0000:00/0000:00:07.0"
    path = f"{pci}/nvme/nvme0/nvme0c0n1"
    head = "/sys/devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1"
    fake.node(path)
    fake.write(f"{path}/hidden", "1\n")
    fake.write(f"{path}/dev", "259:0\n")
    fake.link("/sys/block/nvme0c0n1", path)
    fake.node("/sys/devices/virtual/nvme-subsystem/nvme-subsys0", subsystem="nvme-subsystem")
    fake.write("/sys/devices/virtual/nvme-subsystem/nvme-subsys0/serial", "NVMESER1\n")
    fake.node(head)
    fake.write(f"{head}/hidden", "0\n")
    fake.write(f"{head}/dev", "259:1\n")
    fake.write(f"{head}/size", "131072\n")
    fake.link(f"{head}/device", "/sys/devices/virtual/nvme-subsystem/nvme-subsys0")
    fake.link("/sys/devices/virtual/nvme-subsystem/nvme-subsys0/nvme0", f"{pci}/nvme/nvme0")
    fake.link("/sys/block/nvme0n1", head)
    return fake


def test_nvme_native_multipath_head_is_the_disk_and_its_hidden_path_is_not(tmp_path):
    disks = _discover(kvm_nvme_native_multipath(tmp_path))
    assert sorted(disks) == ["nvme0n1", "sda"]
    head = disks["nvme0n1"]
    assert "nvme" in head.driver_chain and head.nvme_transport == "pcie"
    assert head.serial == "NVMESER1"
    nvme = classify_transport(head, None, None, None)
    assert (nvme.kind, nvme.detail) == ("nvme", "pcie")
