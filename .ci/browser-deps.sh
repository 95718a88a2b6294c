#!/usr/bin/env bash
# What the HTML report's browser tests (tests/unit/test_report_browser.py) need on a fresh
# Debian 12 machine, after `apt-get update`:
#   chromium   Debian's Chromium, run headless (--dump-dom, --screenshot) on each rendered page
#   fonts-dejavu-core  fonts for the screenshots (headless Chromium draws boxes without one);
#   fonts-vlgothic     the Japanese of the guide sections the verdicts cite
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-vlgothic >/dev/null
