"""The API's parsing of path and query values, and its translation of the node's records. Pure."""

from __future__ import annotations

import pytest

from voxpop.api.errors import ApiError, chain_error, chain_error_name, error_body
from voxpop.api.inputs import (
    parse_address,
    parse_base64,
    parse_height,
    parse_hex,
    parse_tx_hash,
)
from voxpop.api.models import block_model, exec_result_model, status_model, tx_result_model
from voxpop.chain.abci import Event, EventAttribute, ExecTxResult
from voxpop.crypto import encode_address
from voxpop.node.service import BlockHeader, BlockRecord, BroadcastResult, NodeStatus


def test_parse_base64() -> None:
    assert parse_base64("AQID") == b"\x01\x02\x03"
    assert parse_base64("") == b""


@pytest.mark.parametrize("text", ["AQI", "AQ I=", "AQ==\n", "-_8=", "!!!!", "AQID====", "AQJ="])
def test_invalid_base64(text: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_base64(text)
    assert (exc.value.status, exc.value.code) == (400, "invalid_base64")


def test_parse_hex() -> None:
    assert parse_hex("") == b""
    assert parse_hex("00fFaB") == b"\x00\xff\xab"


@pytest.mark.parametrize("text", ["0", "0g", " 00", "00 ", "0x00", "zz"])
def test_invalid_hex(text: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_hex(text)
    assert (exc.value.status, exc.value.code) == (400, "invalid_hex")


def test_parse_address() -> None:
    raw = bytes(range(20))
    assert parse_address(encode_address(raw)) == raw


@pytest.mark.parametrize(
    "text",
    [
        "",
        "vox1",
        "cosmos1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnrql8a",
        encode_address(bytes(20))[:-1] + "q",
    ],
)
def test_invalid_address(text: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_address(text)
    assert (exc.value.status, exc.value.code) == (400, "invalid_address")


def test_parse_tx_hash_and_height() -> None:
    assert parse_tx_hash("AB" * 32) == bytes([0xAB]) * 32
    assert parse_height("1") == 1
    assert parse_height("0009") == 9


@pytest.mark.parametrize("text", ["", "ab", "ab" * 33, "zz" * 32])
def test_invalid_tx_hash(text: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_tx_hash(text)
    assert exc.value.code == "invalid_hash"


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "abc", "", "9" * 30, "9223372036854775808"])
def test_invalid_height(text: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_height(text)
    assert exc.value.code == "invalid_height"


def test_chain_error_names() -> None:
    assert chain_error_name(60, "voxpop") == "insufficient_funds"
    assert chain_error_name(60, "") == "insufficient_funds"
    assert chain_error_name(1, "mempool") == "mempool_1"
    assert chain_error_name(9999, "voxpop") == "unknown"
    err = chain_error(400, 22, "voxpop", "account sequence is 1, tx has 0")
    assert err.body() == error_body(
        "wrong_sequence", "account sequence is 1, tx has 0", 22, "voxpop"
    )


def test_records_to_json() -> None:
    event = Event("transfer", (EventAttribute("amount", "5"),))
    result = ExecTxResult(60, "no funds", "voxpop", 100, 40, (event,))
    assert exec_result_model(result).model_dump() == {
        "code": 60,
        "error": "insufficient_funds",
        "codespace": "voxpop",
        "log": "no funds",
        "gas_wanted": 100,
        "gas_used": 40,
        "events": [
            {"type": "transfer", "attributes": [{"key": "amount", "value": "5", "index": True}]}
        ],
    }
    ok = tx_result_model(BroadcastResult(bytes([1]) * 32, 0, height=3))
    assert ok.hash == "01" * 32 and ok.error is None and ok.height == 3
    header = BlockHeader("c", 2, 10, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, b"\x04" * 20, 1)
    block = block_model(BlockRecord(header, b"\x05" * 32, (b"\xff",), (result,), b"\x06" * 64))
    assert block.txs == ["/w=="] and block.header.app_hash == "03" * 32
    assert block.signature == "06" * 64 and block.signer_pub_key == ""
    status = status_model(
        NodeStatus("c", "solo", 0, b"", b"", 0, 0, (b"\x07" * 32,), {"x": b"\x01"})
    )
    assert status.validator_pub_keys == ["07" * 32] and status.extra == {"x": "01"}
