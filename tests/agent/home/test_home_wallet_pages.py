"""The wallet, data, community and earning routes in-process (no node): every change needs the
CSRF token, bad input is refused in words before anything is signed or sent, a node that cannot
be reached is said in words, and the earning page needs no node at all."""

from __future__ import annotations

from tests.agent.home.conftest import PASSPHRASE, HomeApp
from voxpop.crypto import encode_address

HTMX = {"hx-request": "true"}
OTHER = encode_address(bytes([9]) * 20)


CHANGES: list[tuple[str, dict[str, str]]] = [
    ("/wallet/send", {"to": OTHER, "amount": "1"}),
    ("/wallet/cap", {"cap": "5"}),
    ("/community/vote", {"proposal": "1", "option": "yes"}),
    ("/community/delegate", {"validator": OTHER, "amount": "1"}),
    ("/data/revoke/" + "00" * 32, {}),
    ("/data/policy", {"min_price": "1"}),
]
BAD_INPUT: list[tuple[str, dict[str, str], str]] = [
    ("/wallet/send", {"to": "vox1nope", "amount": "1"}, "That is not a voxpop address"),
    ("/wallet/send", {"to": OTHER, "amount": "-2"}, "That amount cannot be used"),
    ("/wallet/cap", {"cap": "a lot"}, "That limit cannot be used"),
    ("/community/vote", {"proposal": "x", "option": "yes"}, "Choose one of the proposals"),
    ("/community/vote", {"proposal": "1", "option": "maybe"}, "Choose yes, no, abstain"),
    ("/community/delegate", {"validator": "bob", "amount": "1"}, "Choose a validator"),
    ("/data/revoke/zz", {}, "That grant is not one of yours"),
]


async def test_every_change_needs_the_csrf_token(home_app: HomeApp) -> None:
    await home_app.csrf()
    for path, data in CHANGES:
        answer = await home_app.http.post(path, data={**data, "csrf": "forged"})
        assert answer.status_code == 403 and "csrf_failed" in answer.text, path


async def test_bad_input_is_refused_in_words_before_any_tx(home_app: HomeApp) -> None:
    csrf = await home_app.csrf()
    for path, data, words in BAD_INPUT:
        answer = await home_app.http.post(path, data={**data, "csrf": csrf}, headers=HTMX)
        assert answer.status_code == 200 and "tx-error" in answer.text, path
        assert words in answer.text and "Nothing" in answer.text, path
        assert "<html" not in answer.text  # the fragment htmx swaps in


async def test_a_page_says_in_words_when_no_node_answers(home_app: HomeApp) -> None:
    for path in ("/wallet", "/data", "/community"):
        answer = await home_app.http.get(path)
        assert answer.status_code == 503, path
        assert "cannot reach the network" in answer.text


async def test_earning_needs_no_node(home_app: HomeApp) -> None:
    answer = await home_app.http.get("/earning")
    assert answer.status_code == 200
    assert "Nothing is earning here right now" in answer.text


async def test_the_sharing_policy_is_the_owners_to_change(home_app: HomeApp) -> None:
    csrf = await home_app.csrf()
    locked = await home_app.http.post("/data/policy", data={"csrf": csrf, "min_price": "5"})
    assert locked.status_code == 403 and "session_locked" in locked.text
    await home_app.http.post("/unlock", data={"csrf": csrf, "passphrase": PASSPHRASE})
    bad = await home_app.http.post(
        "/data/policy", data={"csrf": csrf, "allow_buyers": "mallory"}, headers=HTMX
    )
    assert "The sharing policy was not saved" in bad.text
    owner_home = home_app.agent.config.home_settings.owner_home
    assert owner_home is not None and not (owner_home / "policy.toml").exists()
    good = await home_app.http.post(
        "/data/policy", data={"csrf": csrf, "min_price": "5", "auto": "on"}, headers=HTMX
    )
    assert "Save your sharing policy</strong>: saved" in good.text
    assert "min_price = 5" in (owner_home / "policy.toml").read_text()
