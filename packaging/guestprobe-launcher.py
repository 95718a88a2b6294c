#!/usr/bin/python3 -s
"""guestprobe, as the RPM installs it: the program lives in ../share/guestprobe beside this file.

That directory (and its bundled/ folder of the libraries this system lacks) go first on this
process's path only; nothing is added to the system's Python. The RPM rewrites the first line
for the guest's own interpreter (platform-python on RHEL 8).
"""
import os
import sys

_app = os.path.normpath(
    os.path.join(os.path.dirname(os.path.realpath(__file__)), os.pardir, "share", "guestprobe")
)
sys.path[0:1] = [_app, os.path.join(_app, "bundled")]

from guestprobe.cli import main  # noqa: E402

sys.exit(main())
