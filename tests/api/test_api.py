"""The HTTP API against a real solo node process: every endpoint, every error code.

Each refused request is checked to leave the chain as it was (tip, mempool, accounts).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import cbor2
import httpx
import pytest

from tests.api.txs import (
    ALICE,
    ALICE_ADDR,
    BOB,
    BOB_ADDR,
    CAROL,
    CAROL_ADDR,
    FUNDS,
    account,
    b64,
    commit,
    send_committed,
    signed_send,
    snapshot,
    wait_for_tx,
)
from voxpop.chain.encoding import decode_uint, encode
from voxpop.chain.modules.bank.state import balance_key
from voxpop.chain.tx import tx_hash
from voxpop.client import verify_block, verify_entry
from voxpop.client._core import parse_block, parse_signed_header
from voxpop.client.testing import DEFAULT_CHAIN_ID, LocalNode
from voxpop.crypto import PrivateKey

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def first_block(node: LocalNode) -> None:
    """The chain makes blocks only for txs: commit one so every test has state to read."""
    with httpx.Client(base_url=node.url, timeout=60) as http:
        send_committed(http, CAROL, BOB, 1)


def error_of(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    err: dict[str, Any] = resp.json()["error"]
    assert err["code"] == code, err
    assert set(err) == {"code", "numeric_code", "codespace", "message"}
    assert err["message"]
    return err


# --- status, docs -----------------------------------------------------------------------------


def test_status(http: httpx.Client, node: LocalNode) -> None:
    status = http.get("/v1/status").json()
    assert status["chain_id"] == DEFAULT_CHAIN_ID
    assert status["node_mode"] == "solo"
    assert status["latest_height"] >= 1
    assert len(bytes.fromhex(status["latest_app_hash"])) == 32
    genesis = json.loads((node.home / "config" / "genesis.json").read_text())
    validator = base64.b64decode(genesis["validators"][0]["pub_key"]["value"])
    assert status["validator_pub_keys"] == [validator.hex()]


def test_openapi_and_docs(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    for path in ("/v1/txs", "/v1/txs/batch", "/v1/accounts/{address}", "/v1/stream", "/v1/query"):
        assert path in spec["paths"]
    docs = http.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


# --- txs --------------------------------------------------------------------------------------


def test_broadcast_commit_and_read_back(http: httpx.Client) -> None:
    before_alice, before_bob = account(http, ALICE_ADDR), account(http, BOB_ADDR)
    tx = signed_send(ALICE, BOB, 1_500_000, before_alice["sequence"], memo="hello")
    result = commit(http, tx)
    assert result["hash"] == tx_hash(tx).hex()
    assert result["error"] is None and result["gas_used"] > 0
    assert result["gas_wanted"] == 100_000
    assert any(e["type"] == "tx" for e in result["events"])
    height = result["height"]

    record = http.get(f"/v1/txs/{result['hash']}").json()
    assert record["height"] == height and record["tx"] == b64(tx)
    assert record["result"]["code"] == 0 and record["result"]["error"] is None
    # The messages, in the JSON shape their declarations give
    value = {"from": ALICE_ADDR, "to": BOB_ADDR, "amount": 1_500_000}
    assert record["msgs"] == [{"type": "bank/Send", "value": value}]
    # Upper-case hashes name the same tx
    assert http.get(f"/v1/txs/{result['hash'].upper()}").json() == record

    block = http.get(f"/v1/blocks/{height}").json()
    assert block["header"]["height"] == height
    assert block["txs"][record["index"]] == b64(tx)
    assert block["results"][record["index"]]["code"] == 0
    assert len(block["results"]) == len(block["txs"]) == block["header"]["num_txs"]
    status = http.get("/v1/status").json()
    keys = {bytes.fromhex(k) for k in status["validator_pub_keys"]}
    verify_block(parse_block(block), height=height, chain_id=DEFAULT_CHAIN_ID, trusted_keys=keys)
    latest = http.get("/v1/blocks/latest").json()
    assert latest["header"]["height"] >= height
    # The signed header alone: the block's header, hash and signature, none of its txs
    signed = http.get(f"/v1/blocks/{height}/header").json()
    assert set(signed) == {"header", "hash", "signature", "signer_pub_key"}
    assert {k: block[k] for k in signed} == signed
    verify_block(
        parse_signed_header(signed), height=height, chain_id=DEFAULT_CHAIN_ID, trusted_keys=keys
    )
    assert http.get("/v1/blocks/999999/header").json()["error"]["code"] == "block_not_found"

    after_alice, after_bob = account(http, ALICE_ADDR), account(http, BOB_ADDR)
    assert after_bob["balance"] == before_bob["balance"] + 1_500_000
    assert after_alice["balance"] == before_alice["balance"] - 1_500_000 - 100
    assert after_alice["sequence"] == before_alice["sequence"] + 1
    assert after_alice["pub_key"] == ALICE.public_key.raw.hex()
    # The previous height still shows the old state
    old = http.get(f"/v1/accounts/{BOB_ADDR}", params={"height": height - 1}).json()
    assert old["balance"] == before_bob["balance"] and old["height"] == height - 1


def test_broadcast_sync(http: httpx.Client) -> None:
    sequence = account(http, ALICE_ADDR)["sequence"]
    tx = signed_send(ALICE, BOB, 7, sequence)
    resp = http.post("/v1/txs", json={"tx": b64(tx), "mode": "sync"})
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["code"] == 0 and result["height"] == 0 and result["hash"] == tx_hash(tx).hex()
    record = wait_for_tx(http, result["hash"])
    assert record["result"]["code"] == 0
    # sync is the default mode
    tx2 = signed_send(ALICE, BOB, 7, sequence + 1)
    assert http.post("/v1/txs", json={"tx": b64(tx2)}).json()["height"] == 0
    wait_for_tx(http, tx_hash(tx2).hex())


def _rejections() -> list[tuple[str, int, Callable[[int], bytes]]]:
    stranger = PrivateKey(bytes([99]) * 32)  # no account, no funds
    return [
        ("insufficient_funds", 60, lambda s: signed_send(ALICE, BOB, FUNDS * 10, s)),
        ("insufficient_funds", 60, lambda s: signed_send(stranger, BOB, 1, 0)),
        ("wrong_sequence", 22, lambda s: signed_send(ALICE, BOB, 1, s + 5)),
        ("wrong_chain_id", 20, lambda s: signed_send(ALICE, BOB, 1, s, chain_id="other")),
        ("insufficient_fee", 40, lambda s: signed_send(ALICE, BOB, 1, s, fee=99)),
        ("gas_limit_too_high", 42, lambda s: signed_send(ALICE, BOB, 1, s, gas=10**9, fee=10**6)),
        ("out_of_gas", 41, lambda s: signed_send(ALICE, BOB, 1, s, gas=10, fee=1)),
        ("invalid_amount", 7, lambda s: signed_send(ALICE, BOB, 0, s)),
        (
            "unauthorized",
            23,
            lambda s: signed_send(ALICE, BOB, 1, s, sender=CAROL.public_key.address),
        ),
        ("memo_too_large", 9, lambda s: signed_send(ALICE, BOB, 1, s, memo="x" * 300)),
        ("invalid_signature", 21, lambda s: _bad_signature(signed_send(ALICE, BOB, 1, s))),
        ("tx_decode", 2, lambda s: b"\xa0"),
        ("tx_decode", 2, lambda s: b""),
    ]


def _bad_signature(tx: bytes) -> bytes:
    doc = cbor2.loads(tx)
    doc["sig"] = bytes([doc["sig"][0] ^ 1]) + doc["sig"][1:]
    return encode(doc)


@pytest.mark.parametrize(("code", "numeric", "make"), _rejections())
@pytest.mark.parametrize("mode", ["sync", "commit"])
def test_invalid_tx_rejected_by_check_tx(
    http: httpx.Client, code: str, numeric: int, make: Callable[[int], bytes], mode: str
) -> None:
    before = snapshot(http)
    tx = make(before[3]["sequence"])
    err = error_of(http.post("/v1/txs", json={"tx": b64(tx), "mode": mode}), 400, code)
    assert err["numeric_code"] == numeric and err["codespace"] == "voxpop"
    assert snapshot(http) == before
    if tx:
        error_of(http.get(f"/v1/txs/{tx_hash(tx).hex()}"), 404, "tx_not_found")


def test_batch(http: httpx.Client) -> None:
    before_bob = account(http, BOB_ADDR)["balance"]
    sequence = account(http, ALICE_ADDR)["sequence"]
    txs = [
        signed_send(ALICE, BOB, 10, sequence),
        b"\xa0",
        signed_send(ALICE, BOB, 20, sequence + 1),
        signed_send(ALICE, BOB, 30, sequence),  # the sequence is taken by the first
        signed_send(ALICE, BOB, FUNDS * 10, sequence + 2),
    ]
    resp = http.post("/v1/txs/batch", json={"txs": [b64(t) for t in txs]})
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["hash"] for r in results] == [tx_hash(t).hex() for t in txs]
    assert [(r["code"], r["error"]) for r in results] == [
        (0, None),
        (2, "tx_decode"),
        (0, None),
        (22, "wrong_sequence"),
        (60, "insufficient_funds"),
    ]
    assert all(r["height"] == 0 for r in results)
    for r in (results[0], results[2]):
        assert wait_for_tx(http, r["hash"])["result"]["code"] == 0
    assert account(http, BOB_ADDR)["balance"] == before_bob + 30
    assert account(http, ALICE_ADDR)["sequence"] == sequence + 2


def test_batch_many(http: httpx.Client) -> None:
    sequence = account(http, CAROL_ADDR)["sequence"]
    txs = [signed_send(CAROL, BOB, 1, sequence + i) for i in range(500)]
    results = http.post("/v1/txs/batch", json={"txs": [b64(t) for t in txs]}).json()["results"]
    assert [r["code"] for r in results] == [0] * 500
    wait_for_tx(http, results[-1]["hash"])
    assert account(http, CAROL_ADDR)["sequence"] == sequence + 500


# --- accounts, queries, proofs ----------------------------------------------------------------


def test_account_unknown_address_is_empty(http: httpx.Client) -> None:
    from voxpop.crypto import encode_address

    nobody = encode_address(bytes([0xAA]) * 20)
    data = http.get(f"/v1/accounts/{nobody}").json()
    assert data == {
        "address": nobody,
        "balance": 0,
        "sequence": 0,
        "pub_key": None,
        "height": data["height"],
        "proof": None,
    }


def test_account_with_proofs(http: httpx.Client) -> None:
    data = http.get(f"/v1/accounts/{ALICE_ADDR}", params={"prove": "true"}).json()
    block = http.get(f"/v1/blocks/{data['height']}").json()
    root = bytes.fromhex(block["header"]["app_hash"])
    for name in ("balance", "account"):
        entry = data["proof"][name]
        key, value = bytes.fromhex(entry["key"]), bytes.fromhex(entry["value"])
        verify_entry(root, key, value, bytes.fromhex(entry["proof"]))
    assert decode_uint(bytes.fromhex(data["proof"]["balance"]["value"])) == data["balance"]
    assert bytes.fromhex(data["proof"]["balance"]["key"]) == balance_key(ALICE.public_key.address)


def genesis_supply(node: LocalNode) -> int:
    genesis = json.loads((node.home / "config" / "genesis.json").read_text())
    return sum(int(b["amount"]) for b in genesis["app_state"]["bank"]["balances"])


def test_query(http: httpx.Client, node: LocalNode) -> None:
    supply = http.get("/v1/query", params={"path": "/bank/supply"}).json()
    # Issuance grows the supply block by block: at one height, supply = genesis + minted - burned
    at = {"height": str(supply["height"])}

    def counter(name: str) -> int:
        value = http.get("/v1/query", params={"path": f"/bank/{name}", **at}).json()["value"]
        return decode_uint(bytes.fromhex(value)) if value else 0

    assert decode_uint(bytes.fromhex(supply["value"])) == (
        genesis_supply(node) + counter("minted") - counter("burned")
    )
    assert supply["proof"] == "" and supply["key"] == b"bank/supply".hex()
    key = balance_key(ALICE.public_key.address)
    raw = http.get("/v1/query", params={"path": "/store", "data": key.hex(), "prove": "true"})
    entry = raw.json()
    assert decode_uint(bytes.fromhex(entry["value"])) == account(http, ALICE_ADDR)["balance"]
    block = http.get(f"/v1/blocks/{entry['height']}").json()
    verify_entry(
        bytes.fromhex(block["header"]["app_hash"]),
        key,
        bytes.fromhex(entry["value"]),
        bytes.fromhex(entry["proof"]),
    )
    absent = http.get(
        "/v1/query", params={"path": "/bank/balance", "data": "ab" * 20, "prove": "true"}
    ).json()
    assert absent["value"] == "" and absent["proof"]


# --- every error code -------------------------------------------------------------------------

ADDRESS = "vox1" + "q" * 38
ERRORS: list[tuple[str, str, dict[str, Any], int, str, int | None]] = [
    # method, path, request kwargs, status, code, numeric_code
    ("POST", "/v1/txs", {"json": {"tx": "AQI"}}, 400, "invalid_base64", None),
    ("POST", "/v1/txs", {"json": {"tx": "AQI=", "mode": "async"}}, 422, "invalid_request", None),
    ("POST", "/v1/txs", {"json": {}}, 422, "invalid_request", None),
    ("POST", "/v1/txs", {"json": {"tx": "AQI=", "extra": 1}}, 422, "invalid_request", None),
    ("POST", "/v1/txs", {"json": {"tx": 5}}, 422, "invalid_request", None),
    (
        "POST",
        "/v1/txs",
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        422,
        "invalid_request",
        None,
    ),
    ("POST", "/v1/txs", {"content": b"x" * (3 << 20)}, 413, "request_too_large", None),
    ("POST", "/v1/txs/batch", {"json": {"txs": []}}, 422, "invalid_request", None),
    ("POST", "/v1/txs/batch", {"json": {"txs": ["AAAA", "!"]}}, 400, "invalid_base64", None),
    ("POST", "/v1/txs/batch", {"json": {"txs": ["AA=="] * 10_001}}, 413, "batch_too_large", None),
    ("GET", "/v1/txs/xyz", {}, 400, "invalid_hash", None),
    ("GET", "/v1/txs/" + "00" * 32, {}, 404, "tx_not_found", None),
    ("GET", "/v1/accounts/" + ADDRESS, {}, 400, "invalid_address", None),
    ("GET", "/v1/accounts/cosmos1abc", {}, 400, "invalid_address", None),
    ("GET", f"/v1/accounts/{ALICE_ADDR}", {"params": {"height": -1}}, 422, "invalid_request", None),
    (
        "GET",
        f"/v1/accounts/{ALICE_ADDR}",
        {"params": {"height": "x"}},
        422,
        "invalid_request",
        None,
    ),
    (
        "GET",
        f"/v1/accounts/{ALICE_ADDR}",
        {"params": {"prove": "maybe"}},
        422,
        "invalid_request",
        None,
    ),
    (
        "GET",
        f"/v1/accounts/{ALICE_ADDR}",
        {"params": {"height": 10**9}},
        404,
        "height_not_available",
        102,
    ),
    ("GET", "/v1/blocks/0", {}, 400, "invalid_height", None),
    ("GET", "/v1/blocks/-3", {}, 400, "invalid_height", None),
    ("GET", "/v1/blocks/first", {}, 400, "invalid_height", None),
    ("GET", "/v1/blocks/99999999", {}, 404, "block_not_found", None),
    ("GET", "/v1/query", {}, 422, "invalid_request", None),
    (
        "GET",
        "/v1/query",
        {"params": {"path": "/bank/supply", "data": "0"}},
        400,
        "invalid_hex",
        None,
    ),
    ("GET", "/v1/query", {"params": {"path": "/nope/x"}}, 404, "unknown_query", 100),
    (
        "GET",
        "/v1/query",
        {"params": {"path": "/bank/balance", "data": "00"}},
        400,
        "invalid_query",
        101,
    ),
    ("GET", "/v1/query", {"params": {"path": "/store"}}, 400, "invalid_query", 101),
    (
        "GET",
        "/v1/query",
        {"params": {"path": "/bank/supply", "height": 10**9}},
        404,
        "height_not_available",
        102,
    ),
    ("GET", "/v1/stream", {"params": {"kinds": "blocks"}}, 422, "invalid_request", None),
    ("GET", "/v1/nothing", {}, 404, "not_found", None),
    ("DELETE", "/v1/status", {}, 405, "method_not_allowed", None),
    ("GET", "/v1/txs", {}, 405, "method_not_allowed", None),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code", "numeric"), ERRORS)
def test_invalid_request_errors(
    http: httpx.Client,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
    numeric: int | None,
) -> None:
    before = snapshot(http)
    err = error_of(http.request(method, path, **kwargs), status, code)
    assert err["numeric_code"] == numeric
    assert err["codespace"] == ("voxpop" if numeric else "api")
    assert snapshot(http) == before


def test_invalid_body_too_large_without_length(http: httpx.Client) -> None:
    def chunks() -> Any:
        for _ in range(64):
            yield b"x" * 65536

    before = snapshot(http)
    error_of(http.post("/v1/txs", content=chunks()), 413, "request_too_large")
    assert snapshot(http) == before


# --- live feeds -------------------------------------------------------------------------------


async def test_stream_receives_block_and_tx(node: LocalNode) -> None:
    async with httpx.AsyncClient(base_url=node.url, timeout=30) as http:
        seen: dict[str, dict[str, Any]] = {}
        subscribed = asyncio.Event()

        async def listen() -> None:
            async with http.stream("GET", "/v1/stream") as resp:
                assert resp.status_code == 200
                assert resp.headers["content-type"].startswith("text/event-stream")
                subscribed.set()  # the node subscribes the feed before it answers
                kind = None
                async for line in resp.aiter_lines():
                    if line.startswith("event:"):
                        kind = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and kind:
                        seen.setdefault(kind, json.loads(line[5:]))
                    if {"block", "tx"} <= set(seen):
                        return

        listener = asyncio.create_task(listen())
        # The tx only after the feed is subscribed (a fixed 0.5 s could be too short when loaded)
        await asyncio.wait_for(subscribed.wait(), 30)
        account_resp = await http.get(f"/v1/accounts/{ALICE_ADDR}")
        tx = signed_send(ALICE, BOB, 3, account_resp.json()["sequence"])
        resp = await http.post("/v1/txs", json={"tx": b64(tx), "mode": "commit"})
        assert resp.status_code == 200
        await asyncio.wait_for(listener, 15)
    block, tx_event = seen["block"], seen["tx"]
    assert set(block) == {"height", "hash", "header", "signature", "signer_pub_key"}
    assert block["header"]["height"] == block["height"]
    assert tx_event["hash"] == tx_hash(tx).hex() and tx_event["result"]["code"] == 0


async def test_websocket_receives_a_block(node: LocalNode) -> None:
    websockets = pytest.importorskip("websockets")  # uvicorn serves WebSockets only with it
    url = node.url.replace("http://", "ws://") + "/v1/ws?kinds=block"
    async with websockets.connect(url) as ws, httpx.AsyncClient(base_url=node.url) as http:
        await asyncio.sleep(0.2)
        sequence = (await http.get(f"/v1/accounts/{ALICE_ADDR}")).json()["sequence"]
        tx = signed_send(ALICE, BOB, 4, sequence)
        result = (await http.post("/v1/txs", json={"tx": b64(tx), "mode": "commit"})).json()
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 15))
            assert message["event"] == "block"
            if message["data"]["height"] == result["height"]:
                break
