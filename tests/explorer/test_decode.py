"""Decoding blocks into rows: the fast path for txs the chain executed (code 0) gives exactly the
rows of the chain's full decoder, and bytes that are no tx still fall through to it."""

from __future__ import annotations

import dataclasses
import json

import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st

from voxpop.chain.abci import ExecTxResult
from voxpop.explorer.decode import committed_body, decode_block
from voxpop.explorer.testing import synthetic_blocks
from voxpop.node.service import BlockRecord

BLOCKS = list(synthetic_blocks(3, 6, senders=4))


def _failed(record: BlockRecord) -> BlockRecord:
    """The same block with every tx failed (code 5): each goes through decode_tx."""
    return dataclasses.replace(
        record, results=tuple(dataclasses.replace(r, code=5) for r in record.results)
    )


def test_fast_path_rows_equal_the_full_decoders() -> None:
    for record in BLOCKS:
        fast, full = decode_block(record), decode_block(_failed(record))
        assert [dict(t, code=0) for t in full.txs] == fast.txs
        assert full.messages == fast.messages
        assert full.account_txs == fast.account_txs
        assert full.events == fast.events
        for tx in fast.txs:  # the list of messages is the JSON of the decoded messages
            msgs = json.loads(tx["msgs"])
            assert tx["msgs"] == json.dumps(msgs)
            assert msgs[0]["type"] == "bank/Send"


def test_invalid_bytes_with_code_0_fall_through_to_the_full_decoder() -> None:
    record = BLOCKS[0]
    garbage = (b"\xff\x00", cbor2.dumps({"body": {"pub_key": b"short"}}), b"")
    bad = dataclasses.replace(
        record,
        txs=garbage,
        results=tuple(ExecTxResult(code=0) for _ in garbage),
    )
    rows = decode_block(bad)
    assert [(t["sender"], t["msgs"], t["msg_types"]) for t in rows.txs] == [("", "null", "")] * 3
    assert rows.messages == []


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_committed_body_never_raises(data: bytes) -> None:
    body = committed_body(data)
    assert body is None or (len(body[0]) == 32 and body[3])
