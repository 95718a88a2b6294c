"""guestprobe: which Veritas InfoScale storage features can a KVM guest's disks use, and why."""

__version__ = "0.1.0"
