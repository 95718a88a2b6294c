#!/usr/bin/env bash
# What the real-guest rig (tests/vm/) needs on a fresh Debian 12 machine, after `apt-get update`.
#   qemu-system-x86   QEMU (TCG is enough; KVM is used by nobody here)
#   qemu-block-extra  QEMU's iSCSI block driver (libiscsi), for scsi-block passthrough of tgt LUNs
#   tgt               the userspace iSCSI target (tgtd, tgtadm) with SCSI-3 persistent reservations
#   sg3-utils         the probes, run inside the guest from the host's own root
#   busybox-static    the guest initramfs' userland
#   cpio kmod zstd    building the initramfs (cpio), depmod on the unpacked kernel (kmod)
#   udev              systemd-udevd, udevadm and the rules (60-persistent-storage.rules: by-id,
#                     by-path) for the `mixed-udev` guest; nothing starts it on this machine
#   dmsetup           test_fencing.py holds a path with a dm linear target (another path of the LU
#                     in use); run in the guest from the host's root
#   openssh-server    the cluster rig (test_cluster.py): sshd runs in each guest from the host's
#   openssh-client    root; ansible-playbook on the host reaches it with ssh
#   e2fsprogs         mke2fs: the cluster rig's data LU carries an ext2 file system
#   apt-utils is not needed: the kernel comes from `apt-get download` into tests/vm/.cache/.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends \
    qemu-system-x86 qemu-block-extra tgt sg3-utils busybox-static cpio kmod zstd udev dmsetup \
    openssh-server openssh-client e2fsprogs >/dev/null
