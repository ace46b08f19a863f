"""No single point of failure: stop every node under a paired device and check which calls still
work (tokens, settings and location from the verified cache; version reports kept for later),
restart, and check that everything catches up (owner edits reach the device, the offline report
reaches the chain). Reads fail over to the next node when one is down, and paid calls keep
flowing over the channels already open when none answers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.agent.conftest import AgentWorld
from voxpop.agent.chain import ChainView
from voxpop.agent.config import AgentConfig, PaymentSettings
from voxpop.agent.store import LocalStore
from voxpop.chain.modules.services.messages import MsgRegister
from voxpop.client.testing import free_port
from voxpop.crypto import Keyring, PrivateKey
from voxpop.provider.keys import response_public_key
from voxpop.provider.testing import LocalProvider

pytestmark = pytest.mark.slow
STAKE = 1_000_000_000  # the services module's default min_stake


def wait_for(predicate: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_stop_every_node_then_catch_up(agent_world: AgentWorld) -> None:
    http = agent_world.http
    login = agent_world.pair_device("resilient")
    uuid, headers = login["uuid"], agent_world.bearer(login)
    agent_world.owner_cli("settings", "set", "resilient", "systemUnit=imperial")
    agent_world.owner_cli("location", "set", "city=Oslo", "timezone=Europe/Oslo")
    setting_path, location_path = f"/v1/device/{uuid}/setting", f"/v1/device/{uuid}/location"
    # The agent has read (and cached, verified) what the owner set
    wait_for(lambda: http.get(setting_path, headers=headers).json()["systemUnit"] == "imperial")
    wait_for(
        lambda: (
            http.get(location_path, headers=headers).json().get("city", {}).get("name") == "Oslo"
        )
    )
    setting = http.get(setting_path, headers=headers)
    location = http.get(location_path, headers=headers)

    agent_world.stop_node()
    try:
        # Tokens: the device is still paired, refreshes, and the new token works
        device = http.get(f"/v1/device/{uuid}", headers=headers)
        assert device.status_code == 200
        assert device.json()["user"]["uuid"] == agent_world.owner_address
        refresh = {"Authorization": f"Bearer {login['refreshToken']}", "Device": uuid}
        fresh = http.get("/v1/auth/token", headers=refresh)
        assert fresh.status_code == 200
        headers = agent_world.bearer(fresh.json())
        # Settings and location: the verified cache answers, ETags and 304s included
        offline_setting = http.get(setting_path, headers=headers)
        assert offline_setting.status_code == 200
        assert offline_setting.json() == setting.json()
        etag = {"If-None-Match": setting.headers["etag"]}
        assert http.get(setting_path, headers={**headers, **etag}).status_code == 304
        assert http.get(location_path, headers=headers).json() == location.json()
        assert http.get(f"/v1/device/{uuid}/subscription", headers=headers).status_code == 200
        # A version report is taken and kept for the chain
        report = http.patch(f"/v1/device/{uuid}", json={"coreVersion": "24.1.0"}, headers=headers)
        assert report.status_code == 200 and report.json()["coreVersion"] == "24.1.0"
        # Bad tokens are still refused, in plain text
        assert http.get(f"/v1/device/{uuid}", headers={"Authorization": "Bearer x"}).text
        # What needs the chain says so with a code, never an empty or a wrong answer
        pairing = http.get("/v1/device/code", params={"state": "offline"})
        assert pairing.status_code == 503 and pairing.json()["error"] == "chain_unavailable"
    finally:
        agent_world.restart_node()

    # Catch up: the owner's edit after the restart reaches the device ...
    agent_world.owner_cli("settings", "set", "resilient", "systemUnit=metric")
    wait_for(lambda: http.get(setting_path, headers=headers).json()["systemUnit"] == "metric")

    # ... and the report made offline reaches the chain (the owner reads it, decrypted)
    def reported() -> bool:
        devices = agent_world.owner_cli("list")["devices"]
        mine = [d for d in devices if d["name"] == "resilient"]
        return bool(mine) and (mine[0]["versions"] or {}).get("core") == "24.1.0"

    wait_for(reported)


def test_reads_fail_over_to_a_node_that_answers(agent_world: AgentWorld, tmp_path: Path) -> None:
    dead = "http://127.0.0.1:9"
    config = AgentConfig(
        home=tmp_path,
        owner=agent_world.owner,
        chain_id=agent_world.node.chain_id,
        nodes=(dead, agent_world.node.url),
        keyring_backend="test",
    )
    store = LocalStore.open(tmp_path, agent_world.agent_key)
    chain = ChainView(config, agent_world.agent_key, store)
    try:
        agent_world.owner_cli("location", "set", "city=Bergen")
        location = chain.read_record("location")
        assert location is not None and b"Bergen" in location
        assert chain.clients[1].base_url == agent_world.node.url
        # The node that answered is asked first next time
        assert chain.call(lambda c: c.base_url) == agent_world.node.url
        # The validator keys it named now check every node's proofs, pinned across restarts
        learned = chain.clients[1].trust.validator_keys
        assert learned and chain.clients[0].trust.validator_keys == learned
        again = ChainView(config, agent_world.agent_key, store)
        assert all(c.trust.validator_keys == learned for c in again.clients)
        again.close()
    finally:
        chain.close()
        store.close()


ECHO_PROVIDER = PrivateKey(bytes([211]) * 32)


def test_paid_calls_flow_over_open_channels_with_no_node(
    agent_world: AgentWorld, tmp_path: Path
) -> None:
    """The agent's payer (channels the owner funds, vouchers the agent signs) keeps paying a
    provider over its open channel, with the offers last proven, when no node answers."""
    with agent_world.client() as vox:
        funded = vox.send(agent_world.owner_key, ECHO_PROVIDER.public_key.address, 2 * STAKE)
        assert funded.code == 0, funded.log
        port = free_port()
        register = MsgRegister(
            provider=ECHO_PROVIDER.public_key.address,
            kind="echo",
            endpoint=f"http://127.0.0.1:{port}",
            price=5,
            languages=("en-us",),
            signing_key=response_public_key(ECHO_PROVIDER),
            stake=STAKE,
        )
        assert vox.execute(ECHO_PROVIDER, [register], gas_limit=300_000).code == 0
    home = tmp_path / "provider"
    Keyring(home / "keyring", "test").import_seed("provider", ECHO_PROVIDER.seed)
    provider = LocalProvider.start(
        home, node_url=agent_world.node.url, kind="echo", engine="echo", port=port, timeout=60
    )
    config = AgentConfig(
        home=tmp_path,
        owner=agent_world.owner,
        chain_id=agent_world.node.chain_id,
        nodes=(agent_world.node.url,),
        keyring_backend="test",
        payments=PaymentSettings(deposit=100_000, top_up_below=1_000, top_up_amount=100_000),
    )
    store = LocalStore.open(tmp_path, agent_world.agent_key)
    chain = ChainView(config, agent_world.agent_key, store)
    try:
        payer = chain.payer
        first = payer.call("echo", b'{"q": "online"}')
        assert first.body == b'{"q": "online"}' and first.cost == 5
        payer.offer_ttl = 0  # every call reads the offers again: from the chain, or the last proven
        agent_world.stop_node()
        try:
            for n in range(3):
                body = f'{{"q": "offline {n}"}}'.encode()
                answer = payer.call("echo", body)
                assert answer.body == body and answer.provider == ECHO_PROVIDER.public_key.address
            assert [r.cost for r in payer.receipts()] == [5, 5, 5, 5]
        finally:
            agent_world.restart_node()
    finally:
        provider.stop()
        chain.close()
        store.close()


def test_a_removal_through_the_agent_takes_effect_at_once_offline(
    agent_world: AgentWorld,
) -> None:
    from typer.testing import CliRunner

    from voxpop.cli.agent import agent_app

    keep, gone = agent_world.pair_device("kept-offline"), agent_world.pair_device("gone-offline")
    http = agent_world.http
    agent_world.stop_node()
    try:
        argv = ["remove-device", gone["uuid"], "--home", str(agent_world.agent.home)]
        result = CliRunner().invoke(agent_app, [*argv, "--output", "json"])
        assert result.exit_code == 0, result.stdout
        assert '"tokens_revoked": 2' in result.stdout
        # The running agent refuses it at once; the other device is untouched
        answer = http.get(f"/v1/device/{gone['uuid']}", headers=agent_world.bearer(gone))
        assert answer.status_code == 401 and answer.text == "Unauthorized"
        refresh = {"Authorization": f"Bearer {gone['refreshToken']}"}
        assert http.get("/v1/auth/token", headers=refresh).status_code == 401
        kept = http.get(f"/v1/device/{keep['uuid']}", headers=agent_world.bearer(keep))
        assert kept.status_code == 200
        # An unknown uuid is refused with a code and changes nothing
        bad = CliRunner().invoke(
            agent_app,
            ["remove-device", "nope", "--home", str(agent_world.agent.home), "--output", "json"],
        )
        assert bad.exit_code != 0 and "device_not_found" in bad.stdout
    finally:
        agent_world.restart_node()
    # The chain still lists it (only the owner's key removes it there); the agent keeps refusing
    time.sleep(2 * 0.5)
    answer = http.get(f"/v1/device/{gone['uuid']}", headers=agent_world.bearer(gone))
    assert answer.status_code == 401


def test_reads_come_from_the_verified_cache_while_fresh(
    agent_world: AgentWorld, tmp_path: Path
) -> None:
    now = [1_900_000_000.0]
    config = AgentConfig(
        home=tmp_path,
        owner=agent_world.owner,
        chain_id=agent_world.node.chain_id,
        nodes=(agent_world.node.url,),
        keyring_backend="test",
        cache_fresh_seconds=10,
    )
    store = LocalStore.open(tmp_path, agent_world.agent_key)
    chain = ChainView(config, agent_world.agent_key, store, clock=lambda: now[0])
    try:
        agent_world.owner_cli("location", "set", "city=Tromso")
        assert b"Tromso" in (chain.read_record("location") or b"")
        agent_world.owner_cli("location", "set", "city=Narvik")
        # Within the window: the cache answers, no node is asked
        now[0] += 9
        assert b"Tromso" in (chain.read_record("location") or b"")
        # Past it (or asked to refresh, as the sync does): proven again from a node
        now[0] += 2
        assert b"Narvik" in (chain.read_record("location") or b"")
        agent_world.owner_cli("location", "set", "city=Bodo")
        assert b"Bodo" in (chain.read_record("location", refresh=True) or b"")
    finally:
        chain.close()
        store.close()
