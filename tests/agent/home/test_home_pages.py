"""Home pages in-process with no node reachable: bad input is refused in plain words before
anything is signed, the network's absence is said in words, and sessions lock themselves."""

from __future__ import annotations

from tests.agent.home.conftest import PASSPHRASE, HomeApp
from voxpop.agent.home.session import SessionBook
from voxpop.agent.home.words import FALLBACK, WORDS, in_words
from voxpop.crypto.keys import PrivateKey


async def test_a_code_that_is_not_a_code_is_said_in_words(home_app: HomeApp) -> None:
    csrf = await home_app.csrf()
    headers = {"hx-request": "true"}
    answer = await home_app.http.post(
        "/devices/pair", data={"csrf": csrf, "code": "no!"}, headers=headers
    )
    assert answer.status_code == 200
    assert "That is not a pairing code" in answer.text and "tx-error" in answer.text
    assert answer.headers["hx-trigger"] == "tx-done"


async def test_a_setting_that_does_not_fit_is_refused(home_app: HomeApp) -> None:
    csrf = await home_app.csrf()
    answer = await home_app.http.post(
        "/settings/device/" + "ab" * 32, data={"csrf": csrf, "systemUnit": "kelvin"}
    )
    assert answer.status_code == 400
    assert WORDS["invalid_setting"] in answer.text and "systemUnit" in answer.text
    far = await home_app.http.post(
        "/settings/location",
        data={"csrf": csrf, "city": "Nowhere", "latitude": "91", "longitude": "0"},
    )
    assert far.status_code == 400 and "latitude" in far.text


async def test_no_node_is_said_in_words(home_app: HomeApp) -> None:
    page = await home_app.http.get("/devices")
    assert page.status_code == 503 and "cannot reach the network" in page.text
    tx = await home_app.http.get("/tx/" + "00" * 32, headers={"hx-request": "true"})
    assert "cannot reach the network" in tx.text
    assert (await home_app.http.get("/tx/not-a-hash")).status_code == 404


async def test_unlock_redirects_to_this_site_only(home_app: HomeApp) -> None:
    csrf = await home_app.csrf()
    data = {"csrf": csrf, "passphrase": PASSPHRASE, "next": "//evil.example/x"}
    answer = await home_app.http.post("/unlock", data=data)
    assert answer.status_code == 303 and answer.headers["location"] == "/devices"


def test_an_idle_unlocked_session_drops_the_key() -> None:
    now = [1000.0]
    book = SessionBook(ttl=60, clock=lambda: now[0])
    session = book.new()
    book.unlock(session, PrivateKey(bytes([7]) * 32))
    now[0] += 59
    assert book.get(session.sid) is session and session.unlocked
    now[0] += 61
    again = book.get(session.sid)
    assert again is session and not session.unlocked and session.owner_key is None
    assert book.get("made-up") is None


def test_every_error_has_words() -> None:
    assert in_words("pairing_not_found").startswith("No device is waiting")
    assert in_words("brand_new_code") == FALLBACK.format(code="brand_new_code")


async def test_the_unlock_link_of_an_action_returns_to_its_page(home_app: HomeApp) -> None:
    csrf = await home_app.csrf()
    answer = await home_app.http.post("/devices/pair", data={"csrf": csrf, "code": "no!"})
    assert 'href="/unlock?next=/devices"' in answer.text


def test_the_chains_codes_in_words_are_the_chains() -> None:
    from voxpop.chain import errors

    names = {getattr(v, "name", None) for v in vars(errors).values() if isinstance(v, type)}
    chain_like = {"insufficient_funds", "wrong_sequence", "no_authorization", "pairing_expired"}
    assert chain_like <= names
    assert {"settings_version_conflict", "authorization_exceeded", "allowance_expired"} <= names
