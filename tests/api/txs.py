"""Keys, and signed txs built with the SDK's helpers, for the API tests."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx

from voxpop.client import build_tx, msg_send, sign_tx
from voxpop.client.testing import DEFAULT_CHAIN_ID
from voxpop.crypto import PrivateKey, encode_address

ALICE = PrivateKey(bytes([1]) * 32)
BOB = PrivateKey(bytes([2]) * 32)
CAROL = PrivateKey(bytes([3]) * 32)
ALICE_ADDR = encode_address(ALICE.public_key.address)
BOB_ADDR = encode_address(BOB.public_key.address)
CAROL_ADDR = encode_address(CAROL.public_key.address)
FUNDS = 1_000_000_000_000
GAS = 100_000
FEE = 100  # the minimum for GAS at the default gas price (1 uvox per 1,000 gas)


def signed_send(
    key: PrivateKey,
    to: PrivateKey,
    amount: int,
    sequence: int,
    *,
    fee: int = FEE,
    gas: int = GAS,
    chain_id: str = DEFAULT_CHAIN_ID,
    memo: str = "",
    sender: bytes | None = None,
) -> bytes:
    body = build_tx(
        chain_id=chain_id,
        pub_key=key.public_key.raw,
        sequence=sequence,
        msgs=[msg_send(sender or key.public_key.address, to.public_key.address, amount)],
        fee=fee,
        gas_limit=gas,
        memo=memo,
    )
    return sign_tx(body, key)


def b64(tx: bytes) -> str:
    return base64.b64encode(tx).decode()


def account(http: httpx.Client, address: str) -> dict[str, Any]:
    """The account at the latest height; sequence 0 and balance 0 before the first block."""
    resp = http.get(f"/v1/accounts/{address}")
    if resp.status_code == 404 and resp.json()["error"]["code"] == "height_not_available":
        return {"address": address, "balance": 0, "sequence": 0, "pub_key": None, "height": 0}
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


def commit(http: httpx.Client, tx: bytes) -> dict[str, Any]:
    resp = http.post("/v1/txs", json={"tx": b64(tx), "mode": "commit"})
    assert resp.status_code == 200, resp.text
    result: dict[str, Any] = resp.json()
    assert result["code"] == 0 and result["height"] > 0, result
    return result


def send_committed(
    http: httpx.Client, key: PrivateKey, to: PrivateKey, amount: int
) -> dict[str, Any]:
    sequence = account(http, encode_address(key.public_key.address))["sequence"]
    return commit(http, signed_send(key, to, amount, sequence))


def wait_for_tx(http: httpx.Client, tx_hash: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = http.get(f"/v1/txs/{tx_hash}")
        if resp.status_code == 200:
            data: dict[str, Any] = resp.json()
            return data
        assert resp.json()["error"]["code"] == "tx_not_found"
        time.sleep(0.05)
    raise AssertionError(f"tx {tx_hash} not committed in {timeout} s")


def snapshot(http: httpx.Client) -> tuple[Any, ...]:
    """What must not change when a request is refused: the chain tip, the mempool, accounts."""
    status = http.get("/v1/status").json()
    return (
        status["latest_height"],
        status["latest_app_hash"],
        status["mempool_size"],
        account(http, ALICE_ADDR),
        account(http, BOB_ADDR),
    )
