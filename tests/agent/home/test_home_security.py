"""The home's guards, in-process (no node): session cookie, CSRF on every change, the strict CSP,
unlocking with the owner's passphrase (wrong one refused and rate-limited), locking, local only."""

from __future__ import annotations

import httpx
import pytest

from tests.agent.home.conftest import PASSPHRASE, HomeApp
from voxpop.agent.home.session import COOKIE_NAME
from voxpop.web.security import CONTENT_SECURITY_POLICY


async def test_first_page_sets_a_strict_session_cookie_and_the_csp(home_app: HomeApp) -> None:
    answer = await home_app.http.get("/unlock")
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "style=" not in answer.text and "<script>" not in answer.text
    # The session is kept: a second page sets no new cookie
    again = await home_app.http.get("/unlock")
    assert "set-cookie" not in again.headers


async def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(home_app: HomeApp) -> None:
    await home_app.csrf()
    for data in ({}, {"csrf": "forged"}):
        answer = await home_app.http.post("/devices/pair", data={**data, "code": "ABC123"})
        assert answer.status_code == 403
        assert "csrf_failed" in answer.text and "Reload the page" in answer.text
    header = {"x-csrf-token": "forged", "hx-request": "true"}
    answer = await home_app.http.post("/lock", headers=header)
    assert answer.status_code == 403 and "<html" not in answer.text  # a fragment for htmx


async def test_a_post_from_another_site_is_refused(home_app: HomeApp) -> None:
    csrf = await home_app.csrf()
    answer = await home_app.http.post(
        "/lock", data={"csrf": csrf}, headers={"origin": "http://evil.example"}
    )
    assert answer.status_code == 403 and "cross_origin" in answer.text


async def test_unlock_with_the_passphrase_then_lock(home_app: HomeApp) -> None:
    csrf = await home_app.csrf()
    answer = await home_app.http.post(
        "/unlock", data={"csrf": csrf, "passphrase": PASSPHRASE, "next": "/settings"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/settings"
    page = await home_app.http.get("/unlock")
    assert "Unlocked" in page.text
    # Nothing of the key in the page
    assert home_app.owner_key.seed.hex() not in page.text
    locked = await home_app.http.post("/lock", data={"csrf": csrf})
    assert locked.status_code == 303
    assert "Unlocked" not in (await home_app.http.get("/unlock")).text


async def test_a_wrong_passphrase_unlocks_nothing_and_is_rate_limited(home_app: HomeApp) -> None:
    csrf = await home_app.csrf()
    for _ in range(5):
        answer = await home_app.http.post("/unlock", data={"csrf": csrf, "passphrase": "nope"})
        assert answer.status_code == 403 and "wrong_passphrase" in answer.text
    answer = await home_app.http.post("/unlock", data={"csrf": csrf, "passphrase": PASSPHRASE})
    assert answer.status_code == 429 and "Too many wrong passphrases" in answer.text
    assert "Unlocked" not in (await home_app.http.get("/unlock")).text


async def test_an_owner_action_of_a_locked_session_changes_nothing(home_app: HomeApp) -> None:
    # Without the key unlocked the page shows the command; no node: it says so in words
    csrf = await home_app.csrf()
    answer = await home_app.http.post("/devices/pair", data={"csrf": csrf, "code": "ABC123"})
    assert answer.status_code in (200, 503)
    assert "cannot reach the network" in answer.text


@pytest.mark.parametrize("path", ["/devices", "/unlock", "/events"])
async def test_the_home_answers_this_machine_only(home_app: HomeApp, path: str) -> None:
    app = home_app.http._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, client=("192.168.1.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://192.168.1.2:6712") as lan:
        answer = await lan.get(path)
    assert answer.status_code == 403 and "local_only" in answer.text
