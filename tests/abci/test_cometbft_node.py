"""One validator under a real CometBFT with the kv test app: blocks, txs, app hashes, restarts."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.abci.comet_testing import Processes, Rpc, free_base_port, node_env, pid_alive, wait_until
from tests.abci.kvapp import KVApp
from voxpop.chain.abci import RequestQuery
from voxpop.chain.errors import CODESPACE, TxInMempoolError
from voxpop.node.cometbft.service import CometNodeService
from voxpop.node.cometbft.supervisor import run_cometbft_node_async
from voxpop.node.service import BroadcastMode
from voxpop.node.testnet import LocalNode, init_testnet, node_command

pytestmark = [pytest.mark.cometbft, pytest.mark.slow]


def one_node(tmp_path: Path, **kv: str) -> LocalNode:
    net = init_testnet(
        1,
        tmp_path / "net",
        app_state={"kv": kv},
        base_port=free_base_port(1),
        timeout_commit_ms=200,
    )
    return net.nodes[0]


async def test_single_node_commits_txs_and_hashes_match(
    tmp_path: Path, cometbft_binary: Path
) -> None:
    node = one_node(tmp_path, genesis="yes")
    home = node.node_home
    app = KVApp(home.state_dir / "kvapp.json")
    seen: dict[str, Any] = {}

    async def scenario(service: CometNodeService) -> None:
        """Runs as the node's API task; returning stops the node."""
        await service.wait_for_height(2, timeout=30)
        events = service.subscribe()
        first_event = asyncio.ensure_future(anext(events))
        seen["commit"] = await service.broadcast_tx(b"name=voxpop", BroadcastMode.COMMIT)
        seen["bad"] = await service.broadcast_tx(b"no equals sign", BroadcastMode.SYNC)
        seen["again"] = await service.broadcast_tx(b"name=voxpop", BroadcastMode.SYNC)
        seen["batch"] = await service.broadcast_txs([b"a=1", b"b=2", b"bad"])
        seen["first_event"] = await asyncio.wait_for(first_event, 10)
        # follow the stream until both batch txs have been committed
        committed: set[bytes] = set()
        async with asyncio.timeout(20):
            async for event in events:
                if event.kind == "tx" and event.tx is not None:
                    committed.add(event.tx.tx)
                if {b"a=1", b"b=2"} <= committed:
                    break
        await events.aclose()
        seen["status"] = await asyncio.to_thread(service.status)
        seen["block"] = await asyncio.to_thread(service.get_block, seen["commit"].height)
        seen["tx"] = await asyncio.to_thread(service.get_tx, seen["commit"].tx_hash)
        seen["missing_tx"] = await asyncio.to_thread(service.get_tx, b"\x00" * 32)
        seen["future_block"] = await asyncio.to_thread(service.get_block, 10**6)
        seen["query"] = await asyncio.to_thread(service.query, RequestQuery("/key", b"a"))
        rpc = Rpc(service.rpc_url)
        try:
            seen["rpc_status"] = (await asyncio.to_thread(rpc.get, "status"))["sync_info"]
        finally:
            rpc.close()

    started = time.monotonic()
    code = await asyncio.wait_for(
        run_cometbft_node_async(home, app=app, api=scenario, binary=cometbft_binary), 120
    )
    assert code == 0
    assert time.monotonic() - started < 60

    commit = seen["commit"]
    assert commit.code == 0 and commit.height >= 2
    assert commit.tx_hash == hashlib.sha256(b"name=voxpop").digest()
    assert commit.events[0].attr("key") == "name"
    assert (seen["bad"].code, seen["bad"].codespace) == (1, "kv")
    assert (seen["again"].code, seen["again"].codespace) == (TxInMempoolError.code, CODESPACE)
    assert [r.code for r in seen["batch"]] == [0, 0, 1]
    assert seen["first_event"].kind == "block"

    # The app hash after each block, as the app computed it, is what CometBFT reports.
    status = seen["status"]
    assert status.node_mode == "cometbft"
    assert status.latest_app_hash == app.hashes[status.latest_height]
    assert len(status.validator_pub_keys) == 1
    rpc_height = int(seen["rpc_status"]["latest_block_height"])
    header_app_hash = bytes.fromhex(seen["rpc_status"]["latest_app_hash"])
    assert header_app_hash == app.hashes[rpc_height - 1]  # a header carries the previous root

    block = seen["block"]
    assert b"name=voxpop" in block.txs
    assert block.header.app_hash == app.hashes[commit.height]
    assert seen["tx"].height == commit.height and seen["tx"].tx == b"name=voxpop"
    assert seen["missing_tx"] is None
    assert seen["future_block"] is None
    assert seen["query"].value == b"1"

    # The ABCI order: handshake, InitChain, then per block proposal(s), finalize, commit.
    assert app.calls[:2] == ["info", "init_chain"]
    decided = [c for c in app.calls if c in ("finalize_block", "commit")]
    assert decided == ["finalize_block", "commit"] * app.height
    since_commit: list[str] = []
    for call in app.calls:
        if call == "finalize_block":
            assert "process_proposal" in since_commit  # a lone validator also checks its own
        since_commit = [] if call == "commit" else [*since_commit, call]
    assert app.kv["genesis"] == "yes"


def start_node(processes: Processes, node: LocalNode, **env: str) -> Any:
    home = node.node_home
    processes.watch_pid_file(home.cometbft_dir / "cometbft.pid")
    return processes.start(
        node_command(home, "kvapp:open_app", serve_api=False),
        Path(node.home) / "node.log",
        node_env(**env),
    )


@pytest.mark.parametrize("persist_every", ["10", "1000"])
def test_kill_9_and_restart_replays_to_the_same_app_hashes(
    tmp_path: Path,
    cometbft_binary: Path,
    processes: Processes,
    rpc_to: Callable[[str], Rpc],
    persist_every: str,
) -> None:
    node = one_node(tmp_path)
    home = node.node_home
    rpc = rpc_to(node.rpc_url)
    # The app writes its state only every 10 heights (or never, for 1000), so after kill -9 it is
    # behind the block store and CometBFT must replay the difference in the handshake (after
    # InitChain again when the app is back at height 0).
    proc = start_node(processes, node, KVAPP_PERSIST_EVERY=persist_every)
    wait_until(lambda: rpc.height() >= 3, 60, "height 3")
    for i in range(5):
        assert rpc.broadcast(f"k{i}=v{i}".encode())["code"] == 0
    # kill where the next block or two cannot reach a multiple of 10 (a save of the app state)
    wait_until(lambda: (h := rpc.height()) >= 13 and h % 10 not in (8, 9, 0), 60, "height 13+")
    cometbft_pid = int((home.cometbft_dir / "cometbft.pid").read_text())

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    # CometBFT follows its parent (PR_SET_PDEATHSIG).
    wait_until(lambda: not pid_alive(cometbft_pid), 30, "the orphaned CometBFT to exit")
    state_file = home.state_dir / "kvapp.json"
    saved_height = json.loads(state_file.read_text())["height"] if state_file.exists() else 0
    assert saved_height % int(persist_every) == 0

    log_path = home.cometbft_dir / "cometbft.log"
    log_before = log_path.stat().st_size
    proc = start_node(processes, node, KVAPP_PERSIST_EVERY=persist_every)
    wait_until(lambda: rpc.height() >= 1, 60, "CometBFT to answer after the restart")

    # The handshake found the app behind the store and replayed the difference.
    log_after = log_path.read_bytes()[log_before:].decode(errors="replace")
    replay = re.search(r"ABCI Replay Blocks\s.*appHeight=(\d+).*storeHeight=(\d+)", log_after)
    assert replay is not None, "no handshake replay in cometbft.log"
    app_height, store_height = int(replay.group(1)), int(replay.group(2))
    assert app_height == saved_height
    assert app_height < store_height
    wait_until(lambda: rpc.height() >= store_height + 3, 60, "blocks after the restart")
    cometbft_pid = int((home.cometbft_dir / "cometbft.pid").read_text())

    latest = rpc.height()
    for height in range(1, latest):
        assert rpc.app_hash_at(height) == rpc.header_app_hash(height + 1), height
        assert rpc.app_hash_at(height) == rpc.results_app_hash(height), height
    assert base64_value(rpc.app_query("/key", b"k4")) == b"v4"

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not (home.cometbft_dir / "cometbft.pid").exists()
    assert not pid_alive(cometbft_pid)


def test_node_stops_when_cometbft_dies(
    tmp_path: Path, cometbft_binary: Path, processes: Processes, rpc_to: Callable[[str], Rpc]
) -> None:
    node = one_node(tmp_path)
    home = node.node_home
    rpc = rpc_to(node.rpc_url)
    proc = start_node(processes, node)
    wait_until(lambda: rpc.height() >= 2, 60, "height 2")
    cometbft_pid = int((home.cometbft_dir / "cometbft.pid").read_text())
    os.kill(cometbft_pid, signal.SIGKILL)
    assert proc.wait(timeout=30) != 0  # the node notices and exits with CometBFT's status


def base64_value(response: dict[str, Any]) -> bytes:
    import base64

    return base64.b64decode(response["value"])
