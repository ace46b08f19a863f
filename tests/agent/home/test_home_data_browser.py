"""The data page in Debian's Chromium against a real node and agent: a live access grant of the
owner's (through a registered privacy node's offer) revoked in one click (an owner action signed
with the unlocked key) with its tx progress until committed, and the sharing policy saved from
its form, a bad field refused in plain words."""

from __future__ import annotations

import time
import tomllib
from typing import TYPE_CHECKING

import pytest

from tests.agent.home.live import LiveHome
from tests.support.browser import screenshot
from voxpop.chain.encoding import decode_state
from voxpop.chain.modules.consent.messages import MsgGrant
from voxpop.chain.modules.consent.state import decode_grant
from voxpop.chain.modules.services.messages import MsgRegister
from voxpop.client.consent.policy import policy_path
from voxpop.crypto.keys import PrivateKey

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

NODE = PrivateKey(bytes([223]) * 32)  # a privacy node's account: its offer is all a grant needs
GRANTEE = PrivateKey(bytes([224]) * 32).public_key.address
GRANT_ID = bytes([0x6A]) * 32
# secp256k1's generator, compressed: a valid Umbral public key (nothing is re-encrypted here)
SECP256K1_G = bytes.fromhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")


def unlock(page: Page, live: LiveHome, then: str) -> None:
    page.goto(f"{live.url}/unlock?next={then}")
    page.fill("#passphrase", live.passphrase)
    page.click("main button:has-text('Unlock')")
    page.wait_for_url(f"**{then}")


def make_grant(live: LiveHome) -> None:
    """A privacy node's reencrypt offer, then the owner's grant through it (a committed set of 3
    objects, by root)."""
    with live.client() as client:
        stake = decode_state(client.query("/services/params").value)["min_stake"]
        client.send(live.owner_key, NODE.public_key.address, stake + 10_000_000)
        register = MsgRegister(
            provider=NODE.public_key.address,
            kind="reencrypt",
            endpoint="http://127.0.0.1:9",
            price=1,
            languages=(),
            signing_key=NODE.public_key.raw,
            stake=stake,
        )
        assert client.execute(NODE, [register], gas_limit=300_000).code == 0
        grant = MsgGrant(
            owner=live.owner,
            grant_id=GRANT_ID,
            grantee=GRANTEE,
            purpose="research",
            expiry=int(time.time()) + 7 * 86_400,
            max_accesses=10,
            objects=(),
            objects_root=bytes([7]) * 32,
            object_count=3,
            nodes=(NODE.public_key.address,),
            threshold=1,
            delegating_pk=SECP256K1_G,
            verifying_pk=SECP256K1_G,
            offer_id=b"",
        )
        result = client.execute(live.owner_key, [grant], gas_limit=400_000)
        assert result.code == 0, result.log


def test_revoke_a_grant_in_one_click(live_home: LiveHome, page: Page) -> None:
    make_grant(live_home)
    unlock(page, live_home, "/data")
    row = page.locator(f"#grant-{GRANT_ID.hex()}")
    assert "research" in row.inner_text() and "0 of 10 uses" in row.inner_text()
    assert "live" in row.inner_text()
    screenshot(page, "data")

    row.locator("button:has-text('Revoke')").click()
    page.wait_for_selector("#result .tx-submitted, #result .tx-committed")
    page.wait_for_selector("#result .tx-committed")
    with live_home.client() as client:
        grant = decode_grant(client.query("/consent/grant", GRANT_ID).value)
    assert grant.revoked_at > 0
    page.goto(f"{live_home.url}/data")
    row = page.locator(f"#grant-{GRANT_ID.hex()}")
    assert "revoked" in row.inner_text() and row.locator("button").count() == 0


def test_sharing_policy_form_saves_and_refuses_bad_input_in_words(
    live_home: LiveHome, page: Page
) -> None:
    unlock(page, live_home, "/data")
    page.fill("#policy-deny_buyers", "not-an-address")
    page.click("button:has-text('Save the policy')")
    page.wait_for_selector("#result >> text=The sharing policy was not saved")
    assert not policy_path(live_home.owner_home).exists()

    page.fill("#policy-deny_buyers", "")
    page.fill("#policy-kinds", "voice, text")
    page.fill("#policy-min_price", "25")
    page.click("button:has-text('Save the policy')")
    page.wait_for_selector("#result >> text=saved")
    saved = tomllib.loads(policy_path(live_home.owner_home).read_text())
    assert saved["kinds"] == ["voice", "text"] and saved["min_price"] == 25
    assert saved["auto"] is False
