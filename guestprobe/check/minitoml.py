"""A small TOML reader for the subset the rule files in ``checks/`` use, for Python 3.9/3.10.

:mod:`guestprobe.check.tomlload` prefers :mod:`tomllib` (3.11+) and then ``tomli``; this parser
is the fallback, so that guestprobe's runtime dependencies stay pyudev and click. It gives the
same result as :mod:`tomllib` for what it accepts (a test checks that on every shipped rule
file) and rejects the rest with :class:`TomlSubsetError` naming the line.

Understood: comments; ``key = value`` with bare or quoted keys, dotted keys; ``[table]`` and
``[[array.of.tables]]`` headers (dotted, quoted parts allowed); basic ``"…"`` and literal
``'…'`` strings, multi-line ``\"\"\"…\"\"\"`` and ``'''…'''`` strings; decimal integers; ``true`` /
``false``; arrays (across lines, trailing comma allowed); inline tables ``{ k = v, … }``.
Not understood (rejected): floats, dates and times, hex/octal/binary integers, ``inf``/``nan``.

>>> loads('id = "thin"\\n[[case]]\\nwhen = { "transport.kind" = "virtio-blk" }\\n')
{'id': 'thin', 'case': [{'when': {'transport.kind': 'virtio-blk'}}]}
"""


import re
from typing import Any

__all__ = ["TomlSubsetError", "loads"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_INTEGER = re.compile(r"[+-]?(0|[1-9](_?[0-9])*)")
_NUMBERISH = re.compile(r"[+-]?[0-9A-Za-z_.:+-]+")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class TomlSubsetError(ValueError):
    """Text that is not TOML, or TOML beyond the subset this reader understands."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.root: "dict[str, Any]" = {}
        self.defined: "set[tuple[str, ...]]" = set()  # tables opened by a [header]
        self.inline: "set[int]" = set()  # ids of inline tables and static arrays (closed)

    # -- helpers ----------------------------------------------------------------------------
    def error(self, message: str) -> "TomlSubsetError":
        line = self.text.count("\n", 0, self.pos) + 1
        return TomlSubsetError(f"line {line}: {message}")

    def peek(self, count: int = 1) -> str:
        return self.text[self.pos : self.pos + count]

    def skip_space(self) -> None:
        while self.peek() in (" ", "\t"):
            self.pos += 1

    def skip_comment(self) -> None:
        if self.peek() == "#":
            end = self.text.find("\n", self.pos)
            self.pos = len(self.text) if end < 0 else end

    def skip_blank(self) -> None:
        """Spaces, newlines and comments (inside arrays)."""
        while True:
            self.skip_space()
            self.skip_comment()
            if self.peek() == "\n":
                self.pos += 1
            elif self.peek(2) == "\r\n":
                self.pos += 2
            else:
                return

    def end_of_line(self) -> None:
        self.skip_space()
        self.skip_comment()
        if self.pos >= len(self.text):
            return
        if self.peek() == "\n":
            self.pos += 1
        elif self.peek(2) == "\r\n":
            self.pos += 2
        else:
            raise self.error(f"unexpected {self.peek()!r} after a value or header")

    # -- document ---------------------------------------------------------------------------
    def parse(self) -> "dict[str, Any]":
        current = self.root
        while True:
            self.skip_blank()
            if self.pos >= len(self.text):
                return self.root
            if self.peek(2) == "[[":
                self.pos += 2
                current = self.array_table(self.key_path("]]"))
            elif self.peek() == "[":
                self.pos += 1
                current = self.table(self.key_path("]"))
            else:
                self.key_value(current)
            self.end_of_line()

    def key_path(self, closing: str) -> "list[str]":
        path = self.dotted_key()
        self.skip_space()
        if self.peek(len(closing)) != closing:
            raise self.error(f"expected {closing!r} to close the table header")
        self.pos += len(closing)
        return path

    def dotted_key(self) -> "list[str]":
        parts = []
        while True:
            self.skip_space()
            parts.append(self.simple_key())
            self.skip_space()
            if self.peek() != ".":
                return parts
            self.pos += 1

    def simple_key(self) -> str:
        if self.peek(3) in ('"""', "'''"):
            raise self.error("a multi-line string cannot be a key")
        if self.peek() == '"':
            return self.basic_string()
        if self.peek() == "'":
            return self.literal_string()
        match = _BARE_KEY.match(self.text, self.pos)
        if match is None:
            raise self.error(f"expected a key, found {self.peek()!r}")
        self.pos = match.end()
        return match.group()

    def descend(self, table: "dict[str, Any]", path: "list[str]") -> "dict[str, Any]":
        """The table at ``path`` below ``table`` (the last element of an array of tables)."""
        for part in path:
            value = table.setdefault(part, {})
            if isinstance(value, list) and id(value) not in self.inline:
                value = value[-1]
            if not isinstance(value, dict) or id(value) in self.inline:
                raise self.error(f"key {part!r} is already defined as a value")
            table = value
        return table

    def table(self, path: "list[str]") -> "dict[str, Any]":
        key = tuple(path)
        if key in self.defined:
            raise self.error(f"table [{'.'.join(path)}] is defined twice")
        self.defined.add(key)
        return self.descend(self.root, path)

    def array_table(self, path: "list[str]") -> "dict[str, Any]":
        parent = self.descend(self.root, path[:-1])
        array = parent.setdefault(path[-1], [])
        if not isinstance(array, list) or id(array) in self.inline:
            raise self.error(f"key {path[-1]!r} is already defined and is no array of tables")
        table: "dict[str, Any]" = {}
        array.append(table)
        self.defined = {k for k in self.defined if k[: len(path)] != tuple(path)}
        return table

    def key_value(self, table: "dict[str, Any]") -> None:
        path = self.dotted_key()
        if self.peek() != "=":
            raise self.error("expected '=' after a key")
        self.pos += 1
        self.skip_space()
        value = self.value()
        target = self.descend(table, path[:-1])
        if path[-1] in target:
            raise self.error(f"key {'.'.join(path)!r} is defined twice")
        target[path[-1]] = value

    # -- values -----------------------------------------------------------------------------
    def value(self) -> "Any":
        char = self.peek()
        if self.peek(3) == '"""':
            return self.multiline_basic()
        if self.peek(3) == "'''":
            return self.multiline_literal()
        if char == '"':
            return self.basic_string()
        if char == "'":
            return self.literal_string()
        if char == "[":
            return self.array()
        if char == "{":
            return self.inline_table()
        for word, result in (("true", True), ("false", False)):
            if self.text.startswith(word, self.pos) and not _BARE_KEY.match(
                self.text, self.pos + len(word)
            ):
                self.pos += len(word)
                return result
        match = _NUMBERISH.match(self.text, self.pos)
        if match is None:
            raise self.error(f"expected a value, found {char!r}")
        integer = _INTEGER.fullmatch(match.group())
        if integer is None:
            raise self.error(
                f"value {match.group()!r} is not understood (floats, dates and non-decimal "
                "integers are outside the rule files' TOML subset)"
            )
        self.pos = match.end()
        return int(match.group().replace("_", ""))

    def escape(self) -> str:
        code = self.peek()
        if code in _ESCAPES:
            self.pos += 1
            return _ESCAPES[code]
        if code in ("u", "U"):
            size = 4 if code == "u" else 8
            digits = self.text[self.pos + 1 : self.pos + 1 + size]
            if len(digits) != size or not re.fullmatch(r"[0-9A-Fa-f]+", digits):
                raise self.error(f"bad \\{code} escape")
            self.pos += 1 + size
            return chr(int(digits, 16))
        raise self.error(f"unknown escape \\{code}")

    def basic_string(self) -> str:
        self.pos += 1
        out = []
        while True:
            char = self.peek()
            if char in ("", "\n"):
                raise self.error("unterminated string")
            self.pos += 1
            if char == '"':
                return "".join(out)
            out.append(self.escape() if char == "\\" else char)

    def literal_string(self) -> str:
        end = self.text.find("'", self.pos + 1)
        newline = self.text.find("\n", self.pos + 1)
        if end < 0 or 0 <= newline < end:
            raise self.error("unterminated literal string")
        value = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return value

    def _skip_first_newline(self) -> None:
        if self.peek() == "\n":
            self.pos += 1
        elif self.peek(2) == "\r\n":
            self.pos += 2

    def multiline_basic(self) -> str:
        self.pos += 3
        self._skip_first_newline()
        out = []
        while True:
            if self.pos >= len(self.text):
                raise self.error('unterminated """ string')
            if self.peek(3) == '"""':
                # up to two quotes may end the content: """"" ends with ""
                extra = 0
                while extra < 2 and self.text[self.pos + 3 + extra : self.pos + 4 + extra] == '"':
                    extra += 1
                out.append('"' * extra)
                self.pos += 3 + extra
                return "".join(out).replace("\r\n", "\n")
            char = self.peek()
            self.pos += 1
            if char != "\\":
                out.append(char)
                continue
            rest = re.match(r"[ \t]*\r?\n", self.text[self.pos :])
            if rest is not None:  # line-ending backslash: drop the newline and leading blanks
                self.pos += rest.end()
                while self.peek() in (" ", "\t", "\n") or self.peek(2) == "\r\n":
                    self.pos += 1
            else:
                out.append(self.escape())

    def multiline_literal(self) -> str:
        self.pos += 3
        self._skip_first_newline()
        end = self.text.find("'''", self.pos)
        if end < 0:
            raise self.error("unterminated ''' string")
        extra = 0  # up to two quotes may end the content
        while extra < 2 and self.text[end + 3 + extra : end + 4 + extra] == "'":
            extra += 1
        end += extra
        value = self.text[self.pos : end]
        self.pos = end + 3
        return value.replace("\r\n", "\n")

    def array(self) -> "list[Any]":
        self.pos += 1
        items: "list[Any]" = []
        while True:
            self.skip_blank()
            if self.peek() == "]":
                self.pos += 1
                break
            items.append(self.value())
            self.skip_blank()
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "]":
                raise self.error("expected ',' or ']' in an array")
        self.inline.add(id(items))
        return items

    def inline_table(self) -> "dict[str, Any]":
        self.pos += 1
        table: "dict[str, Any]" = {}
        self.skip_space()
        if self.peek() == "}":
            self.pos += 1
            self.inline.add(id(table))
            return table
        while True:
            self.skip_space()
            if self.peek() in ("\n", "\r"):
                raise self.error("an inline table must be on one line (TOML 1.0)")
            self.key_value(table)
            self.skip_space()
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() == "}":
                self.pos += 1
                break
            else:
                raise self.error("expected ',' or '}' in an inline table (one line, TOML 1.0)")
        self._seal(table)
        return table

    def _seal(self, table: "dict[str, Any]") -> None:
        self.inline.add(id(table))
        for value in table.values():
            if isinstance(value, dict):
                self._seal(value)


def loads(text: str) -> "dict[str, Any]":
    """Parse ``text``; :class:`TomlSubsetError` for anything outside the subset."""
    if not isinstance(text, str):
        raise TypeError("loads() takes text, not bytes")
    return _Parser(text).parse()
