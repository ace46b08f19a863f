"""A real browser for web tests: Debian's Chromium driven by Playwright (never `playwright
install`: nothing downloads a browser at run time).

    from tests.support.browser import browser, page, screenshot  # in a conftest.py

    def test_x(page: Page) -> None:
        page.goto(url)
        screenshot(page, "devices")          # docs/screenshots/devices.png

One browser per test module (`browser`); each test gets a fresh context and page (`page`):
its own cookies, so sessions never leak between tests. Not one per session: Playwright's sync API
keeps an event loop running in the main thread while it is started, and pytest-asyncio cannot run
the async tests of later modules under it ("Runner.run() cannot be called from a running event
loop"); stopping it at the end of each module gives the thread back.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("VOXPOP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1100, "height": 760}
DEFAULT_TIMEOUT_MS = 30_000  # a shared 2-core machine: generous


def chromium_path() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    """The page as it looks, into docs/screenshots/<name>.png (committed: the README shows one)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
