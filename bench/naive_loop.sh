#!/bin/sh
# What a support engineer types today, per disk, one after the other (issue 7's baseline).
for dev in "$@"; do
    sg_inq "$dev"
    for page in 0x00 0x80 0x83 0xb0 0xb2; do sg_vpd --page="$page" "$dev"; done
    sg_readcap --long "$dev"
    sg_persist -n -i -k "$dev"
    sg_persist -n -i -r "$dev"
    sg_persist -n -i -c "$dev"
    sg_opcodes "$dev"
done >/dev/null 2>&1
exit 0
