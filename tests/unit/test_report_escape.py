"""What a device, host or bundle says is data: never terminal control, never live markup."""


import json

import pytest
from reportpages import (
    CONTROL_BYTES,
    EXAMPLES,
    LIVE_MARKUP,
    PageText,
    hostile_bundle,
    payload_strings,
)
from test_bundle_cli import run_cli

from guestprobe.report.escape import html_text, terminal_lines, terminal_text
from guestprobe.report.html import STYLE, _csp


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("IET\x1b]0;pwned\x07", "IET\\x1b]0;pwned\\x07"),  # OSC: sets the terminal's title
        ("\x1b[2J\x1b[31mred", "\\x1b[2J\\x1b[31mred"),  # CSI: clear screen, colour
        ("a\x9bb\x7fc\x00", "a\\x9bb\\x7fc\\x00"),  # 8-bit CSI, DEL, NUL
        ("two\nlines\r", "two\\x0alines\\x0d"),  # a value is one line
        ("tab\there", "tab\\x09here"),
        ("abc\u202edcba\u2066x\u200b", "abc\\u202edcba\\u2066x\\u200b"),  # bidi, zero width
        ("plain ASCII, ünïcödé, 日本語", "plain ASCII, ünïcödé, 日本語"),
    ],
)
def test_terminal_text(raw, shown):
    assert terminal_text(raw) == shown


def test_terminal_lines_keeps_only_newlines():
    assert terminal_lines("a\x1b\nb\x07") == "a\\x1b\nb\\x07"


def test_html_text_escapes_markup_and_control():
    assert html_text('"><img src=x onerror=alert(1)>\x1b') == (
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\\x1b"
    )


def test_the_csp_allows_only_the_page_s_own_style():
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    policy = _csp(STYLE)
    assert policy.startswith("default-src 'none';")
    assert f"style-src 'sha256-{digest}'" in policy and "script-src 'none'" in policy
    assert "unsafe" not in policy


@pytest.fixture
def hostile(tmp_path):
    return hostile_bundle(tmp_path / "hostile.tar.gz")


def test_the_payloads_reach_the_report(hostile, capsys):
    """(Else the tests below would prove nothing.)"""
    status, out, _ = run_cli(capsys, "report", "--json", str(hostile))
    assert status == 0
    text = json.dumps(json.loads(out), ensure_ascii=False)
    for payload in payload_strings():
        assert json.dumps(payload, ensure_ascii=False)[1:-1] in text, payload


@pytest.mark.parametrize("args", [(), ("--brief",)])
def test_terminal_output_carries_no_control_character(hostile, capsys, args):
    status, out, err = run_cli(capsys, "report", *args, str(hostile))
    assert status == 0, err
    for byte in CONTROL_BYTES:
        assert byte not in out and byte not in err
    assert all(ch == "\n" or ch >= " " for ch in out)
    assert "\\x1b]0;pw\\x07" in out  # shown, as text
    assert "<script>alert(1)" in out  # (a terminal does not run markup: shown as it is)


def test_compare_carries_no_control_character(hostile, capsys):
    status, out, err = run_cli(capsys, "compare", str(hostile), str(EXAMPLES / "two-paths.tar.gz"))
    assert status == 0, err
    assert all(ch == "\n" or ch >= " " for ch in out), out
    assert "\\x1b]0;owned\\x07" in out  # the node's name, escaped


def test_error_lines_carry_no_control_character(tmp_path, capsys):
    bad = tmp_path / "name\x1b]0;x\x07.json"
    bad.write_text("not json")
    status, _, err = run_cli(capsys, "report", str(bad))
    assert status == 8
    assert "\x1b" not in err and "\x07" not in err and "\\x1b]0;x\\x07" in err


def test_the_page_carries_nothing_live(hostile, tmp_path, capsys):
    page_file = tmp_path / "hostile.html"
    status, _, err = run_cli(capsys, "report", "--html", str(page_file), str(hostile))
    assert status == 0, err
    page = page_file.read_text()
    assert not LIVE_MARKUP.search(page.split("<style>", 1)[1].split("</style>", 1)[1])
    assert page.count("<meta http-equiv") == 1  # the CSP, nothing injected beside it
    for byte in CONTROL_BYTES:
        assert byte not in page
    parsed = PageText(page)
    tags = {tag for tag, _ in parsed.tags}
    assert not tags & {"script", "img", "iframe", "object", "embed", "link", "base", "form"}
    for _, attrs in parsed.tags:
        for name, value in attrs:
            assert not name.startswith("on"), name  # no event handler attribute got in
            if name in ("href", "src"):
                assert (value or "").startswith("#"), value  # only links within the page
    text = parsed.text  # what a reader sees: the payloads, as text
    assert '"><img src=x onerror=alert(2)>' in text
    assert "<script>alert(1)" in text and "\\x1b]0;pw\\x07" in text


def test_the_compare_page_carries_nothing_live(hostile, tmp_path, capsys):
    page_file = tmp_path / "compare.html"
    status, _, err = run_cli(capsys, "compare", "--html", str(page_file), str(hostile),
                             str(EXAMPLES / "two-paths.tar.gz"))
    assert status == 0, err
    page = page_file.read_text()
    tags = {tag for tag, _ in PageText(page).tags}
    assert "script" not in tags and "img" not in tags
    assert "\x1b" not in page and "&lt;script&gt;alert(4)&lt;/script&gt;" in page
