"""Collecting: everything that touches the machine (sysfs, udev, sg3_utils processes)."""
