"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``).

Every example is rendered with ``guestprobe report --html`` and loaded from a file: the DOM the
browser builds must hold every verdict that is not usable with its reason codes and its fix,
the page must load nothing (a CSP of ``default-src 'none'`` and no URL but in-page anchors),
and a screenshot of each is written for people to look at (the folder is printed; set
``GUESTPROBE_SCREENSHOTS=DIR`` to choose it). Without Chromium these tests skip, except in CI
(``CI=true``), where a missing browser is a failure: ``.ci/browser-deps.sh`` installs it.
"""


import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from reportpages import (
    EXAMPLE_BUNDLES,
    EXAMPLES,
    PageText,
    example_report,
    hostile_bundle,
    judge,
    normalize,
    not_usable,
)
from test_bundle_cli import run_cli

BROWSERS = ("chromium", "chromium-browser")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="module")
def chromium() -> str:
    found = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if found is None:
        reason = "Chromium is not installed (bash .ci/browser-deps.sh installs it)"
        if _in_ci():
            pytest.fail(f"CI=true, and {reason}", pytrace=False)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def screenshots() -> "Path":
    chosen = os.environ.get("GUESTPROBE_SCREENSHOTS")
    folder = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="guestprobe-screenshots-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots of the HTML reports: {folder}")
    return folder


def _run(browser: str, *args: str) -> "subprocess.CompletedProcess":
    with tempfile.TemporaryDirectory(prefix="guestprobe-chromium-") as profile:
        return subprocess.run(
            [
                browser, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-default-apps",
                f"--user-data-dir={profile}", *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            timeout=120,
            check=False,
        )


def dump_dom(browser: str, page: "Path") -> str:
    done = _run(browser, "--dump-dom", page.resolve().as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<html" in done.stdout, done.stderr[-2000:]
    return done.stdout


def screenshot(browser: str, page: "Path", png: "Path", size: str = "1400,1800") -> None:
    done = _run(browser, f"--screenshot={png}", f"--window-size={size}",
                "--hide-scrollbars", page.resolve().as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert png.read_bytes()[:8] == PNG_MAGIC


def _render(capsys, bundle: "Path", out: "Path") -> "Path":
    status, _, err = run_cli(capsys, "report", "--html", str(out), str(bundle))
    assert status == 0, err
    return out


def _no_network(dom: str) -> None:
    parsed = PageText(dom)
    policy = [dict(attrs).get("content") for tag, attrs in parsed.tags
              if tag == "meta" and dict(attrs).get("http-equiv") == "Content-Security-Policy"]
    assert len(policy) == 1 and policy[0].startswith("default-src 'none';")
    for tag, attrs in parsed.tags:
        assert tag not in ("script", "img", "link", "iframe", "object", "embed", "base"), tag
        for name, value in attrs:
            if name in ("href", "src", "action", "srcset", "poster", "data"):
                assert (value or "").startswith("#"), (tag, name, value)
    assert "url(" not in dom  # no style fetches a font or an image either


@pytest.mark.parametrize("bundle", EXAMPLE_BUNDLES, ids=lambda p: p.name)
def test_every_example_in_the_browser(chromium, screenshots, tmp_path, capsys, bundle):
    page = _render(capsys, bundle, tmp_path / "report.html")
    dom = dump_dom(chromium, page)
    _no_network(dom)
    text = PageText(dom).text
    document = judge(example_report(bundle))
    verdicts = not_usable(document)
    assert verdicts
    for who, verdict in verdicts:
        for reason in verdict["reasons"]:
            assert reason["code"] in text and normalize(reason["text"]) in text, reason["code"]
        for remedy in verdict["remediation"]:
            assert normalize(remedy["text"]) in text, (who, verdict["feature"])
    name = bundle.name.replace(".tar.gz", "")
    screenshot(chromium, page, screenshots / f"{name}.png")


def test_foreign_reservation_names_the_holder_in_the_browser(chromium, tmp_path, capsys):
    page = _render(capsys, EXAMPLES / "foreign-reservation.tar.gz", tmp_path / "fr.html")
    text = PageText(dump_dom(chromium, page)).text
    assert ("reservation holder write_exclusive_registrants_only held by key 0x5646314132423033 "
            "'VF1A2B03' (Veritas coordinator key: cluster 6699, node 3)") in text
    assert "reserved_by_veritas_cluster" in text and "cluster 6699, node 3" in text


def test_a_cell_opens_its_verdict(chromium, screenshots, tmp_path, capsys):
    """A link to a cell (as the findings have) opens its <details> in the browser itself."""
    page = _render(capsys, EXAMPLES / "mixed.tar.gz", tmp_path / "mixed.html")
    html = page.read_text()
    anchor = html.split('<div class="pop" id="', 1)[1].split('"', 1)[0]
    assert "<details open" not in html  # (every cell is closed in the page as written)
    done = _run(chromium, "--dump-dom", page.resolve().as_uri() + "#" + anchor)
    assert done.returncode == 0
    opened = done.stdout.split("<details open", 1)
    assert len(opened) == 2 and f'id="{anchor}"' in opened[1].split("</details>", 1)[0]
    screenshot(chromium, page, screenshots / "mixed-cell-open.png", "1400,1000")


def test_the_hostile_bundle_in_the_browser(chromium, screenshots, tmp_path, capsys):
    page = _render(capsys, hostile_bundle(tmp_path / "hostile.tar.gz"), tmp_path / "h.html")
    dom = dump_dom(chromium, page)
    _no_network(dom)  # no <script>, <img> or URL got into the DOM the browser built
    text = PageText(dom).text
    assert '"><img src=x onerror=alert(2)>' in text and "<script>alert(1)" in text
    screenshot(chromium, page, screenshots / "hostile.png")


def test_the_comparison_in_the_browser(chromium, screenshots, tmp_path, capsys):
    page = tmp_path / "compare.html"
    nodes = [EXAMPLES / f"{n}.tar.gz" for n in ("two-paths", "mixed", "foreign-reservation")]
    status, _, err = run_cli(capsys, "compare", "--html", str(page), *map(str, nodes))
    assert status == 0, err
    dom = dump_dom(chromium, page)
    _no_network(dom)
    text = PageText(dom).text
    assert "naa.60000000000000000e00000000010001" in text
    for node in ("node1", "node2", "node4"):
        assert node in text
    assert "Coordinator disks" in text
    # node4 reads the LU held by a Veritas key of a cluster not known to be theirs: no sure
    # candidate, one that may be, where fencing wants three; the holder decoded
    assert ("NOT ENOUGH 0 LU(s) seen by every node, PR-capable and free of other owners' keys"
            in text)
    assert "VF1A2B03: cluster 6699, node 3 (from node4)" in text
    screenshot(chromium, page, screenshots / "compare.png", "1400,900")
