"""The wallet page in Debian's Chromium against a real node and agent: the balance, the spending
chart from the agent's ledger, send (an owner action signed with the unlocked key) with its tx
progress until committed, both balances after, and the tx decoded in a real explorer following
the same node; errors in plain words."""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.agent.home.live import LiveHome
from tests.support.browser import screenshot
from voxpop.agent.payer import LEDGER_FILE
from voxpop.client.agent_grants import read_agent_grants
from voxpop.client.payments.ledger import ChannelRecord, Ledger
from voxpop.crypto import encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.vouchers import Receipt
from voxpop.explorer.testing import LocalExplorer

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

RECIPIENT_KEY = PrivateKey(bytes([221]) * 32)
RECIPIENT = RECIPIENT_KEY.public_key.address
PROVIDER = PrivateKey(bytes([222]) * 32).public_key.address


@pytest.fixture(scope="module")
def explorer(live_home: LiveHome, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`voxpop explorer` indexing the live home's node (SQLite in its home): its URL."""
    home: Path = tmp_path_factory.mktemp("explorer")
    running = LocalExplorer.start(home, node_url=live_home.node.url)
    try:
        yield running.url
    finally:
        running.stop()


def unlock(page: Page, live: LiveHome, then: str) -> None:
    page.goto(f"{live.url}/unlock?next={then}")
    page.fill("#passphrase", live.passphrase)
    page.click("main button:has-text('Unlock')")
    page.wait_for_url(f"**{then}")


def balance_uvox(page: Page) -> int:
    title = page.get_attribute("#balance .hb-amount", "title")
    assert title is not None and title.endswith(" uvox")
    return int(title.removesuffix(" uvox").replace(",", ""))


def seed_spending(live: LiveHome) -> None:
    """What the agent's payer writes when devices use paid services: a channel and its spends."""
    ledger = Ledger(live.agent_home / LEDGER_FILE)
    try:
        channel = b"\x42" * 32
        if ledger.channel(channel) is None:
            ledger.add_channel(
                ChannelRecord(channel, live.owner, PROVIDER, b"\x01" * 32, 50_000_000, 0, 0, 0.0)
            )
            today = datetime.datetime.now(datetime.UTC).date()
            issued = 0
            for back, kind, cost in [
                (0, "stt", 1_200_000),
                (0, "weather", 300_000),
                (1, "stt", 2_000_000),
                (3, "knowledge", 900_000),
                (5, "stt", 700_000),
                (5, "weather", 200_000),
            ]:
                issued += cost
                day = (today - datetime.timedelta(days=back)).isoformat()
                ledger.reserve(channel, kind, issued, cost, day)
                at = time.time() - back * 86_400
                receipt = Receipt(channel, b"q" * 32, b"r" * 32, issued, b"s" * 64)
                ledger.record_receipt(PROVIDER, kind, cost, receipt, at)
    finally:
        ledger.close()


def test_send_shows_progress_until_committed_and_both_balances(
    live_home: LiveHome, explorer: str, page: Page
) -> None:
    seed_spending(live_home)
    unlock(page, live_home, "/wallet")
    assert page.inner_text("#my-address") == encode_address(live_home.owner)
    qr = page.get_attribute("img.hb-qr", "src")
    assert qr is not None and qr.startswith("data:image/svg+xml")
    assert page.locator("svg.hb-chart rect").count() == 6  # one segment per service and day
    assert "Speech to text" in page.inner_text("table.hb-legend")
    assert page.locator("#receipts-title + table tbody tr").count() == 6
    screenshot(page, "wallet")
    before = balance_uvox(page)

    page.fill("#send-to", encode_address(RECIPIENT))
    page.fill("#send-amount", "2.5")
    page.click("button:has-text('Send')")
    # the tx's progress: sent (polled), then confirmed in a block
    page.wait_for_selector("#result .tx-submitted, #result .tx-committed")
    page.wait_for_selector("#result .tx-committed")
    assert "confirmed in block" in page.inner_text("#result")
    found = re.search(r"Transaction ([0-9a-f]{16})", page.inner_text("#result"))
    assert found is not None
    tx_prefix = found.group(1)

    with live_home.client() as client:
        assert client.balance(RECIPIENT) == 2_500_000
        owner_now = client.balance(live_home.owner)
    assert owner_now <= before - 2_500_000
    # the balance on the page follows without a reload (the box reloads when the tx is done)
    expect(page.locator("#balance .hb-amount")).to_have_attribute("title", f"{owner_now:,} uvox")

    # a payment to the owner from elsewhere shows up live (the node's stream, relayed by the home)
    with live_home.client() as client:
        assert client.send(RECIPIENT_KEY, live_home.owner, 1_000_000).code == 0
        owner_paid = client.balance(live_home.owner)
    expect(page.locator("#balance .hb-amount")).to_have_attribute("title", f"{owner_paid:,} uvox")

    # the explorer shows that tx, decoded: from the recipient's account to the tx's page
    recipient = encode_address(RECIPIENT)
    deadline = time.monotonic() + 60
    while True:
        page.goto(f"{explorer}/accounts/{recipient}")
        if page.locator(f"a[href^='/txs/{tx_prefix}']").count() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    page.locator(f"a[href^='/txs/{tx_prefix}']").first.click()
    page.wait_for_selector(".msg .mtype")
    assert page.inner_text(".msg .mtype") == "bank/Send"
    decoded = page.inner_text(".msg")
    assert recipient in decoded and encode_address(live_home.owner) in decoded
    assert "2500000" in decoded
    screenshot(page, "explorer_send_tx")


def test_errors_are_shown_in_plain_words(live_home: LiveHome, page: Page) -> None:
    unlock(page, live_home, "/wallet")
    page.fill("#send-to", "vox1notanaddress")
    page.fill("#send-amount", "1")
    page.click("button:has-text('Send')")
    page.wait_for_selector("#result .tx-error")
    assert "That is not a voxpop address" in page.inner_text("#result")

    page.fill("#send-to", encode_address(RECIPIENT))
    page.fill("#send-amount", "1.0000001")
    page.click("button:has-text('Send')")
    page.wait_for_selector("#result >> text=That amount cannot be used")

    # more than the account holds: the network refuses it, said in words
    page.fill("#send-amount", "99999999")
    page.click("button:has-text('Send')")
    page.wait_for_selector("#result >> text=There is not enough VOX in the account for this.")


def test_change_the_agents_daily_limit(live_home: LiveHome, page: Page) -> None:
    unlock(page, live_home, "/wallet")
    page.fill("#cap", "7.5")
    page.click("button:has-text('Change the limit')")
    page.wait_for_selector("#result .tx-committed")
    with live_home.client() as client:
        held = read_agent_grants(client, live_home.owner, live_home.agent_key.public_key.address)
    assert held.grants["channels/Open"].limits.period_limit == 7_500_000
    assert held.allowance is not None and held.allowance.limits.period_limit == 1_000_000
    expect(page.locator("#allow-title + p + table")).to_contain_text("7.5 VOX")
