"""Classifying: how each disk reaches the guest, and which disks are paths to one LU."""
