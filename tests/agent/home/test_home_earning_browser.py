"""The earning page in Debian's Chromium against a real agent: it says plainly that nothing runs,
then shows a real storage node (`voxpop storage start`, registered on the live node) running, as
the node reports itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.agent.home.live import LiveHome
from tests.support.browser import screenshot
from voxpop.chain.encoding import decode_state
from voxpop.crypto.keys import PrivateKey
from voxpop.storage.testing import LocalStorageNode

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

STORAGE = PrivateKey(bytes([225]) * 32)


def test_nothing_running_then_a_storage_node(
    live_home: LiveHome, page: Page, tmp_path_factory: pytest.TempPathFactory
) -> None:
    storage_home = tmp_path_factory.mktemp("earning") / "storage"
    config = live_home.agent_home / "agent.toml"
    text = config.read_text()
    if "[earning]" not in text:  # where the owner runs its roles (read on each page)
        config.write_text(
            f'{text}\n[earning]\nprovider_homes = []\nstorage_homes = ["{storage_home}"]\n'
        )
    page.goto(f"{live_home.url}/earning")
    assert "Nothing is earning here right now" in page.inner_text("#none-running")
    assert "No storage node is running here." in page.inner_text("main")

    with live_home.client() as client:
        params = decode_state(client.query("/storage/params").value)
        collateral = params["min_collateral"]
        client.send(live_home.owner_key, STORAGE.public_key.address, collateral + 10_000_000)
    node = LocalStorageNode.start(
        storage_home,
        node_url=live_home.node.url,
        account=STORAGE,
        capacity="64MiB",
        collateral=collateral,
        via_cli=False,
    )
    try:
        page.goto(f"{live_home.url}/earning")
        text = page.inner_text("main")
        assert "Storage node running" in text
        assert "Running: holding 0 pieces of other people's data." in text
        screenshot(page, "earning")
    finally:
        node.kill()  # a throwaway node: no graceful shutdown to wait for
