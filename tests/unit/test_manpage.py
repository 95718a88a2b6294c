"""The man page's OPTIONS are the --help texts: made by packaging/manpage.py, checked here."""

import importlib.util
import re
from pathlib import Path

import click
import pytest

from guestprobe.cli import cli

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
spec = importlib.util.spec_from_file_location("manpage", PACKAGING / "manpage.py")
manpage = importlib.util.module_from_spec(spec)
spec.loader.exec_module(manpage)  # type: ignore[union-attr]
PAGE = (PACKAGING / "guestprobe.8").read_text(encoding="utf-8")
SECTION = manpage.section_of(PAGE)


def _commands():
    ctx = click.Context(cli)
    for name in sorted(cli.list_commands(ctx)):
        command = cli.get_command(ctx, name)
        sub = click.Context(command, info_name=name, parent=ctx)
        if manpage.option_entries(sub, command):
            yield name, command, sub


def test_the_page_has_a_made_options_section():
    assert SECTION.startswith(manpage.BEGIN) and ".SH OPTIONS" in SECTION


@pytest.mark.parametrize("name, command, ctx", list(_commands()), ids=lambda v: str(v)[:20])
def test_every_option_says_what_its_help_says(name, command, ctx):
    part = SECTION.split(f".SS {manpage._roff(name)}\n", 1)[1].split(".SS ", 1)[0]
    for _, text in manpage.option_entries(ctx, command):
        assert manpage._roff(text) in part, (name, text)
    for param in command.params:
        if isinstance(param, click.Option) and param.help:
            for option in param.opts:
                assert manpage._roff(option) in part, (name, option)


@pytest.mark.skipif(int(click.__version__.split(".")[0]) < 8,
                    reason="the section is made with click 8's layout of option names")
def test_the_section_is_what_the_script_makes():
    assert manpage.render() == SECTION


def test_no_stale_claims():
    text = re.sub(r"\s+", " ", PAGE.replace("\\-", "-"))
    assert "one block past the end" not in text
    assert "one worker process per disk" not in text
