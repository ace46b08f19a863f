"""Home test fixtures: the agent's app in-process (httpx over ASGI, no node), and a real home
(a solo node, an agent process serving it, the owner key in a file keyring) for browser tests.

    async def test_x(home_app: HomeApp) -> None:
        csrf = await home_app.csrf()
        r = await home_app.http.post("/lock", data={"csrf": csrf})

    def test_y(live_home: LiveHome, page: Page) -> None:        # tests/support/browser.py
        page.goto(live_home.url + "/devices")
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.agent.home.live import LiveHome, start_live_home
from tests.support.browser import browser, page  # noqa: F401 - fixtures for the browser tests
from voxpop.agent.agent import Agent
from voxpop.agent.app import create_app
from voxpop.agent.config import AgentConfig, HomeSettings, write_config
from voxpop.crypto import Keyring
from voxpop.crypto.keyfile import MINIMAL_KDF
from voxpop.crypto.keys import PrivateKey

OWNER = PrivateKey(bytes([211]) * 32)
AGENT_KEY = PrivateKey(bytes([212]) * 32)
PASSPHRASE = "correct horse battery staple"
NO_NODE = ("http://127.0.0.1:9",)  # nothing listens: reads fail as "chain_unavailable"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class HomeApp:
    agent: Agent
    http: httpx.AsyncClient
    owner_key: PrivateKey

    async def csrf(self) -> str:
        """This client's session's CSRF token (from the unlock page, which needs no node)."""
        unlock = await self.http.get("/unlock")
        found = _CSRF.search(unlock.text)
        assert found is not None, unlock.text
        return found.group(1)


def owner_keyring(home: Path, owner: PrivateKey = OWNER) -> Path:
    """An owner tools' --home whose file keyring holds `owner` as "owner", with PASSPHRASE."""
    Keyring(home / "keyring", "file", kdf=MINIMAL_KDF).import_seed("owner", owner.seed, PASSPHRASE)
    return home


@pytest.fixture
async def home_app(tmp_path: Path) -> AsyncIterator[HomeApp]:
    owner_home = owner_keyring(tmp_path / "owner")
    config = AgentConfig(
        home=tmp_path / "agent",
        owner=OWNER.public_key.address,
        chain_id="voxpop-test",
        nodes=NO_NODE,
        keyring_backend="test",
        home_settings=HomeSettings(owner_home=owner_home),
    )
    config.home.mkdir(parents=True)
    write_config(config)
    agent = Agent(config, AGENT_KEY)
    transport = httpx.ASGITransport(app=create_app(agent))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:6712") as http:
            yield HomeApp(agent, http, OWNER)
    finally:
        agent.close()


@pytest.fixture(scope="session")
def live_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHome]:
    """A solo node, an agent process serving the home, the owner key in a file keyring
    (PASSPHRASE); shared by the session's browser tests."""
    with start_live_home(tmp_path_factory.mktemp("live-home"), PASSPHRASE) as live:
        yield live
