"""Support bundles and the cluster comparison: what leaves the guest, what is read back.

- :mod:`guestprobe.bundle.archive` writes and verifies the bundle (``guestprobe collect``);
- :mod:`guestprobe.bundle.redact` replaces identifiers with keyed hashes (``--redact``);
- :mod:`guestprobe.bundle.compare` compares the reports of several nodes (``guestprobe compare``).

Their commands are in :mod:`guestprobe.cli.bundle` and :mod:`guestprobe.cli.report`.
"""
