"""What a device, a host or a bundle says is data: make it inert before a terminal or a page.

One rule for every text guestprobe shows: each control character (C0, DEL, C1: what a terminal
acts on, e.g. ``ESC ] 0;title BEL``) is shown as ``\\xNN``, and the invisible characters that
reorder or hide text (bidirectional overrides and isolates, zero-width joiners, line and
paragraph separators: "Trojan Source") as ``\\uNNNN``, and so is a lone surrogate (``\\ud800``,
which JSON's ``\\ud800`` escape or the bytes ``ED A0 80`` can carry and no encoder can write).
Everything else is left as it is. :func:`output_bytes` is the last step of every writer (the
terminal, ``-o``, ``--html``): it encodes text with any surrogate left shown the same way.

    >>> terminal_text("IET\\x1b]0;pwned\\x07")
    'IET\\\\x1b]0;pwned\\\\x07'

:func:`terminal_text` keeps no newline (one value is one line); :func:`terminal_lines` escapes a
multi-line text line by line (a remedy's text) and keeps its newlines. For HTML,
:func:`html_text` escapes the same characters and then the markup (``< > & " '``).
"""


import html
import re

# C0 controls (newline and tab included), DEL, C1 controls; then the format characters that
# change the order or visibility of text, and the Unicode line/paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# Lone surrogates (U+D800-U+DFFF) cannot be encoded: shown as their escape too.
_INVISIBLE = re.compile(
    "[\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]"
)


def terminal_text(value: object) -> str:
    """``str(value)`` with every control and invisible character shown as an escape."""
    text = value if isinstance(value, str) else str(value)
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def terminal_lines(value: object) -> str:
    """Like :func:`terminal_text`, line by line: the newlines stay, nothing else does."""
    text = value if isinstance(value, str) else str(value)
    return "\n".join(terminal_text(line) for line in text.split("\n"))


def output_bytes(text: str, encoding: "str | None" = None) -> bytes:
    """``text`` encoded (UTF-8 by default) for a terminal, a pipe or a file, never an error:
    a lone surrogate, or a character the encoding lacks, is written as its ``\\uNNNN`` /
    ``\\xNN`` escape, as :func:`terminal_text` shows it.

    >>> output_bytes("node2\\ud800")
    b'node2\\\\ud800'
    """
    return text.encode(encoding or "utf-8", "backslashreplace")


def html_text(value: object) -> str:
    """Text for an HTML page: control characters escaped as for a terminal, then the markup."""
    return html.escape(terminal_text(value), quote=True)


def html_lines(value: object) -> str:
    """Multi-line text (inside ``<pre>`` or ``white-space: pre-wrap``), newlines kept."""
    return html.escape(terminal_lines(value), quote=True)
