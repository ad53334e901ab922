"""Drive Debian's headless Chromium on a local page: DOM, console messages, screenshot."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

#: the binary names Debian and Ubuntu use (apt-get install -y chromium)
_BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_binary() -> str:
    """The Chromium executable, or a pytest skip naming what is missing."""
    for name in _BINARIES:
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):  # .ci/run installs it: missing there is a failure, not a skip
        pytest.fail("no chromium binary on PATH under CI (apt-get install -y chromium)")
    pytest.skip("no chromium binary on PATH (apt-get install -y chromium)")


@dataclass
class PageLoad:
    dom: str
    console: list[str]
    screenshot: Path


def load_page(page: Path, work: Path, *, width: int = 1400, height: int = 2400) -> PageLoad:
    """Open ``page`` from a file:// URL with the network off; return DOM, console, screenshot.

    The network is off through a proxy on a closed port (any http(s) request fails); the
    console lines come from ``--enable-logging=stderr`` (every console message and uncaught
    error is logged as ``INFO:CONSOLE``).
    """
    binary = chromium_binary()
    common = [binary, "--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", f"--user-data-dir={work / 'profile'}",
              "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
              "--no-first-run", "--disable-extensions", "--disable-background-networking",
              "--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000",
              f"--window-size={width},{height}"]
    url = page.resolve().as_uri()
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120)
    shot = work / "screenshot.png"
    snap = subprocess.run([*common, f"--screenshot={shot}", url], capture_output=True,
                          text=True, timeout=120)
    console = [line for line in (dom.stderr + snap.stderr).splitlines() if ":CONSOLE" in line]
    return PageLoad(dom.stdout, console, shot)
