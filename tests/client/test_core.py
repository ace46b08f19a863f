"""The client's sans-I/O core: the requests each operation makes, how answers are parsed, how
errors are typed, and the txs it builds. No network: each flow is stepped by hand."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from voxpop.chain.encoding import encode
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.tx import decode_tx, tx_hash
from voxpop.client import (
    ApiError,
    NotFoundError,
    ProofVerificationError,
    ProtocolError,
    ServerError,
    TxRejectedError,
    TxWaitTimeoutError,
    build_tx,
    compute_min_fee,
    msg_send,
    sign_tx,
)
from voxpop.client import _core as core
from voxpop.crypto import AddressError, PrivateKey, encode_address, verify_signature

ALICE = PrivateKey(bytes([1]) * 32)
BOB = PrivateKey(bytes([2]) * 32)
ALICE_ADDR = encode_address(ALICE.public_key.address)
BOB_ADDR = encode_address(BOB.public_key.address)
VALIDATOR_KEY = bytes([7]) * 32

STATUS = {
    "chain_id": "voxpop-test",
    "node_mode": "solo",
    "latest_height": 4,
    "latest_block_hash": "ab" * 32,
    "latest_app_hash": "cd" * 32,
    "latest_block_time_unix": 1_700_000_000,
    "mempool_size": 0,
    "validator_pub_keys": [VALIDATOR_KEY.hex()],
    "extra": {},
}


def ok(body: Any, status: int = 200) -> core.HttpResponse:
    return core.HttpResponse(status, json.dumps(body).encode())


def error(status: int, code: str, numeric: int | None, codespace: str) -> core.HttpResponse:
    body = {
        "error": {"code": code, "numeric_code": numeric, "codespace": codespace, "message": "m"}
    }
    return ok(body, status)


def first(flow: core.Flow[Any]) -> core.HttpRequest:
    effect = next(flow)
    assert isinstance(effect, core.HttpRequest)
    return effect


def finish(flow: core.Flow[Any], answer: Any) -> Any:
    with pytest.raises(StopIteration) as done:
        flow.send(answer)
    return done.value.value


def result_json(tx: bytes, code: int = 0, height: int = 0) -> dict[str, Any]:
    return {
        "hash": tx_hash(tx).hex(),
        "code": code,
        "error": None,
        "codespace": "",
        "log": "",
        "height": height,
        "gas_wanted": 100,
        "gas_used": 50,
        "events": [{"type": "tx", "attributes": [{"key": "k", "value": "v", "index": True}]}],
    }


# --- requests ---------------------------------------------------------------------------------


def test_requests_of_simple_reads() -> None:
    assert first(core.status_flow()) == core.HttpRequest("GET", "/v1/status")
    assert first(core.block_flow(None)).path == "/v1/blocks/latest"
    assert first(core.block_flow(12)).path == "/v1/blocks/12"
    assert first(core.tx_flow("AB" * 32)).path == f"/v1/txs/{'ab' * 32}"
    assert first(core.tx_flow(bytes(32))).path == f"/v1/txs/{'00' * 32}"


def test_invalid_tx_hash_refused_before_any_request() -> None:
    with pytest.raises(ValueError):
        first(core.tx_flow("abc"))


def test_account_and_query_requests() -> None:
    req = first(core.account_flow(core.Trust(), ALICE_ADDR, 7, True))
    assert req == core.HttpRequest(
        "GET", f"/v1/accounts/{ALICE_ADDR}", params={"prove": "true", "height": "7"}
    )
    req = first(core.account_flow(core.Trust(), ALICE.public_key.address, None, False))
    assert req.path == f"/v1/accounts/{ALICE_ADDR}" and req.params == {"prove": "false"}
    req = first(core.query_flow(core.Trust(), "/bank/supply", b"\x01\xff", None, False))
    assert req.params == {"path": "/bank/supply", "data": "01ff", "prove": "false"}


def test_broadcast_requests() -> None:
    req = first(core.broadcast_flow(b"\x01\x02", "commit"))
    assert req.method == "POST" and req.path == "/v1/txs"
    assert req.json == {"tx": "AQI=", "mode": "commit"}
    req = first(core.broadcast_batch_flow([b"a", b"b"]))
    assert req.path == "/v1/txs/batch" and req.json == {"txs": ["YQ==", "Yg=="]}


# --- responses --------------------------------------------------------------------------------


def test_parse_status() -> None:
    flow = core.status_flow()
    next(flow)
    status = finish(flow, ok(STATUS))
    assert status.chain_id == "voxpop-test"
    assert status.latest_block_hash == bytes.fromhex("ab" * 32)
    assert status.validator_pub_keys == (VALIDATOR_KEY,)


def test_parse_broadcast_result() -> None:
    flow = core.broadcast_flow(b"tx", "commit")
    next(flow)
    result = finish(flow, ok(result_json(b"tx", height=5)))
    assert result.tx_hash == tx_hash(b"tx") and result.height == 5 and result.gas_used == 50
    assert result.events[0].attr("k") == "v"


def test_batch_results_must_match_the_txs() -> None:
    flow = core.broadcast_batch_flow([b"a", b"b"])
    next(flow)
    with pytest.raises(ProtocolError):
        finish(flow, ok({"results": [result_json(b"b"), result_json(b"a")]}))


def test_invalid_answers_are_protocol_errors() -> None:
    for body in (b"not json", json.dumps({"chain_id": 1}).encode(), b"[]"):
        flow = core.status_flow()
        next(flow)
        with pytest.raises(ProtocolError):
            flow.send(core.HttpResponse(200, body))


@pytest.mark.parametrize(
    ("response", "rejection", "cls", "code"),
    [
        (
            error(400, "insufficient_funds", 60, "voxpop"),
            True,
            TxRejectedError,
            "insufficient_funds",
        ),
        (error(400, "invalid_base64", None, "api"), True, ApiError, "invalid_base64"),
        (error(400, "insufficient_funds", 60, "voxpop"), False, ApiError, "insufficient_funds"),
        (error(404, "block_not_found", None, "api"), False, NotFoundError, "block_not_found"),
        (error(503, "mempool_full", 140, "voxpop"), True, ServerError, "mempool_full"),
        (error(500, "internal", None, "api"), False, ServerError, "internal"),
        (core.HttpResponse(502, b"<html>bad gateway</html>"), False, ServerError, "http_502"),
    ],
)
def test_api_errors_are_typed(
    response: core.HttpResponse, rejection: bool, cls: type[ApiError], code: str
) -> None:
    err = core.api_error(response, rejection=rejection)
    assert type(err) is cls
    assert (err.code, err.status) == (code, response.status)


def test_rejected_broadcast_raises() -> None:
    flow = core.broadcast_flow(b"tx", "sync")
    next(flow)
    with pytest.raises(TxRejectedError) as exc:
        flow.send(error(400, "wrong_sequence", 22, "voxpop"))
    assert exc.value.numeric_code == 22


# --- txs --------------------------------------------------------------------------------------


def test_build_and_sign_tx() -> None:
    body = build_tx(
        chain_id="c",
        pub_key=ALICE.public_key.raw,
        sequence=3,
        msgs=[msg_send(ALICE.public_key.address, BOB.public_key.address, 5)],
        fee=100,
        gas_limit=100_000,
    )
    tx = decode_tx(sign_tx(body, ALICE))
    assert tx.body == body
    assert verify_signature(ALICE.public_key.raw, tx.sign_bytes, tx.signature)
    with pytest.raises(ValueError):
        sign_tx(body, BOB)


def test_min_fee_rounds_up() -> None:
    assert compute_min_fee(100_000, 1, 1000) == 100
    assert compute_min_fee(100_001, 1, 1000) == 101
    assert compute_min_fee(0, 1, 1000) == 0
    with pytest.raises(ValueError):
        compute_min_fee(1, 1, 0)


def test_send_flow_builds_a_signed_tx() -> None:
    trust = core.Trust()
    flow = core.send_flow(
        trust,
        ALICE,
        BOB_ADDR,
        1_500_000,
        fee=None,
        gas_limit=None,
        mode="commit",
        memo="hi",
        sequence=None,
    )
    assert first(flow).path == "/v1/status"
    req = flow.send(ok(STATUS))
    assert req.path == f"/v1/accounts/{ALICE_ADDR}"
    account = {"address": ALICE_ADDR, "balance": 9, "sequence": 3, "pub_key": None, "height": 4}
    req = flow.send(ok(account))
    assert req.path == "/v1/query" and req.params["path"] == "/auth/params"
    params = AuthParams(min_gas_price_num=3, min_gas_price_den=1000).to_value()
    query = {"key": b"auth/params".hex(), "value": encode(params).hex(), "proof": "", "height": 4}
    req = flow.send(ok(query))
    # The fee market's params and base price (empty: the floor, so the fee is auth's minimum)
    assert req.path == "/v1/query" and req.params["path"] == "/feemarket/params"
    req = flow.send(ok({"key": b"feemarket/params".hex(), "value": "", "proof": "", "height": 4}))
    assert req.path == "/v1/query" and req.params["path"] == "/feemarket/base_price"
    req = flow.send(
        ok({"key": b"feemarket/base_price".hex(), "value": "", "proof": "", "height": 4})
    )
    assert req.path == "/v1/txs" and req.json["mode"] == "commit"
    raw = base64.b64decode(req.json["tx"])
    tx = decode_tx(raw)
    assert tx.body.chain_id == "voxpop-test" and tx.body.sequence == 3
    assert tx.body.gas_limit == 100_000 and tx.body.fee == 300 and tx.body.memo == "hi"
    assert tx.body.msgs[0].type == "bank/Send"
    assert dict(tx.body.msgs[0].value) == {
        "from": ALICE.public_key.address,
        "to": BOB.public_key.address,
        "amount": 1_500_000,
    }
    assert verify_signature(ALICE.public_key.raw, tx.sign_bytes, tx.signature)
    result = finish(flow, ok(result_json(raw, height=5)))
    assert result.height == 5
    assert trust.chain_id == "voxpop-test" and trust.validator_keys == {VALIDATOR_KEY}


def test_send_flow_before_the_first_block_uses_sequence_zero_and_default_params() -> None:
    flow = core.send_flow(
        core.Trust("c", frozenset()),
        ALICE,
        BOB.public_key.address,
        5,
        fee=None,
        gas_limit=2000,
        mode="sync",
        memo="",
        sequence=None,
    )
    assert first(flow).path.startswith("/v1/accounts/")
    req = flow.send(error(404, "height_not_available", 102, "voxpop"))
    assert req.params["path"] == "/auth/params"
    req = flow.send(error(404, "height_not_available", 102, "voxpop"))
    assert req.params["path"] == "/feemarket/params"
    req = flow.send(error(404, "height_not_available", 102, "voxpop"))
    tx = decode_tx(base64.b64decode(req.json["tx"]))
    assert (tx.body.sequence, tx.body.fee) == (0, 2)


@pytest.mark.parametrize(("to", "amount"), [("vox1bad", 5), (BOB_ADDR, 0), (BOB_ADDR, -1)])
def test_invalid_send_refused_before_any_request(to: str, amount: int) -> None:
    flow = core.send_flow(
        core.Trust(), ALICE, to, amount, fee=1, gas_limit=1, mode="sync", memo="", sequence=0
    )
    with pytest.raises((ValueError, AddressError)):
        next(flow)


# --- proofs: what the client refuses before even fetching the header --------------------------


def test_invalid_account_proof_for_another_key() -> None:
    flow = core.account_flow(core.Trust(), ALICE_ADDR, None, True)
    next(flow)
    entry = {"key": b"bank/bal/".hex() + "00" * 20, "value": "", "proof": "000000"}
    body = {
        "address": ALICE_ADDR,
        "balance": 0,
        "sequence": 0,
        "pub_key": None,
        "height": 3,
        "proof": {"balance": entry, "account": entry},
    }
    with pytest.raises(ProofVerificationError, match="another key"):
        flow.send(ok(body))


def test_invalid_account_without_proofs() -> None:
    flow = core.account_flow(core.Trust(), ALICE_ADDR, None, True)
    next(flow)
    body = {"address": ALICE_ADDR, "balance": 0, "sequence": 0, "pub_key": None, "height": 3}
    with pytest.raises(ProofVerificationError, match="no proofs"):
        flow.send(ok(body))


def test_invalid_query_proof_for_another_key() -> None:
    flow = core.query_flow(core.Trust(), "/bank/supply", b"", None, True)
    next(flow)
    with pytest.raises(ProofVerificationError):
        flow.send(ok({"key": b"bank/params".hex(), "value": "", "proof": "", "height": 3}))


# --- waiting and streaming --------------------------------------------------------------------


def test_wait_for_tx_polls_then_times_out() -> None:
    flow = core.wait_for_tx_flow(bytes(32), timeout=1.0, interval=0.4)
    assert next(flow) == core.Sleep(0)
    clock = 100.0
    assert flow.send(clock).path == f"/v1/txs/{'00' * 32}"
    for _ in range(2):
        assert flow.send(error(404, "tx_not_found", None, "api")) == core.Sleep(0.4)
        clock += 0.4
        assert isinstance(flow.send(clock), core.HttpRequest)
    assert flow.send(error(404, "tx_not_found", None, "api")) == core.Sleep(0.4)
    with pytest.raises(TxWaitTimeoutError):
        flow.send(clock + 0.4)


def test_wait_for_tx_returns_the_record() -> None:
    flow = core.wait_for_tx_flow(tx_hash(b"t"), timeout=5, interval=0.1)
    next(flow)
    flow.send(0.0)
    record = {
        "hash": tx_hash(b"t").hex(),
        "height": 3,
        "index": 0,
        "tx": "dA==",
        "result": {k: v for k, v in result_json(b"t").items() if k not in ("hash", "height")},
    }
    got = finish(flow, ok(record))
    assert got.tx == b"t" and got.height == 3


def test_sse_decoder() -> None:
    decoder = core.SSEDecoder()
    lines = [
        ": ping",
        "event: block",
        "id: 7",
        'data: {"height":',
        "data: 7}",
        "",
        "",
        "data: {}",
        "",
    ]
    events = [e for line in lines if (e := decoder.feed(line)) is not None]
    assert [(e.kind, e.id, e.data) for e in events] == [
        ("block", "7", {"height": 7}),
        ("message", "7", {}),
    ]
    assert events[0].height == 7
    with pytest.raises(ProtocolError):
        decoder.feed("data: nope")
        decoder.feed("")
