"""What the oldest Python guestprobe runs on lacks, in one place.

guestprobe runs on the system Python of every InfoScale guest: 3.6 on RHEL 7.9, on RHEL 8
(``/usr/libexec/platform-python``) and on SLES 15; 3.9 on RHEL 9. Anything newer than 3.6 that the
code would otherwise reach for lives here, written for 3.6.
"""

import shlex
from typing import Iterable


def shell_join(argv: "Iterable[str]") -> str:
    """``shlex.join`` (3.8+): a command line a person can paste into a shell.

    >>> shell_join(["sg_persist", "--in", "-k", "/dev/sg1"])
    'sg_persist --in -k /dev/sg1'
    """
    return " ".join(shlex.quote(arg) for arg in argv)


def is_ascii(text: str) -> bool:
    """``str.isascii`` (3.7+)."""
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        return False
    return True
