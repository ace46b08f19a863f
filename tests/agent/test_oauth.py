"""OAuth for skills with the owner's own app: the browser flow against the agent and a local
OAuth provider (tests/support/oauth_server.py), tokens kept encrypted and refreshed by the agent,
devices getting only the access token."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent.ovos_env import run_ovos, write_identity
from tests.support.agent_app import bearer, local_agent
from tests.support.oauth_server import LocalOAuthServer
from voxpop.agent.agent import Agent
from voxpop.agent.oauth import TOKENS_NS, OAuthConfigError, apps_from_doc, broker_for
from voxpop.agent.store import STORE_FILE
from voxpop.agent.tokens import Login
from voxpop.crypto.keys import PrivateKey

OWNER = PrivateKey(bytes([41]) * 32).public_key.address
AGENT_KEY = PrivateKey(bytes([42]) * 32)
CLIENT_ID, SECRET = "owner-app", "owner-app-secret-0123"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def provider() -> Iterator[LocalOAuthServer]:
    with LocalOAuthServer.start(client_id=CLIENT_ID, client_secret=SECRET) as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def served(
    tmp_path: Path, provider: LocalOAuthServer, clock: Clock
) -> Iterator[tuple[Agent, httpx.Client, Login]]:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "music.secret").write_text(SECRET + "\n")
    extra = f"""
[oauth.music]
client_id = "{CLIENT_ID}"
client_secret_file = "music.secret"
auth_endpoint = "{provider.authorize_url}"
token_endpoint = "{provider.token_url}"
scope = "playback read"
"""
    with local_agent(
        tmp_path / "home", owner=OWNER, agent_key=AGENT_KEY, toml_extra=extra, clock=clock
    ) as served:
        yield served


def connect(http: httpx.Client, login: Login, cred: str = "music") -> httpx.Response:
    """The owner's browser: ask a link (as a skill would), open it, let the provider approve,
    follow the redirect back to the agent's callback."""
    link = http.get(f"/v1/device/{login.uuid}/oauth/{cred}/link", headers=bearer(login))
    assert link.status_code == 200, link.text
    url = urllib.parse.urlsplit(link.json()["url"])
    started = http.get(f"{url.path}?{url.query}", follow_redirects=False)
    assert started.status_code == 302, started.text
    approved = httpx.get(started.headers["location"], follow_redirects=False)
    assert approved.status_code == 302
    back = urllib.parse.urlsplit(approved.headers["location"])
    assert back.path == "/v1/oauth/callback"
    return http.get(f"{back.path}?{back.query}")


def test_connect_in_a_browser_then_a_device_gets_the_token(
    served: tuple[Agent, httpx.Client, Login], provider: LocalOAuthServer
) -> None:
    _agent, http, login = served
    page = connect(http, login)
    assert page.status_code == 200 and "music is connected" in page.text
    resp = http.get(f"/v1/device/{login.uuid}/token/music", headers=bearer(login))
    assert resp.status_code == 200
    token = resp.json()
    assert token["access_token"] == provider.state.access_tokens[-1]
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    assert token["scope"] == "playback read"
    # The refresh token never leaves the agent
    assert "refresh_token" not in token
    assert provider.state.grants == ["authorization_code"]


def test_the_agent_refreshes_an_expiring_token(
    served: tuple[Agent, httpx.Client, Login], provider: LocalOAuthServer, clock: Clock
) -> None:
    _, http, login = served
    connect(http, login)
    first = http.get(f"/v1/device/{login.uuid}/token/music", headers=bearer(login)).json()
    clock.now += 3600 - 30  # within the refresh margin
    second = http.get(f"/v1/device/{login.uuid}/token/music", headers=bearer(login)).json()
    assert second["access_token"] != first["access_token"]
    assert second["access_token"] == provider.state.access_tokens[-1]
    assert provider.state.grants == ["authorization_code", "refresh_token"]
    # The provider left the refresh token out of its answer: the old one still refreshes
    clock.now += 3600
    third = http.get(f"/v1/device/{login.uuid}/token/music", headers=bearer(login)).json()
    assert third["access_token"] == provider.state.access_tokens[-1]
    assert provider.state.grants[-1] == "refresh_token" and len(provider.state.grants) == 3


def test_a_provider_that_is_down_leaves_a_valid_token_usable(
    served: tuple[Agent, httpx.Client, Login], provider: LocalOAuthServer, clock: Clock
) -> None:
    _, http, login = served
    connect(http, login)
    first = http.get(f"/v1/device/{login.uuid}/token/music", headers=bearer(login)).json()
    provider.state.down = True
    clock.now += 3600 - 30
    still = http.get(f"/v1/device/{login.uuid}/token/music", headers=bearer(login))
    assert still.status_code == 200 and still.json()["access_token"] == first["access_token"]
    clock.now += 60  # now expired, and the provider still down
    gone = http.get(f"/v1/device/{login.uuid}/token/music", headers=bearer(login))
    assert gone.status_code == 503 and gone.json()["error"] == "oauth_provider_unavailable"


def test_tokens_are_encrypted_at_rest(
    served: tuple[Agent, httpx.Client, Login], provider: LocalOAuthServer
) -> None:
    agent, http, login = served
    connect(http, login)
    raw = (agent.config.home / STORE_FILE).read_bytes()
    for name in ("-wal",):
        wal = agent.config.home / (STORE_FILE + name)
        if wal.exists():
            raw += wal.read_bytes()
    assert provider.state.access_tokens and provider.state.refresh_tokens
    for secret in [*provider.state.access_tokens, *provider.state.refresh_tokens, SECRET]:
        assert secret.encode() not in raw
    assert [k for k, _ in agent.store.items(TOKENS_NS)] == ["music"]


def test_invalid_token_before_connecting(served: tuple[Agent, httpx.Client, Login]) -> None:
    _, http, login = served
    resp = http.get(f"/v1/device/{login.uuid}/token/music", headers=bearer(login))
    assert resp.status_code == 404 and resp.json()["error"] == "oauth_not_connected"
    unknown = http.get(f"/v1/device/{login.uuid}/token/nope", headers=bearer(login))
    assert unknown.status_code == 404 and unknown.json()["error"] == "oauth_unknown_credential"


def test_invalid_device_token_is_a_plain_401(served: tuple[Agent, httpx.Client, Login]) -> None:
    _, http, login = served
    resp = http.get(f"/v1/device/{login.uuid}/token/music", headers={"Authorization": "Bearer x"})
    assert resp.status_code == 401 and not resp.headers["content-type"].startswith("application")


def test_invalid_start_without_a_good_ticket(
    served: tuple[Agent, httpx.Client, Login], clock: Clock
) -> None:
    agent, http, _login = served
    for ticket in ("", "123.abc", "9999999999." + "0" * 32):
        resp = http.get(f"/v1/oauth/music/start?ticket={ticket}", follow_redirects=False)
        assert resp.status_code == 403 and "not valid" in resp.text
    # A ticket for another credential, or one past its ten minutes, starts nothing
    link = broker_for(agent).connect_url("music", str(http.base_url))
    query = urllib.parse.urlsplit(link).query
    other = http.get(f"/v1/oauth/other/start?{query}", follow_redirects=False)
    assert other.status_code == 404
    clock.now += 601
    late = http.get(f"/v1/oauth/music/start?{query}", follow_redirects=False)
    assert late.status_code == 403


def test_invalid_callback_state_is_refused_and_used_once(
    served: tuple[Agent, httpx.Client, Login], provider: LocalOAuthServer
) -> None:
    agent, http, _login = served
    forged = http.get("/v1/oauth/callback?code=abc&state=forged")
    assert forged.status_code == 400 and "state" in forged.text
    link = broker_for(agent).connect_url("music", str(http.base_url))
    url = urllib.parse.urlsplit(link)
    started = http.get(f"{url.path}?{url.query}", follow_redirects=False)
    approved = httpx.get(started.headers["location"], follow_redirects=False)
    back = urllib.parse.urlsplit(approved.headers["location"])
    assert http.get(f"{back.path}?{back.query}").status_code == 200
    replay = http.get(f"{back.path}?{back.query}")
    assert replay.status_code == 400
    assert provider.state.grants == ["authorization_code"]


def test_invalid_denied_by_the_owner(
    served: tuple[Agent, httpx.Client, Login], provider: LocalOAuthServer
) -> None:
    agent, http, login = served
    provider.state.deny = True
    link = urllib.parse.urlsplit(broker_for(agent).connect_url("music", str(http.base_url)))
    started = http.get(f"{link.path}?{link.query}", follow_redirects=False)
    denied = httpx.get(started.headers["location"], follow_redirects=False)
    back = urllib.parse.urlsplit(denied.headers["location"])
    page = http.get(f"{back.path}?{back.query}")
    assert page.status_code == 400 and "access_denied" in page.text
    resp = http.get(f"/v1/device/{login.uuid}/token/music", headers=bearer(login))
    assert resp.status_code == 404


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"bad name!": {}}, "names are"),
        (
            {"x": {"client_id": "a", "auth_endpoint": "ftp://a", "token_endpoint": "http://b"}},
            "auth",
        ),
        (
            {"x": {"client_id": "a", "auth_endpoint": "http://a", "token_endpoint": "http://b"}},
            "secret",
        ),
        ({"x": {"auth_endpoint": "http://a", "token_endpoint": "http://b"}}, "client_id"),
    ],
)
def test_invalid_app_config(tmp_path: Path, table: dict[str, object], field: str) -> None:
    with pytest.raises(OAuthConfigError, match=field):
        apps_from_doc(tmp_path, table)


def test_ovos_backend_client_oauth_api_gets_the_token(
    served: tuple[Agent, httpx.Client, Login], provider: LocalOAuthServer, tmp_path: Path
) -> None:
    """The real ovos-backend-client 1.0.1 (its own venv): OAuthApi.get_oauth_token."""
    _, http, login = served
    connect(http, login)
    device_home = tmp_path / "device"
    write_identity(device_home, login.to_json())
    result = run_ovos(
        device_home,
        str(http.base_url).rstrip("/"),
        """
        from ovos_backend_client.api import OAuthApi
        api = OAuthApi(URL)
        emit([api.get_oauth_token("music"), api.refresh_oauth_token("music")])
        """,
    )
    assert [t["access_token"] for t in result] == [provider.state.access_tokens[-1]] * 2
    assert all("refresh_token" not in t for t in result)


def test_the_owner_gets_a_connect_link_from_the_cli(
    tmp_path: Path, provider: LocalOAuthServer
) -> None:
    """`voxpop agent oauth-link music --home DIR`, with the agent key in the home's keyring: the
    link it prints starts the flow on the running agent."""
    from typer.testing import CliRunner

    from voxpop.agent.config import load_config
    from voxpop.agent.keys import agent_keyring
    from voxpop.cli.main import app

    home = tmp_path / "home"
    home.mkdir()
    (home / "music.secret").write_text(SECRET)
    extra = f"""
[oauth.music]
client_id = "{CLIENT_ID}"
client_secret_file = "music.secret"
auth_endpoint = "{provider.authorize_url}"
token_endpoint = "{provider.token_url}"
"""
    with local_agent(home, owner=OWNER, agent_key=AGENT_KEY, toml_extra=extra) as (_, http, _l):
        agent_keyring(load_config(home)).import_seed("agent", AGENT_KEY.seed)
        result = CliRunner().invoke(
            app, ["agent", "oauth-link", "music", "--home", str(home), "--output", "json"]
        )
        assert result.exit_code == 0, result.output
        url = urllib.parse.urlsplit(json.loads(result.stdout)["url"])
        assert f"{url.scheme}://{url.netloc}" == str(http.base_url).rstrip("/")
        started = http.get(f"{url.path}?{url.query}", follow_redirects=False)
        assert started.status_code == 302
        assert started.headers["location"].startswith(provider.authorize_url)
        unknown = CliRunner().invoke(
            app, ["agent", "oauth-link", "nope", "--home", str(home), "--output", "json"]
        )
        assert unknown.exit_code != 0 and "oauth_unknown_credential" in unknown.output
