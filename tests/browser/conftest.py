"""Headless Chromium for the browser tests (`make test-site`, `make test-browser`).

Playwright for Python drives Debian's ``chromium`` (``apt-get install chromium``;
``.ci/run`` installs it): Playwright's own browser download does not work here, and
``/usr/bin/chromium`` is a shell wrapper, so the binary is launched directly.

These tests need a built site or a running JupyterLab, and take minutes, so a plain
``pytest tests`` (``make test``) leaves them out; their make targets set
``BACKPROP_LAB_BROWSER_TESTS=1``.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

if os.environ.get("BACKPROP_LAB_BROWSER_TESTS") != "1":
    collect_ignore_glob = ["test_*.py"]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def launch(playwright):
    """Chromium as every browser test here starts it."""
    if not Path(CHROMIUM).exists():
        hint = "apt-get install -y chromium" + ("" if shutil.which("apt-get") else " (Debian)")
        pytest.fail(f"No Chromium at {CHROMIUM}: {hint}, or set CHROMIUM=/path/to/chrome")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """What went wrong while a page was open: console errors, uncaught errors, failed loads."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return ([f"console error: {m}" for m in self.console_errors]
                + [f"uncaught: {m}" for m in self.page_errors]
                + [f"failed to load: {m}" for m in self.failed_requests]
                + [f"request off this machine: {m}" for m in self.external_requests])


def watch(page) -> Watched:
    """Record a page's errors and any request that leaves this machine.

    Listeners only: routing every request through Playwright (``page.route``) delays
    them whenever the test waits, and JupyterLab's widget manager then gives up
    rendering widgets. Off this machine nothing answers anyway, so such a request
    also shows up as failed.
    """
    watched = Watched()

    def on_request(request):
        url = request.url
        host = url.split("/")[2].split(":")[0] if "://" in url else ""
        if url.startswith(("http://", "https://", "ws://", "wss://")) and host not in LOCAL_HOSTS:
            watched.external_requests.append(url)

    page.on("console", lambda msg: watched.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: watched.page_errors.append(str(error)))
    page.on("request", on_request)
    page.on("requestfailed", lambda request: watched.failed_requests.append(
        f"{request.url} ({request.failure})") if not request.url.startswith(("data:", "blob:")) else None)
    page.on("response", lambda response: watched.failed_requests.append(
        f"{response.url} (HTTP {response.status})") if response.status >= 400 else None)
    return watched


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.watched = watch(page)
    yield page
    context.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve a folder on 127.0.0.1 (a free port) for the length of the block; yields its URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
