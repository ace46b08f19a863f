"""The API over a real node that is slow to make blocks and has a tiny mempool: a commit that
times out is a 202, and a full mempool a 503 (and a coded result in a batch)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.txs import ALICE, ALICE_ADDR, BOB, FUNDS, account, b64, signed_send, wait_for_tx
from voxpop.chain.tx import tx_hash
from voxpop.client.testing import LocalNode
from voxpop.node.config import NodeConfig

pytestmark = pytest.mark.slow


def slow_small(config: NodeConfig) -> None:
    config.solo.commit_timeout_s = 1
    config.mempool.max_txs = 2


@pytest.fixture
def slow_node(tmp_path: Path) -> Iterator[LocalNode]:
    with LocalNode.start(
        tmp_path / "node", funds={ALICE_ADDR: FUNDS}, block_interval_ms=6000, configure=slow_small
    ) as running:
        yield running


def test_commit_timeout_and_full_mempool(slow_node: LocalNode) -> None:
    with httpx.Client(base_url=slow_node.url, timeout=30) as http:
        # A first block now, so the next one is a whole interval away
        first = signed_send(ALICE, BOB, 1, 0)
        assert http.post("/v1/txs", json={"tx": b64(first)}).status_code == 200
        wait_for_tx(http, tx_hash(first).hex())
        tx1, tx2, tx3, tx4 = (signed_send(ALICE, BOB, 1, s) for s in (1, 2, 3, 4))

        resp = http.post("/v1/txs", json={"tx": b64(tx1), "mode": "commit"})
        assert resp.status_code == 202, resp.text
        body = resp.json()
        assert (body["code"], body["error"], body["height"]) == (142, "commit_timeout", 0)

        assert http.post("/v1/txs", json={"tx": b64(tx2)}).status_code == 200
        resp = http.post("/v1/txs", json={"tx": b64(tx3)})
        assert resp.status_code == 503, resp.text
        assert resp.json()["error"]["code"] == "mempool_full"
        assert resp.headers["retry-after"] == "1"
        results = http.post("/v1/txs/batch", json={"txs": [b64(tx3), b64(tx4)]}).json()["results"]
        assert [r["error"] for r in results] == ["mempool_full", "mempool_full"]

        # The accepted ones are committed with the next block
        assert wait_for_tx(http, tx_hash(tx2).hex(), timeout=15)["result"]["code"] == 0
        assert account(http, ALICE_ADDR)["sequence"] == 3


async def test_stop_with_open_stream(slow_node: LocalNode) -> None:
    """SIGTERM while a client follows the live feed: the node still stops promptly and cleanly."""
    async with (
        httpx.AsyncClient(base_url=slow_node.url, timeout=30) as http,
        http.stream("GET", "/v1/stream") as resp,
    ):
        assert resp.status_code == 200
        started = time.monotonic()
        slow_node.process.terminate()
        try:
            code = await asyncio.to_thread(slow_node.process.wait, 10)
        except subprocess.TimeoutExpired:
            pytest.fail("the node did not stop within 10 s with a stream open")
        assert code == 0, slow_node.log()
        assert time.monotonic() - started < 4
        async for _ in resp.aiter_lines():
            pass  # the server ended the stream
