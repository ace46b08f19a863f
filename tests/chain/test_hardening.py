"""Issue 6's findings on the tx path, each reproduced against the real app or a real node."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import httpx
import pytest

from tests.api.txs import ALICE, ALICE_ADDR, BOB, FUNDS, signed_send
from tests.chain.harness import CHAIN_ID, Chain, key
from tests.chain.test_grant import REGISTRAR, claim, identity
from voxpop.chain import errors
from voxpop.chain.modules.auth.ante import FEE_EXEMPT_MAX_GAS
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.tx import TX_VERSION, make_body
from voxpop.chain.txcache import TxCache
from voxpop.client.testing import LocalNode
from voxpop.crypto.keys import PrivateKey


@pytest.fixture
def gchain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain.start(
        tmp_path / "h", [(key(1), 10**12)], registrars=[(REGISTRAR.public_key.raw, "reg")]
    )
    yield c
    c.app.store.close()


def signed(
    signer: PrivateKey, value: dict[Any, Any], *, sequence: int = 0, gas: int = 100_000
) -> bytes:
    """A correctly signed tx carrying `value` as its one bank/Send message, whatever it holds."""
    body = make_body(
        chain_id=CHAIN_ID,
        pub_key=signer.public_key.raw,
        sequence=sequence,
        fee=AuthParams().min_fee(gas),
        gas_limit=gas,
        msgs=[],
    ).to_value()
    body["msgs"] = [{"type": "bank/Send", "value": value}]
    sign_bytes = b"voxpop/tx/v1\n" + cbor2.dumps(body, canonical=True)
    return cbor2.dumps(
        {"v": TX_VERSION, "body": body, "sig": signer.sign(sign_bytes)}, canonical=True
    )


# --- finding 3: memory from rejected txs -------------------------------------------------------


def test_finding3_preverify_keeps_only_verified_txs(gchain: Chain) -> None:
    alice = key(1)
    good = gchain.tx(
        alice, [("bank/Send", {"from": alice.public_key.address, "to": b"\x01" * 20, "amount": 5})]
    )
    bad_sig = bytearray(good)
    bad_sig[20] ^= 1  # inside the signature
    oversize = signed(
        alice,
        {"from": alice.public_key.address, "to": b"\x01" * 20, "amount": 5, "pad": b"x" * 40_000},
    )
    assert len(oversize) > AuthParams().max_tx_bytes
    gchain.app.preverify([bytes(bad_sig), oversize, b"\xa0" * 1000])
    assert len(gchain.app.tx_cache) == 0
    gchain.app.preverify([good])
    assert len(gchain.app.tx_cache) == 1
    # The cached verdict is used, and the tx still runs the whole pipeline
    assert gchain.check(good).code == 0
    assert gchain.check(bytes(bad_sig)).code == errors.InvalidSignatureError.code
    assert gchain.check(oversize).code == errors.TxTooLargeError.code


def test_finding3_tx_cache_is_bounded_in_bytes(gchain: Chain) -> None:
    alice = key(1)
    cache = TxCache(size=1_000_000, max_bytes=20_000)
    for i in range(200):
        raw = gchain.tx(
            alice,
            [
                (
                    "bank/Send",
                    {"from": alice.public_key.address, "to": b"\x01" * 20, "amount": i + 1},
                )
            ],
            memo="m" * 200,
        )
        from voxpop.chain.tx import decode_tx

        cache.put(decode_tx(raw))
        assert cache.nbytes <= 20_000
    assert 0 < len(cache) < 200


@pytest.mark.slow
def test_finding3_junk_txs_do_not_grow_node_memory(tmp_path: Path) -> None:
    """240 txs of ~1 MB each (decodable, badly signed) leave the node's memory where it was."""
    junk = [
        signed(ALICE, {"from": ALICE.public_key.address, "pad": bytes([i]) * 1_000_000}, sequence=i)
        for i in range(12)
    ]
    payload = {"txs": [base64.b64encode(t).decode() for t in junk]}
    with (
        LocalNode.start(tmp_path / "node", funds={ALICE_ADDR: FUNDS}) as node,
        httpx.Client(base_url=node.url, timeout=120) as http,
    ):
        http.post("/v1/txs/batch", json=payload)  # warm up allocators and caches
        before = _rss_mib(node.process.pid)
        for _ in range(20):
            resp = http.post("/v1/txs/batch", json=payload)
            assert resp.status_code == 200, resp.text
            assert {r["error"] for r in resp.json()["results"]} == {"tx_too_large"}
        grown = _rss_mib(node.process.pid) - before
        assert grown < 100, f"RSS grew by {grown} MiB"
        # Still serving honest txs promptly
        ok = http.post(
            "/v1/txs",
            json={"tx": base64.b64encode(signed_send(ALICE, BOB, 1, 0)).decode(), "mode": "commit"},
        )
        assert ok.status_code == 200 and ok.json()["code"] == 0, ok.text


def _rss_mib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


# --- finding 2 over HTTP: one malformed tx in a batch ------------------------------------------


@pytest.mark.slow
def test_finding2_malformed_txs_in_a_batch_get_codes(tmp_path: Path) -> None:
    """100 valid txs plus a non-text-key message and a 4,400-digit version: 200, a code each."""
    valid = [signed_send(ALICE, BOB, 1, seq) for seq in range(100)]
    non_text_key = signed(
        ALICE,
        {"from": ALICE.public_key.address, "to": BOB.public_key.address, "amount": 1, 7: 0},
        sequence=100,
    )
    bignum = cbor2.dumps({"v": 10**4400, "body": {}, "sig": b"\0" * 64}, canonical=True)
    txs = [*valid[:50], non_text_key, bignum, *valid[50:]]
    with (
        LocalNode.start(tmp_path / "node", funds={ALICE_ADDR: FUNDS}) as node,
        httpx.Client(base_url=node.url, timeout=120) as http,
    ):
        resp = http.post("/v1/txs/batch", json={"txs": [base64.b64encode(t).decode() for t in txs]})
        assert resp.status_code == 200, resp.text
        results = resp.json()["results"]
        assert [r["error"] for r in results[50:52]] == ["tx_decode", "tx_decode"]
        assert all(r["code"] == 0 for r in results[:50] + results[52:])
        # The same bytes sent alone are refused with a code too, and the node keeps producing
        for raw in (non_text_key, bignum):
            one = http.post("/v1/txs", json={"tx": base64.b64encode(raw).decode()})
            assert one.status_code == 400 and one.json()["error"]["code"] == "tx_decode", one.text
        last = signed_send(ALICE, BOB, 1, 100)
        done = http.post("/v1/txs", json={"tx": base64.b64encode(last).decode(), "mode": "commit"})
        assert done.status_code == 200 and done.json()["code"] == 0, done.text


# --- finding 8: free block space ---------------------------------------------------------------


def test_finding8_fee_exempt_gas_is_capped(gchain: Chain) -> None:
    newbie = key(500)
    greedy = gchain.tx(
        newbie, [claim(gchain, newbie, identity("a"))], fee=0, gas_limit=AuthParams().max_gas_per_tx
    )
    res = gchain.check(greedy)
    assert res.code == errors.GasLimitTooHighError.code
    assert gchain.deliver(greedy).code == errors.GasLimitTooHighError.code
    assert gchain.balance(newbie) == 0 and gchain.sequence(newbie) == 0
    # At the cap a claim goes through, still for free
    fair = gchain.tx(
        newbie,
        [claim(gchain, newbie, identity("a"))],
        fee=0,
        gas_limit=FEE_EXEMPT_MAX_GAS,
        sequence=0,
    )
    assert gchain.deliver(fair).code == 0
    assert gchain.balance(newbie) > 0
