"""A canary planted through the device API never appears in a node's bytes: what a device says
about itself (name, platform, versions) reaches the chain only sealed under the owner's settings
key, and the agent's own files keep it encrypted too. The owner, reading with proofs and
decrypting, does see it: so the scan is of data that really is there."""

from __future__ import annotations

import secrets
import time

import pytest

from tests.agent.conftest import AgentWorld
from tests.support.canary import bytes_scanned, scan

pytestmark = pytest.mark.slow


def test_a_canary_from_the_device_api_is_never_in_node_bytes(agent_world: AgentWorld) -> None:
    canary = "CANARY" + secrets.token_hex(8).upper()
    login = agent_world.pair_device("canary-device", platform=f"plat-{canary}")
    http, headers = agent_world.http, agent_world.bearer(login)
    answer = http.patch(
        f"/v1/device/{login['uuid']}",
        json={"coreVersion": canary, "enclosureVersion": f"enc-{canary}"},
        headers=headers,
    )
    assert answer.status_code == 200

    # The owner reads it back, decrypted: it is on chain, sealed
    def on_chain() -> bool:
        devices = agent_world.owner_cli("list")["devices"]
        mine = [d for d in devices if d["name"] == "canary-device"]
        return bool(mine) and (mine[0]["versions"] or {}).get("core") == canary

    deadline = time.monotonic() + 30
    while not on_chain():
        assert time.monotonic() < deadline, "the report never reached the chain"
        time.sleep(0.3)
    roots = [agent_world.node.home, agent_world.agent.home]
    hits = scan(roots, {"canary": canary.encode()})
    assert hits == {"canary": []}
    assert bytes_scanned([agent_world.node.home]) > 0
