"""Pairing as devices do it, one behaviour per test: the code and its alphabet, the empty 404
until the owner claims, both spellings of the core version, refresh with the refresh token and
the Device header, and ovos-backend-client's PairingManager with the owner claiming through
`voxpop device claim CODE`."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest

from tests.agent.conftest import AgentWorld
from voxpop.agent.pairings import SELENE_CODE_ALPHABET

pytestmark = pytest.mark.slow


def test_code_is_six_letters_of_selenes_alphabet(agent_world: AgentWorld) -> None:
    seen = set()
    for n in range(3):
        answer = agent_world.http.get("/v1/device/code", params={"state": f"s{n}"})
        assert answer.status_code == 200
        grant = answer.json()
        assert set(grant) == {"code", "token", "expiration", "state"}
        assert grant["state"] == f"s{n}" and grant["expiration"] > 0
        code = grant["code"]
        # Spoken letter by letter: A-Z and 0-9 only, and none a listener could mishear
        assert len(code) == 6 and code.isascii() and code.isalnum() and code.isupper()
        assert set(code) <= set(SELENE_CODE_ALPHABET)
        seen.add(code)
    assert len(seen) == 3


def test_activate_is_an_empty_404_until_the_owner_claims(agent_world: AgentWorld) -> None:
    http = agent_world.http
    grant = http.get("/v1/device/code", params={"state": "pending"}).json()
    body = {"state": "pending", "token": grant["token"], "coreVersion": "21.2.2"}
    for _ in range(2):
        answer = http.post("/v1/device/activate", json=body)
        assert answer.status_code == 404
        assert answer.content == b""  # a JSON body would be saved as the device's identity
    # The wrong state for a real token is the same empty 404, and so is an unknown token
    assert http.post("/v1/device/activate", json={**body, "state": "other"}).content == b""
    assert http.post("/v1/device/activate", json={**body, "token": "x" * 128}).content == b""
    agent_world.claim(grant["code"], "pending-then-claimed")
    answer = http.post("/v1/device/activate", json=body)
    assert answer.status_code == 200
    login = answer.json()
    assert set(login) == {"uuid", "accessToken", "refreshToken", "expiration"}
    # Once activated, the pairing token is spent
    assert http.post("/v1/device/activate", json=body).status_code == 404


@pytest.mark.parametrize("spelling", ["coreVersion", "core_version"])
def test_activate_takes_either_spelling_of_the_core_version(
    agent_world: AgentWorld, spelling: str
) -> None:
    version = f"22.{len(spelling)}.1"
    login = agent_world.pair_device(f"spelled-{spelling}", **{spelling: version})
    device = agent_world.http.get(
        f"/v1/device/{login['uuid']}", headers=agent_world.bearer(login)
    ).json()
    assert device["coreVersion"] == version


def test_login_carries_expiration_in_seconds(agent_world: AgentWorld) -> None:
    login = agent_world.pair_device("expiring")
    # mycroft-core computes expires_at = now + expiration and refreshes once that passes:
    # a login without it (or 0) would look expired at once and refresh before every call
    assert isinstance(login["expiration"], int) and login["expiration"] >= 3600


def test_refresh_with_the_refresh_token_and_device_header(agent_world: AgentWorld) -> None:
    http = agent_world.http
    login = agent_world.pair_device("refreshing")
    headers = {"Authorization": f"Bearer {login['refreshToken']}", "Device": login["uuid"]}
    answer = http.get("/v1/auth/token", headers=headers)
    assert answer.status_code == 200
    fresh = answer.json()
    assert fresh["uuid"] == login["uuid"] and fresh["expiration"] > 0
    assert fresh["accessToken"] != login["accessToken"]
    assert http.get(f"/v1/device/{login['uuid']}", headers=agent_world.bearer(fresh)).is_success


def test_invalid_refresh_is_a_plain_401(agent_world: AgentWorld) -> None:
    http = agent_world.http
    login = agent_world.pair_device("bad-refresh")
    other = agent_world.pair_device("bad-refresh-other")
    cases = [
        {"Authorization": f"Bearer {login['accessToken']}"},  # an access token is no refresh token
        {"Authorization": "Bearer not-a-token"},
        {},
        # A refresh token with another device's uuid in the Device header
        {"Authorization": f"Bearer {login['refreshToken']}", "Device": other["uuid"]},
    ]
    for headers in cases:
        answer = http.get("/v1/auth/token", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("text/plain")
    # The refusals spent nothing: the refresh token still works for its own device
    ok = {"Authorization": f"Bearer {login['refreshToken']}", "Device": login["uuid"]}
    assert http.get("/v1/auth/token", headers=ok).status_code == 200


def test_pairing_manager_pairs_with_the_owner_claiming_by_cli(
    agent_world: AgentWorld, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.agent.ovos_env import result_of, spawn_ovos

    home = tmp_path_factory.mktemp("ovos-device")
    code_file = home / "code.txt"
    device = spawn_ovos(
        home,
        agent_world.url,
        f"""
        import threading, time
        from ovos_backend_client.pairing import PairingManager, is_paired
        from ovos_backend_client.identity import IdentityManager
        from ovos_backend_client.backends import BackendType
        PairingManager.poll_frequency = 0.5
        done = threading.Event()
        def spoken(code):
            open({str(code_file)!r}, "w").write(code)
        manager = PairingManager(
            api_url=URL, version="v1", backend_type=BackendType.PERSONAL,
            code_callback=spoken, success_callback=done.set,
        )
        manager.kickoff_pairing()
        assert done.wait(90), "never paired"
        manager.shutdown()
        identity = IdentityManager.load()
        emit({{
            "uuid": identity.uuid, "has_access": bool(identity.access),
            "has_refresh": bool(identity.refresh), "expired": bool(identity.is_expired()),
            "expires_in": identity.expires_at - time.time(),
            "paired": bool(is_paired(url=URL, backend_type=BackendType.PERSONAL)),
        }})
        """,
    )
    deadline = time.monotonic() + 60
    while not code_file.exists() or len(code_file.read_text()) < 6:
        assert device.poll() is None, device.stderr.read() if device.stderr else ""
        assert time.monotonic() < deadline, "the device never spoke a code"
        time.sleep(0.2)
    code = code_file.read_text().strip()
    assert set(code) <= set(SELENE_CODE_ALPHABET)
    agent_world.claim(code, "ovos-device")
    identity = result_of(device)
    assert identity["uuid"] and identity["has_access"] and identity["has_refresh"]
    # A valid token never looks expired (mycroft-core would refresh before every call)
    assert not identity["expired"] and identity["expires_in"] > 3000
    assert identity["paired"]


def test_invalid_pairing_by_an_agent_without_the_settings_key(
    agent_world: AgentWorld, tmp_path: Path
) -> None:
    """Authorized but never given the settings key (the owner did not rotate after adding it):
    the device is told why with a code, and nothing is published."""
    from voxpop.agent.agent import Agent
    from voxpop.agent.app import create_app
    from voxpop.agent.config import init_agent_home, load_config
    from voxpop.agent.keys import load_agent_key
    from voxpop.client.agent_grants import AgentCaps, authorize_msgs
    from voxpop.client.devices import OwnerDevices

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's note that TestClient moves to httpx2
        from fastapi.testclient import TestClient

    config, address = init_agent_home(
        tmp_path / "keyless",
        owner=agent_world.owner,
        chain_id=agent_world.node.chain_id,
        nodes=[agent_world.node.url],
        keyring_backend="test",
    )
    with agent_world.client() as vox:
        msgs = authorize_msgs(agent_world.owner, address, AgentCaps())
        assert vox.execute(agent_world.owner_key, msgs, gas_limit=400_000).code == 0
        before = len(OwnerDevices(vox, agent_world.owner_key).pending())
        agent = Agent(
            config.with_changes(sync_interval=0), load_agent_key(load_config(config.home))
        )
        try:
            with TestClient(create_app(agent)) as http:
                answer = http.get("/v1/device/code", params={"state": "keyless"})
        finally:
            agent.close()
        assert answer.status_code == 503
        assert answer.json()["error"] == "no_settings_key"
        assert "voxpop settings rotate" in answer.json()["message"]
        assert len(OwnerDevices(vox, agent_world.owner_key).pending()) == before


def test_invalid_more_codes_than_the_cap(agent_world: AgentWorld, tmp_path: Path) -> None:
    """Each code is a tx the owner pays for: a flood of /device/code stops at the cap with 429
    and a code, and asking again with the same state replaces that device's code."""
    from tests.agent.conftest import make_agent_home
    from voxpop.agent.agent import Agent
    from voxpop.agent.app import create_app
    from voxpop.agent.config import load_config
    from voxpop.agent.pairings import MAX_PENDING_CODES
    from voxpop.client.devices import OwnerDevices
    from voxpop.crypto.keys import PrivateKey

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's note that TestClient moves to httpx2
        from fastapi.testclient import TestClient

    owner = PrivateKey(bytes([202]) * 32)  # its own owner: the chain caps requests per owner
    with agent_world.client() as vox:
        assert vox.send(agent_world.owner_key, owner.public_key.address, 10**10).code == 0
        key = make_agent_home(tmp_path / "agent", agent_world.node, owner)
        agent = Agent(load_config(tmp_path / "agent").with_changes(sync_interval=0), key)
        try:
            with TestClient(create_app(agent)) as http:
                first = http.get("/v1/device/code", params={"state": "same"}).json()
                again = http.get("/v1/device/code", params={"state": "same"}).json()
                assert first["token"] != again["token"]
                for n in range(MAX_PENDING_CODES - 1):
                    assert http.get("/v1/device/code", params={"state": f"d{n}"}).is_success
                flood = http.get("/v1/device/code", params={"state": "one-too-many"})
                assert flood.status_code == 429
                assert flood.json()["error"] == "too_many_pairings"
                pending = OwnerDevices(vox, owner).pending()
                # The replaced code's request stays on chain until it runs out, unused
                assert len(pending) == MAX_PENDING_CODES + 1
                # The first token of "same" was given up: claiming its code pairs nothing
                body = {"state": "same", "token": first["token"]}
                assert http.post("/v1/device/activate", json=body).content == b""
        finally:
            agent.close()
