"""Four validators on loopback, each with the kv test app: one chain, one app hash per height."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.abci.comet_testing import Rpc, free_base_port, node_env, pid_alive, wait_until
from voxpop.node.testnet import NODE_PID, init_testnet, start_testnet, stop_testnet

pytestmark = [pytest.mark.cometbft, pytest.mark.slow]

TARGET_HEIGHT = 8


def test_four_validators_agree_on_every_app_hash(
    tmp_path: Path, cometbft_binary: Path, rpc_to: Callable[[str], Rpc]
) -> None:
    net = init_testnet(
        4,
        tmp_path / "net",
        app_state={"kv": {"genesis": "yes"}},
        base_port=free_base_port(4),
        timeout_commit_ms=200,
    )
    rpcs = [rpc_to(node.rpc_url) for node in net.nodes]
    pids = start_testnet(
        tmp_path / "net", app_factory="kvapp:open_app", serve_api=False, env=node_env()
    )
    try:
        assert len(pids) == 4
        assert start_testnet(tmp_path / "net", app_factory="kvapp:open_app", env=node_env()) == pids

        wait_until(lambda: all(r.height() >= 3 for r in rpcs), 90, "all nodes at height 3")
        assert rpcs[0].broadcast(b"from=node0")["code"] == 0
        assert rpcs[3].broadcast(b"from2=node3")["code"] == 0
        wait_until(
            lambda: (
                all(r.app_query("/key", b"from2")["code"] == 0 for r in rpcs)
                and all(r.app_query("/key", b"from")["code"] == 0 for r in rpcs)
            ),
            60,
            "both txs applied on every node",
        )
        wait_until(lambda: all(r.height() >= TARGET_HEIGHT for r in rpcs), 90, "target height")

        top = min(r.height() for r in rpcs)
        validators = {len(r.get("validators")["validators"]) for r in rpcs}
        assert validators == {4}
        for height in range(1, top):
            header_hashes = {r.header_app_hash(height + 1) for r in rpcs}
            result_hashes = {r.results_app_hash(height) for r in rpcs}
            app_hashes = {r.app_hash_at(height) for r in rpcs}
            block_ids = {r.get("block", height=height)["block_id"]["hash"] for r in rpcs}
            assert len(header_hashes) == 1, height
            assert header_hashes == result_hashes == app_hashes, height
            assert len(block_ids) == 1, height
        # the tx landed in a block signed by the network, and every node reports the value
        for r in rpcs:
            assert base64.b64decode(r.app_query("/key", b"from")["value"]) == b"node0"
    finally:
        stop_testnet(tmp_path / "net")
    for node in net.nodes:
        assert not (Path(node.home) / NODE_PID).exists()
        assert not (Path(node.home) / "cometbft" / "cometbft.pid").exists()
    assert not any(pid_alive(pid) for pid in pids)
