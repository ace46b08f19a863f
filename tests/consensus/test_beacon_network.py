"""The randomness beacon on four real validators under CometBFT: the seed moves every block and is
the same on every node, and a validator whose vote extensions are forged is left out of it."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.consensus.network import Network
from voxpop.chain.modules.beacon import entry, state
from voxpop.crypto import vrf
from voxpop.node.home import NodeHome
from voxpop.node.testnet import node_command, start_testnet
from voxpop.node.validator_key import cometbft_address, load_validator_key

pytestmark = [pytest.mark.cometbft, pytest.mark.slow]

FORGER = 3
REPO = Path(__file__).resolve().parents[2]


def seed_at(network: Network, i: int, height: int) -> bytes:
    reply = network.api[i].get("/v1/query", params={"path": "/beacon/seed", "height": height})
    reply.raise_for_status()
    return bytes.fromhex(reply.json()["value"])


def test_seed_moves_every_block_alike_everywhere_and_a_forged_extension_is_refused(
    make_network: Callable[..., Network],
) -> None:
    network = make_network(keys=1)
    forger_home = network.net.nodes[FORGER].node_home.root

    def command(home: NodeHome) -> list[str]:
        if home.root == forger_home:
            return node_command(home, "tests.consensus.beacon_forger:open_forging_app")
        return node_command(home)

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    start_testnet(network.dir, command=command, env=env)
    network.wait_height(7, range(4), 120)
    addresses = [
        cometbft_address(load_validator_key(node.node_home.priv_validator_key).public_key.raw)
        for node in network.net.nodes
    ]
    honest = sorted(a for i, a in enumerate(addresses) if i != FORGER)

    previous = hashlib.sha256(b"voxpop/beacon/genesis" + network.chain_id.encode()).digest()
    assert seed_at(network, 0, 1) == previous  # block 1 has no previous votes
    for height in range(2, 7):
        seeds = {seed_at(network, i, height) for i in range(4)}
        assert len(seeds) == 1, f"nodes disagree on the seed at {height}"
        seed = seeds.pop()
        # The block's first tx is the entry: the three honest validators' proofs, never the
        # forger's (every honest node refused its extensions), and the seed is exactly their fold
        txs = network.rpcs[0].get("block", height=height)["block"]["data"]["txs"]
        votes = entry.decode_entry(base64.b64decode(txs[0]))
        assert [a for a, _ in votes] == honest, f"entry of block {height}"
        assert seed == state.next_seed(previous, [(a, vrf.proof_to_hash(p)) for a, p in votes])
        assert seed != previous
        previous = seed
    network.assert_same_chain(range(4))
