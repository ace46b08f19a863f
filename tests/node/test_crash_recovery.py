"""kill -9 a real solo node under load; on restart nothing committed is lost and history agrees."""

from __future__ import annotations

import base64
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.nodeproc import NodeProcess
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.tx import encode_tx, make_body, tx_hash
from voxpop.crypto.keys import PrivateKey

pytestmark = pytest.mark.slow
KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(20)]
GAS = 100_000


def transfers(chain_id: str, start_seq: int, count: int) -> list[bytes]:
    out = []
    for seq in range(start_seq, start_seq + count):
        for i, k in enumerate(KEYS):
            body = make_body(
                chain_id=chain_id,
                pub_key=k.public_key.raw,
                sequence=seq,
                fee=AuthParams().min_fee(GAS),
                gas_limit=GAS,
                msgs=[
                    (
                        "bank/Send",
                        {
                            "from": k.public_key.address,
                            "to": KEYS[(i + 1) % len(KEYS)].public_key.address,
                            "amount": 1,
                        },
                    )
                ],
            )
            out.append(encode_tx(body, k.sign(body.sign_bytes())))
    return out


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeProcess]:
    n = NodeProcess.create(tmp_path / "node", [(k, 10**12) for k in KEYS], block_interval_ms=100)
    yield n
    n.kill()


def history(client: httpx.Client, url: str) -> dict[int, tuple[str, str, list[str]]]:
    height = client.get(f"{url}/v1/status").json()["latest_height"]
    out = {}
    for h in range(1, height + 1):
        b = client.get(f"{url}/v1/blocks/{h}").json()
        out[h] = (b["hash"], b["header"]["app_hash"], b["txs"])
    return out


@pytest.mark.parametrize("round_", range(3))
def test_kill_9_under_load_loses_nothing(node: NodeProcess, round_: int) -> None:
    node.start()
    txs = transfers(node.chain_id, 0, 40)  # 800 txs, submitted while we pull the plug
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=10) as c:
            for i in range(0, len(txs), 40):
                if stop.is_set():
                    return
                try:
                    c.post(
                        f"{node.url}/v1/txs/batch",
                        json={"txs": [base64.b64encode(t).decode() for t in txs[i : i + 40]]},
                    )
                except httpx.HTTPError:
                    return
                time.sleep(0.01)

    loader = threading.Thread(target=load)
    loader.start()
    time.sleep(0.3 + random.Random(round_).random())
    with httpx.Client(timeout=10) as c:
        # At least two blocks before the plug is pulled (a loaded machine makes them slower)
        deadline = time.monotonic() + 30
        while c.get(f"{node.url}/v1/status").json()["latest_height"] < 2:
            assert time.monotonic() < deadline, node.log_text()
            time.sleep(0.05)
        before = history(c, node.url)
    node.kill()
    stop.set()
    loader.join()
    assert len(before) >= 2, node.log_text()

    node.start()
    with httpx.Client(timeout=10) as c:
        after = history(c, node.url)
        # Verify every block seen before the crash is still there, byte for byte
        for h, record in before.items():
            assert after[h] == record, f"block {h} changed across the crash"
        # Every committed tx is still found by hash, with its result
        for _, _, block_txs in before.values():
            for t in block_txs:
                h = tx_hash(base64.b64decode(t)).hex()
                assert c.get(f"{node.url}/v1/txs/{h}").status_code == 200
        # The node keeps making blocks on top of the recovered state
        more = transfers(node.chain_id, 1000, 1)[:1]  # wrong sequence on purpose: rejected cleanly
        r = c.post(
            f"{node.url}/v1/txs", json={"tx": base64.b64encode(more[0]).decode(), "mode": "sync"}
        )
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "wrong_sequence"
        # ...and one with the account's recovered sequence is committed
        from voxpop.crypto.address import encode_address

        acct = c.get(f"{node.url}/v1/accounts/{encode_address(KEYS[0].public_key.address)}").json()
        body = make_body(
            chain_id=node.chain_id,
            pub_key=KEYS[0].public_key.raw,
            sequence=acct["sequence"],
            fee=AuthParams().min_fee(GAS),
            gas_limit=GAS,
            msgs=[
                (
                    "bank/Send",
                    {
                        "from": KEYS[0].public_key.address,
                        "to": KEYS[1].public_key.address,
                        "amount": 5,
                    },
                )
            ],
        )
        tx = base64.b64encode(encode_tx(body, KEYS[0].sign(body.sign_bytes()))).decode()
        r = c.post(f"{node.url}/v1/txs", json={"tx": tx, "mode": "commit"})
        assert r.status_code == 200 and r.json()["code"] == 0, r.text
    assert node.stop() == 0
