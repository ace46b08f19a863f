"""Four validators of the real app under real CometBFT: one chain, one app hash per height, and
what happens when validators die, stop, come back, or lose their app mid-block."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.abci.comet_testing import free_base_port, wait_until
from tests.consensus.network import CommitLoad, Network, b64, transfer
from voxpop.chain.tx import tx_hash

pytestmark = [pytest.mark.cometbft, pytest.mark.slow]

VOXPOP = [sys.executable, "-m", "voxpop.cli.main"]


def voxpop(*args: str) -> dict[str, Any]:
    """Run the `voxpop` CLI with `-o json`; return its JSON output. Fails the test on error."""
    done = subprocess.run(
        [*VOXPOP, *args, "-o", "json"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"voxpop {' '.join(args)}: {done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_four_validators_agree_and_transfers_reach_every_node(
    tmp_path: Path, cometbft_binary: Path
) -> None:
    """Through the CLI: testnet init/up/down, transfers sent to two different nodes in commit
    mode; every node has the same blocks and app hashes, and the same balances."""
    d = tmp_path / "net"
    init = voxpop(
        "testnet", "init", "-n", "4", "--dir", str(d),
        "--base-port", str(free_base_port(4)), "--timeout-commit-ms", "300",
    )  # fmt: skip
    assert init["dev_mnemonic"] and len(init["nodes"]) == 4
    network = Network.load(d)
    apis = [node["api"] for node in init["nodes"]]
    keyring = ["--home", str(d), "--keyring-backend", "test"]
    try:
        voxpop("testnet", "up", "--dir", str(d))
        network.wait_height(2, range(4), 90)
        alice, bob = tmp_keys_addresses(2)

        sent = voxpop("tx", "bank", "send", "dev", alice, "1000", "--node", apis[0], *keyring)
        assert sent["code"] == 0 and sent["height"] >= 2, sent
        # the second send reads dev's sequence from node 2: wait until it has the first block
        network.wait_height(sent["height"], [2], 30)
        again = voxpop("tx", "bank", "send", "dev", bob, "2500", "--node", apis[2], *keyring)
        assert again["code"] == 0, again
        network.wait_height(again["height"] + 2, range(4), 30)

        for i, api in enumerate(apis):
            assert voxpop("query", "account", alice, "--node", api)["balance"] == 1000, i
            assert voxpop("query", "account", bob, "--node", api)["balance"] == 2500, i
            record = network.tx_record(i, again["hash"])
            assert record is not None and record["height"] == again["height"], i

        # CometBFT's tx_search finds a payment by its recipient (indexed by default) and not by
        # its amount (not indexed: `[cometbft] index_events`)
        def search(query: str) -> list[str]:
            found = network.rpcs[1].get("tx_search", query=f'"{query}"')
            return [tx["hash"].lower() for tx in found["txs"]]

        assert search(f"transfer.recipient='{bob}'") == [again["hash"].lower()]
        assert search("transfer.amount='2500'") == []

        top = network.assert_same_chain(range(4))
        assert top >= again["height"] + 2
        # Our API's app hash after H (from block_results) is CometBFT's header app hash at H+1
        headers = network.headers(0, 1, top)
        for height in range(1, top):
            api_hashes = {network.api_app_hash(i, height) for i in range(4)}
            assert api_hashes == {headers[height + 1][1].lower()}, height
        assert {len(r.get("validators")["validators"]) for r in network.rpcs} == {4}
    finally:
        try:
            voxpop("testnet", "down", "--dir", str(d))
        finally:
            network.close()


def tmp_keys_addresses(count: int) -> list[str]:
    from voxpop.crypto.address import encode_address
    from voxpop.crypto.keys import PrivateKey

    return [encode_address(PrivateKey(os.urandom(32)).public_key.address) for _ in range(count)]


def test_kill_one_validator_under_load_then_it_catches_up(
    make_network: Callable[..., Network],
) -> None:
    """SIGKILL one of four validators (app and CometBFT) while transfers stream in: blocks go on,
    no tx committed in commit mode is lost, and the restarted node catches up and agrees."""
    network = make_network(keys=6)
    network.start()
    with CommitLoad(network, network.keys, nodes=[0, 1, 2]) as load:
        wait_until(lambda: load.count() >= 6, 60, "some committed transfers")
        network.kill(3)
        killed_at = network.height(0)
        wait_until(lambda: network.height(0) >= killed_at + 5, 30, "blocks without node3")
        committed_while_down = load.count()
        network.start(wait_height=0)
        wait_until(lambda: network.height(3) >= network.height(0) - 1, 60, "node3 to catch up")
        wait_until(lambda: load.count() >= committed_while_down + 6, 60, "load after restart")
    assert load.accepted, load.errors
    top = max(a.height for a in load.accepted)
    network.wait_height(top, range(4), 30)

    for accepted in load.accepted:
        for i in range(4):
            record = network.committed_tx(i, accepted.tx)
            assert record is not None, f"tx lost on node{i}: {tx_hash(accepted.tx).hex()}"
            assert record["height"] == accepted.height and record["result"]["code"] == 0
    common = network.assert_same_chain(range(4))
    # every node agrees on the balances the load moved (at a height all of them have)
    for key in network.keys:
        assert len({network.account(i, key, common)["balance"] for i in range(4)}) == 1


def test_two_of_four_stopped_halts_without_fork_then_one_back_resumes(
    make_network: Callable[..., Network],
) -> None:
    """With half the voting power gone there is no quorum (> 2/3): the chain halts, no node
    commits anything different; with three of four back it resumes and commits what waited."""
    network = make_network(keys=2)
    network.start(wait_height=3)
    network.stop_node(2)
    network.stop_node(3)
    time.sleep(1.0)  # a height in flight may still finish with the votes already cast
    halted = network.height(0)
    waiting = transfer(network.chain_id, network.keys[0], network.keys[1].public_key.address, 7, 0)
    reply = network.api[0].post("/v1/txs", json={"tx": b64(waiting), "mode": "sync"})
    assert reply.status_code == 200 and reply.json()["code"] == 0, reply.text

    # several timeout periods (timeout_commit 300 ms; propose 3 s, prevote/precommit 1 s)
    time.sleep(8.0)
    assert network.height(0) == halted and network.height(1) == halted
    assert network.committed_tx(0, waiting) is None
    network.assert_same_chain([0, 1], hi=halted)

    network.start(wait_height=0)  # only node2 and node3 are not running: bring back node2 only
    network.stop_node(3)
    wait_until(lambda: network.height(0) >= halted + 3, 90, "the chain to resume")
    wait_until(lambda: network.committed_tx(1, waiting) is not None, 30, "the waiting tx")
    network.wait_height(network.height(0), [0, 1, 2], 30)
    network.assert_same_chain([0, 1, 2])


def test_kill_9_app_mid_block_replays_to_the_same_app_hash(
    make_network: Callable[..., Network],
) -> None:
    """Kill -9 a validator's Python process (its app) while CometBFT waits for FinalizeBlock of
    a big block: on restart the handshake replays what the app had not committed, and its app
    hash at every height matches the other nodes'."""
    network = make_network(keys=40)
    network.start()
    victim = 1
    comet_log = network.net.nodes[victim].node_home.cometbft_dir / "cometbft.log"
    # Big blocks keep FinalizeBlock busy: each of three nodes is fed transfers from its own
    # accounts (so each account's sequence order holds), 100 per batch, until the test ends.
    stop = threading.Event()

    def feed(node: int, keys: range) -> None:
        txs = [
            transfer(network.chain_id, network.keys[k], network.keys[0].public_key.address, 1, s)
            for s in range(150)
            for k in keys
        ]
        for start in range(0, len(txs), 100):
            if stop.is_set():
                return
            chunk = [b64(t) for t in txs[start : start + 100]]
            with contextlib.suppress(httpx.HTTPError):
                network.api[node].post("/v1/txs/batch", json={"txs": chunk})

    feeders = [
        threading.Thread(target=feed, args=(node, range(j * 13, j * 13 + 13)), daemon=True)
        for j, node in enumerate((0, 2, 3))
    ]
    for feeder in feeders:
        feeder.start()
    replays: list[tuple[int, int]] = []
    try:
        for _attempt in range(5):
            before = comet_log.stat().st_size
            wait_until(lambda: in_commit_step(network, victim), 30, "node1 mid-block")
            network.kill(victim, cometbft_too=False)  # CometBFT follows (PR_SET_PDEATHSIG)
            network.start(wait_height=0)

            def handshake_logged(at: int = before) -> bool:
                return replay_line(comet_log, at) is not None

            wait_until(handshake_logged, 60, "the handshake")
            # back in consensus before it is killed again (not while it starts or block-syncs)
            wait_until(
                lambda: network.height(victim) >= network.height(0) - 1 > 0, 60, "node1 to catch up"
            )
            replay = replay_line(comet_log, before)
            assert replay is not None
            replays.append(replay)
            if replay[0] < replay[1]:
                break  # caught it mid-block: the app was behind the block store
    finally:
        stop.set()
        for feeder in feeders:
            feeder.join(timeout=60)
    app_height, store_height = replays[-1]
    assert app_height < store_height, f"never killed mid-block: {replays}"

    network.wait_height(store_height + 3, range(4), 60)
    top = network.assert_same_chain(range(4))
    for height in range(max(1, app_height - 2), top):
        assert len({network.api_app_hash(i, height) for i in range(4)}) == 1, height
    # Compare at one height every node has: the latest blocks may still differ by one
    for key in network.keys[:3]:
        assert len({network.account(i, key, top - 1)["balance"] for i in range(4)}) == 1


def in_commit_step(network: Network, i: int) -> bool:
    """True if node i's CometBFT has stored a block its app has not committed yet (it is in
    FinalizeBlock or Commit): the block store's height (`status`, which takes no lock) is above
    the app's last committed height (`abci_info`, answered by the app), read in that order."""
    rpc = network.rpcs[i]
    try:
        app_height = int(rpc.get("abci_info")["response"].get("last_block_height", 0))
        store_height = int(rpc.get("status")["sync_info"]["latest_block_height"])
    except Exception:
        return False
    return store_height > app_height > 0


def replay_line(log: Path, offset: int) -> tuple[int, int] | None:
    """(appHeight, storeHeight) of the first handshake logged after `offset` in cometbft.log."""
    text = log.read_bytes()[offset:].decode(errors="replace")
    m = re.search(r"ABCI Replay Blocks\s.*appHeight=(\d+).*storeHeight=(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None
