"""A device keeps its code for hours; the chain's pairing request lives `pairing_ttl_seconds`.
When the request runs out unclaimed, the agent publishes a new one for the same code (a new
salt, so a new id) as the device polls, and the owner's claim of that code still pairs it.

On a node whose requests live 60 s (the least the devices module allows): a minute of waiting."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import OWNER, make_agent_home
from voxpop.agent.agent import Agent
from voxpop.agent.app import create_app
from voxpop.agent.config import load_config
from voxpop.chain.modules.devices.state import DeviceParams
from voxpop.client import VoxClient
from voxpop.client.devices import OwnerDevices
from voxpop.client.testing import LocalNode
from voxpop.crypto import encode_address

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's note that TestClient moves to httpx2
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow
CHAIN_TTL = 60


@pytest.fixture(scope="module")
def short_ttl_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("short-ttl") / "node"
    LocalNode.init_home(home, funds={encode_address(OWNER.public_key.address): 10**13})
    genesis_path = home / "config" / "genesis.json"
    genesis = json.loads(genesis_path.read_text())
    params = {**DeviceParams().to_value(), "pairing_ttl_seconds": CHAIN_TTL}
    genesis["app_state"]["devices"] = {"params": params, "devices": [], "pairings": []}
    genesis_path.write_text(json.dumps(genesis))
    with LocalNode.start(home) as node:
        yield node


def test_an_expired_request_is_published_again_for_the_same_code(
    short_ttl_node: LocalNode, tmp_path: Path
) -> None:
    agent_key = make_agent_home(tmp_path / "agent", short_ttl_node, OWNER)
    config = load_config(tmp_path / "agent").with_changes(sync_interval=0)
    agent = Agent(config, agent_key)
    try:
        with TestClient(create_app(agent)) as http, VoxClient(short_ttl_node.url) as vox:
            owner = OwnerDevices(vox, OWNER)
            grant = http.get("/v1/device/code", params={"state": "slow"}).json()
            [first] = owner.pending()
            body = {"state": "slow", "token": grant["token"], "coreVersion": "1"}
            # The device polls while nobody claims; the chain's request runs out and is renewed
            deadline = time.monotonic() + CHAIN_TTL + 45
            renewed = []
            while not renewed:
                assert time.monotonic() < deadline, "the request was never published again"
                answer = http.post("/v1/device/activate", json=body)
                assert answer.status_code == 404 and answer.content == b""
                renewed = [p for p in owner.pending() if p.pairing_id != first.pairing_id]
                time.sleep(1)
            assert renewed[0].request.salt != first.request.salt
            # The code the device still speaks claims the new request
            msg, found = owner.claim_msg(grant["code"])
            assert found.pairing_id == renewed[0].pairing_id
            assert vox.execute(OWNER, [msg], gas_limit=200_000).code == 0
            login = http.post("/v1/device/activate", json=body).json()
            assert login["uuid"] and login["expiration"] > 0
    finally:
        agent.close()
