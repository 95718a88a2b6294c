"""The OPTIONS section of the man page (packaging/guestprobe.8), made from the command line's
own option texts, the ones ``--help`` prints: one subsection per command, one entry per option.

    python3 packaging/manpage.py           # print the section
    python3 packaging/manpage.py --write   # replace it in packaging/guestprobe.8

tests/unit/test_manpage.py fails when the page's section is not what this makes.
"""

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = HERE / "guestprobe.8"
BEGIN = '.\\" OPTIONS: made by packaging/manpage.py from the --help texts; do not edit by hand'
END = '.\\" end of OPTIONS'


def _roff(text: str) -> str:
    """Text as roff: backslashes and hyphens escaped, no line starting with a control dot."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"^([.'])", r"\\&\1", text)


def _default(option: "object") -> str:
    value = getattr(option, "default", None)
    if not getattr(option, "show_default", False) or value is None or callable(value):
        return ""
    if type(value).__name__ == "Sentinel":  # click 8.2's "no default"
        return ""
    return f" (default: {value})"


def option_entries(ctx: "object", command: "object") -> "list[tuple[str, str]]":
    """(the option as ``--help`` writes it, its help text) of each option of a click command."""
    import click

    out = []
    for param in command.params:  # type: ignore[attr-defined]
        if not isinstance(param, click.Option) or param.hidden or not param.help:
            continue
        written = param.get_help_record(ctx)[0]
        out.append((written, " ".join(param.help.split()) + _default(param)))
    return out


def render() -> str:
    import click

    from guestprobe.cli import cli

    ctx = click.Context(cli)
    lines = [BEGIN, ".SH OPTIONS"]
    for name in sorted(cli.list_commands(ctx)):
        command = cli.get_command(ctx, name)
        entries = option_entries(click.Context(command, info_name=name, parent=ctx), command)
        if not entries:
            continue
        lines.append(f".SS {_roff(name)}")
        for written, text in entries:
            lines += [".TP", f".B {_roff(written)}", _roff(text)]
    lines.append(END)
    return "\n".join(lines) + "\n"


def section_of(page: str) -> str:
    """The OPTIONS section as the page has it ('' when it has none made by this script)."""
    start, end = page.find(BEGIN), page.find(END)
    if start < 0 or end < 0:
        return ""
    return page[start : end + len(END)] + "\n"


def write() -> None:
    page = PAGE.read_text(encoding="utf-8")
    old = section_of(page)
    if not old:  # the first time: replace the hand-written section
        start = page.index(".SH OPTIONS\n")
        end = page.index(".SH EXIT STATUS\n")
        page = page[:start] + render() + page[end:]
    else:
        page = page.replace(old, render())
    PAGE.write_text(page, encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        sys.stdout.write(render())
