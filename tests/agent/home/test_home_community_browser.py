"""The community page in Debian's Chromium against a real node and agent: a proposal in its
voting period, the owner's vote (an owner action signed with the unlocked key) with its tx
progress until committed, the vote shown after, and the treasury."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.agent.home.live import LiveHome
from tests.support.browser import screenshot
from voxpop.chain.encoding import decode_state, decode_uint
from voxpop.chain.modules.gov import state
from voxpop.chain.modules.gov.messages import MsgSubmitProposal

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

TITLE = "Fund a Welsh wake word"


def unlock(page: Page, live: LiveHome, then: str) -> None:
    page.goto(f"{live.url}/unlock?next={then}")
    page.fill("#passphrase", live.passphrase)
    page.click("main button:has-text('Unlock')")
    page.wait_for_url(f"**{then}")


def submit_proposal(live: LiveHome, title: str = TITLE) -> int:
    """A text proposal with the whole minimum deposit, so it is in its voting period at once."""
    with live.client() as client:
        params = decode_state(client.query("/gov/params").value)
        msg = MsgSubmitProposal(
            proposer=live.owner,
            title=title,
            summary="Collect 500 recordings and train a wake word for Welsh speakers.",
            actions=(),
            deposit=params["min_deposit"],
        )
        result = client.execute(live.owner_key, [msg], gas_limit=300_000)
        assert result.code == 0, result.log
        return decode_uint(client.query("/store", state.SEQ_KEY).value)


def test_vote_shows_progress_until_committed_and_the_vote(live_home: LiveHome, page: Page) -> None:
    pid = submit_proposal(live_home)
    unlock(page, live_home, "/community")
    card = page.locator(f"#proposal-{pid}")
    assert TITLE in card.inner_text() and "Open for votes until" in card.inner_text()
    assert "The treasury" in page.inner_text("main")
    screenshot(page, "community")

    card.locator("input[value=yes]").check()
    card.locator("button:has-text('Vote')").click()
    page.wait_for_selector("#result .tx-submitted, #result .tx-committed")
    page.wait_for_selector("#result .tx-committed")
    assert "confirmed in block" in page.inner_text("#result")

    with live_home.client() as client:
        vote = client.query("/gov/vote", state.id_bytes(pid) + live_home.owner).value
    assert decode_state(vote) == [[int(state.VoteOption.YES), state.WEIGHT_ONE]]
    # the proposal shows the vote without a reload (its box reloads when the tx is done)
    expect(page.locator(f"#proposal-{pid} .hb-my-vote")).to_have_text("You voted: Yes")


def test_delegate_then_a_locked_session_gets_the_command(live_home: LiveHome, page: Page) -> None:
    unlock(page, live_home, "/community")
    page.select_option("#validator", index=0)
    page.fill("#stake-amount", "5")
    page.click("button:has-text('Stake')")
    page.wait_for_selector("#result .tx-committed")
    page.goto(f"{live_home.url}/community")
    assert "You have staked 5 VOX" in page.inner_text("main")

    # locked: nothing is signed here; the page shows the command that signs it where the key is
    page.click("header button:has-text('Lock')")
    title = "<script>document.title='owned'</script><b>bold</b>"  # anyone may propose
    pid = submit_proposal(live_home, title)
    page.goto(f"{live_home.url}/community")
    card = page.locator(f"#proposal-{pid}")
    assert title in card.inner_text()  # shown as text, never run or rendered
    assert card.locator("script, b").count() == 0 and page.title() != "owned"
    card.locator("input[value=no]").check()
    card.locator("button:has-text('Vote')").click()
    page.wait_for_selector("#result .tx-command")
    assert f"voxpop tx gov vote owner {pid} no --node" in page.inner_text("#result")
    with live_home.client() as client:
        assert not client.query("/gov/vote", state.id_bytes(pid) + live_home.owner).value
