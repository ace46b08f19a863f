"""Device tokens in a real agent (config, encrypted store) served in-process, with a clock the
test moves: how mycroft-core's refresh-on-401 meets expiry, the sliding life of a used token,
revocation, and that no token is kept or logged in the clear."""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from voxpop.agent.agent import Agent
from voxpop.agent.app import create_app
from voxpop.agent.config import AgentConfig, TokenLifetimes, write_config
from voxpop.agent.store import STORE_FILE
from voxpop.crypto.keys import PrivateKey

with warnings.catch_warnings():
    # Starlette warns that its TestClient will move to httpx2; the client itself works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ACCESS_TTL = 3_600
REFRESH_TTL = 86_400


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Agent, TestClient, Clock]]:
    clock = Clock()
    config = AgentConfig(
        home=tmp_path,
        owner=PrivateKey(bytes([7]) * 32).public_key.address,
        chain_id="voxpop-test",
        nodes=("http://127.0.0.1:9",),  # no node: tokens need none
        keyring_backend="test",
        tokens=TokenLifetimes(access_ttl=ACCESS_TTL, refresh_ttl=REFRESH_TTL),
        sync_interval=0,
    )
    write_config(config)
    agent = Agent(config, PrivateKey(bytes([8]) * 32), clock=clock)
    try:
        with TestClient(create_app(agent)) as http:
            yield agent, http, clock
    finally:
        agent.close()


def pair(agent: Agent, name: bytes = b"kitchen") -> dict[str, object]:
    uuid = agent.devices.add(hashlib.sha256(name).digest(), {"name": name.decode()})
    return agent.tokens.issue(uuid).to_json()


def get_device(http: TestClient, login: dict[str, object], token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token or login['accessToken']}"}
    return http.get(f"/v1/device/{login['uuid']}", headers=headers).status_code


def test_refresh_after_a_401_then_retry_works(
    served: tuple[Agent, TestClient, Clock],
) -> None:
    agent, http, clock = served
    login = pair(agent)
    assert login["expiration"] == ACCESS_TTL
    clock.now += ACCESS_TTL + 1  # the device slept past its access token's life
    assert get_device(http, login) == 401
    # mycroft-core: one refresh with the refresh token as Bearer and a Device header, then retry
    answer = http.get(
        "/v1/auth/token",
        headers={"Authorization": f"Bearer {login['refreshToken']}", "Device": str(login["uuid"])},
    )
    assert answer.status_code == 200
    fresh = answer.json()
    assert fresh["expiration"] == ACCESS_TTL
    assert get_device(http, fresh) == 200


def test_a_used_token_never_runs_out(served: tuple[Agent, TestClient, Clock]) -> None:
    agent, http, clock = served
    login = pair(agent)
    # ovos-backend-client never refreshes: a device in use keeps its first token for weeks
    for _ in range(30):
        clock.now += ACCESS_TTL * 0.75
        assert get_device(http, login) == 200
    # An idle one runs out
    clock.now += ACCESS_TTL + 1
    assert get_device(http, login) == 401


def test_invalid_expired_refresh_token(served: tuple[Agent, TestClient, Clock]) -> None:
    agent, http, clock = served
    login = pair(agent)
    clock.now += REFRESH_TTL + 1
    answer = http.get(
        "/v1/auth/token", headers={"Authorization": f"Bearer {login['refreshToken']}"}
    )
    assert answer.status_code == 401 and answer.text == "Unauthorized"


def test_a_spent_refresh_token_lasts_only_a_short_grace(
    served: tuple[Agent, TestClient, Clock],
) -> None:
    agent, http, clock = served
    login = pair(agent)
    headers = {"Authorization": f"Bearer {login['refreshToken']}"}
    assert http.get("/v1/auth/token", headers=headers).status_code == 200
    # Two refreshes racing must not unpair the device ...
    assert http.get("/v1/auth/token", headers=headers).status_code == 200
    # ... but the old refresh token does not live on
    clock.now += 120
    assert http.get("/v1/auth/token", headers=headers).status_code == 401


def test_revoked_device_tokens_get_401(served: tuple[Agent, TestClient, Clock]) -> None:
    agent, http, _clock = served
    login, other = pair(agent), pair(agent, b"office")
    agent.devices.mark_removed(str(login["uuid"]))
    assert get_device(http, login) == 401
    assert get_device(http, other) == 200
    assert agent.tokens.revoke_device(str(other["uuid"])) == 2
    assert get_device(http, other) == 401


def test_tokens_are_stored_hashed_and_never_logged(
    served: tuple[Agent, TestClient, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    agent, http, _clock = served
    caplog.set_level(logging.DEBUG)
    login = pair(agent)
    assert get_device(http, login) == 200
    http.get("/v1/auth/token", headers={"Authorization": f"Bearer {login['refreshToken']}"})
    raw = (agent.config.home / STORE_FILE).read_bytes()
    for name in ("accessToken", "refreshToken"):
        token = str(login[name]).encode()
        assert token not in raw and hashlib.sha256(token).hexdigest().encode() not in raw
        assert str(login[name]) not in caplog.text


def test_status_is_for_the_agents_own_machine(served: tuple[Agent, TestClient, Clock]) -> None:
    _agent, http, _clock = served
    # Starlette's test client calls from the host "testclient": not this machine
    answer = http.get("/status")
    assert answer.status_code == 403 and answer.json()["error"] == "local_only"
