"""Staking under real CometBFT: what the app decides about stake reaches CometBFT's validator set.

A delegation changes the voting power CometBFT reports; a validator that stops signing is jailed
for downtime (and can unjail); a validator whose key signs twice (a second node running a copy of
its priv_validator_key.json) is slashed and tombstoned from CometBFT's own evidence.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.abci.comet_testing import free_base_port, pid_alive, wait_until
from tests.consensus.network import GAS, POWER, Network, b64
from voxpop.chain.encoding import decode_state
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.tx import encode_tx, make_body
from voxpop.crypto.keys import PrivateKey
from voxpop.node.config import load_config
from voxpop.node.testnet import compute_node_id, node_command

STAKING = importlib.util.find_spec("voxpop.chain.modules.staking") is not None
pytestmark = [
    pytest.mark.cometbft,
    pytest.mark.slow,
    pytest.mark.skipif(not STAKING, reason="the staking module (chain/modules/staking) is absent"),
]

UVOX_PER_POWER = 1_000_000


def sign(network: Network, key: PrivateKey, msg_type: str, value: dict[str, Any]) -> bytes:
    account = network.account(0, key)
    body = make_body(
        chain_id=network.chain_id,
        pub_key=key.public_key.raw,
        sequence=account["sequence"],
        fee=AuthParams().min_fee(GAS),
        gas_limit=GAS,
        msgs=[(msg_type, value)],
    )
    return encode_tx(body, key.sign(body.sign_bytes()))


def commit(network: Network, node: int, tx: bytes) -> dict[str, Any]:
    reply = network.api[node].post("/v1/txs", json={"tx": b64(tx), "mode": "commit"})
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    assert result["code"] == 0, result
    return result


def powers(network: Network, node: int) -> dict[str, int]:
    """CometBFT's validator set at node's latest height: {consensus address hex: power}."""
    vals = network.rpcs[node].get("validators", per_page=100)["validators"]
    return {v["address"]: int(v["voting_power"]) for v in vals}


def consensus_address(network: Network, i: int) -> str:
    key = json.loads(network.net.nodes[i].node_home.priv_validator_key.read_text())
    return str(key["address"]).upper()


def staking_validator(network: Network, node: int, operator: bytes) -> dict[str, Any]:
    reply = network.api[node].get(
        "/v1/query", params={"path": "/staking/validator", "data": operator.hex()}
    )
    reply.raise_for_status()
    value: dict[str, Any] = decode_state(bytes.fromhex(reply.json()["value"]))
    return value


def test_delegation_changes_cometbft_voting_power(make_network: Callable[..., Network]) -> None:
    network = make_network(keys=2)
    network.start()
    target = network.operator_key(0).public_key.address
    address0 = consensus_address(network, 0)
    assert powers(network, 1)[address0] == POWER

    delegator = network.keys[0]
    tx = sign(
        network,
        delegator,
        "staking/Delegate",
        {
            "delegator": delegator.public_key.address,
            "validator": target,
            "amount": 20 * UVOX_PER_POWER,
        },
    )
    done = commit(network, 2, tx)
    # an update returned at height H takes effect at H+2
    network.wait_height(done["height"] + 3, range(4), 30)
    for i in range(4):
        assert powers(network, i)[address0] == POWER + 20, i
        assert staking_validator(network, i, target)["tokens"] == (POWER + 20) * UVOX_PER_POWER
    network.assert_same_chain(range(4))


def test_validator_that_stops_signing_is_jailed_then_unjails(
    make_network: Callable[..., Network],
) -> None:
    from voxpop.chain.modules.slashing.state import SlashingParams

    window = 10
    network = make_network(
        keys=1,
        slashing=SlashingParams(
            signed_blocks_window=window,
            min_signed_per_window_bps=5_000,
            downtime_jail_seconds=3,
        ),
    )
    network.start()
    operator3 = network.operator_key(3)
    address3 = consensus_address(network, 3)
    network.stop_node(3)
    stopped_at = network.height(0)

    # more than half a window missed, once a full window has passed: jailed, power 0
    wait_until(lambda: address3 not in powers(network, 0), 60, "node3 to leave the validator set")
    assert network.height(0) > stopped_at + window // 2
    jailed = staking_validator(network, 0, operator3.public_key.address)
    assert jailed["jailed"] and not jailed["tombstoned"]
    assert jailed["tokens"] < POWER * UVOX_PER_POWER  # slashed 1 % for downtime
    # Node 1 may be a block behind node 0 under load: it too reaches the same set
    wait_until(lambda: len(powers(network, 1)) == 3, 30, "node1 to see the set without node3")

    network.start(wait_height=0)
    network.wait_height(network.height(0), [3], 60)
    done: dict[str, Any] = {}

    def unjailed() -> bool:
        """Send Unjail; False while the 3 s jail term (in block time) is still running."""
        msg = {"operator": operator3.public_key.address}
        unjail = sign(network, operator3, "slashing/Unjail", msg)
        reply = network.api[3].post("/v1/txs", json={"tx": b64(unjail), "mode": "commit"})
        if reply.status_code == 400 and reply.json()["error"]["code"] == "jail_period_active":
            return False
        assert reply.status_code == 200 and reply.json()["code"] == 0, reply.text
        done.update(reply.json())
        return True

    wait_until(unjailed, 30, "the jail term to end")
    network.wait_height(done["height"] + 3, range(4), 30)
    assert not staking_validator(network, 0, operator3.public_key.address)["jailed"]
    expected = jailed["tokens"] // UVOX_PER_POWER
    assert all(powers(network, i).get(address3) == expected for i in range(4))
    network.assert_same_chain(range(4))


def test_double_signing_validator_is_slashed_and_tombstoned(
    make_network: Callable[..., Network], tmp_path: Path
) -> None:
    network = make_network(keys=1)
    twin = make_twin(network, 3, tmp_path / "twin")
    network.start()
    operator3 = network.operator_key(3).public_key.address
    address3 = consensus_address(network, 3)
    log = twin.parent / "twin.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            node_command(_home(twin), serve_api=False),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(
            lambda: staking_validator(network, 0, operator3).get("tombstoned", False),
            120,
            "evidence of node3's double signing to be committed",
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        comet_pid = twin / "cometbft" / "cometbft.pid"
        if comet_pid.exists() and pid_alive(pid := int(comet_pid.read_text())):
            raise AssertionError(f"the twin's CometBFT {pid} outlived it")
    slashed = staking_validator(network, 0, operator3)
    assert slashed["jailed"] and slashed["tombstoned"]
    assert slashed["tokens"] == POWER * UVOX_PER_POWER * 95 // 100  # 5 % burned
    top = network.height(0)
    network.wait_height(top + 3, [0, 1, 2], 30)
    for i in range(3):
        assert address3 not in powers(network, i), i
    network.assert_same_chain([0, 1, 2])


def _home(path: Path) -> Any:
    from voxpop.node.home import NodeHome

    return NodeHome(path)


def make_twin(network: Network, i: int, twin: Path) -> Path:
    """A fifth node that signs with a copy of node i's validator key: its own node key, ports
    and peers, the same genesis. Made before the network starts (a fresh copy of the home)."""
    from nacl.signing import SigningKey

    from voxpop.node.testnet import _node_key_json

    source = network.net.nodes[i]
    shutil.copytree(source.home, twin, ignore=shutil.ignore_patterns("*.pid", "*.log", "data"))
    (twin / "data").mkdir()
    base = free_base_port(1)
    node_key = SigningKey.generate()
    (twin / "cometbft" / "config" / "node_key.json").write_text(
        json.dumps(_node_key_json(node_key))
    )
    config_path = twin / "config" / "config.toml"
    config = load_config(config_path)
    config.moniker = "twin"
    config.cometbft.p2p_port = base
    config.cometbft.rpc_port = base + 1
    config.cometbft.abci_port = base + 2
    config.api.port = base + 3
    config.cometbft.persistent_peers = ",".join(
        f"{n.node_id}@127.0.0.1:{n.p2p_port}" for n in network.net.nodes
    )
    config.save(config_path)
    overrides = twin / "cometbft" / "overrides.toml"
    import tomllib

    doc = tomllib.loads(overrides.read_text())
    doc["p2p"]["laddr"] = f"tcp://127.0.0.1:{base}"
    overrides.write_text(tomli_w.dumps(doc))
    assert compute_node_id(node_key) not in config.cometbft.persistent_peers
    return twin
