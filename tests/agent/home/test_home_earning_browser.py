"""The earning page in Debian's Chromium against a real agent: no provider and no storage node
runs on this machine, and the page says so plainly."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.agent.home.live import LiveHome
from tests.support.browser import screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow


def test_nothing_running_is_said_plainly(live_home: LiveHome, page: Page) -> None:
    page.goto(f"{live_home.url}/earning")
    assert "Nothing is earning here right now" in page.inner_text("#none-running")
    text = page.inner_text("main")
    assert "No provider has run here." in text and "No storage node is running here." in text
    screenshot(page, "earning")
