"""A block as the node reports it (`BlockRecord`: header, raw txs, results, block events) -> the
rows the index keeps. Pure: no I/O, the same rows for the same block.

Each tx is decoded with the chain's own decoder (`decode_tx`) and its messages with their
declarations (`msgs_json`: addresses in bech32, bytes in hex), so the explorer shows what the
chain executed. The accounts a tx touched are its signer and every valid address in its decoded
messages and in its events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import cbor2

from voxpop.chain.abci import Event, ExecTxResult
from voxpop.chain.errors import ChainError
from voxpop.chain.fields import AddressKind
from voxpop.chain.module import Msg, MsgRoute, msg_fields, parse_msg
from voxpop.chain.modules.beacon.entry import decode_entry, is_entry
from voxpop.chain.registry import default_modules
from voxpop.chain.tx import RawMsg, decode_tx, tx_hash
from voxpop.crypto.address import encode_address, is_address
from voxpop.crypto.keys import address_from_pubkey
from voxpop.node.service import BlockRecord

Row = dict[str, Any]
ADDRESS_TEXT_LEN = 42  # "vox1" + 32 characters of data + 6 of checksum


@dataclass(slots=True)
class BlockRows:
    """Everything one block adds to the index."""

    height: int
    block: Row
    txs: list[Row] = field(default_factory=list)
    messages: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    account_txs: list[Row] = field(default_factory=list)
    minted: int = 0
    burned: int = 0
    supply: int | None = None  # the chain's supply after the block, when the indexer asked
    # Validators' consensus addresses and operators seen in this block (refreshed from the chain)
    validators: set[str] = field(default_factory=set)


_ENCODED: dict[str, None] = {}  # addresses this process encoded itself: valid by construction
MAX_ENCODED = 1_000_000


@lru_cache(maxsize=65_536)
def _is_address(text: str) -> bool:
    return text in _ENCODED or is_address(text)


@lru_cache(maxsize=65_536)
def _sender(pub_key: bytes) -> str:
    return _bech32(address_from_pubkey(pub_key))


@lru_cache(maxsize=65_536)
def _bech32(raw: bytes) -> str:
    text = encode_address(raw)
    if len(_ENCODED) >= MAX_ENCODED:
        _ENCODED.clear()
    _ENCODED[text] = None
    return text


@lru_cache(maxsize=1)
def _routes() -> dict[str, MsgRoute]:
    return {t: r for m in default_modules() for t, r in m.msg_routes().items()}


def msg_json(msg: Msg) -> dict[str, Any]:
    """`msg.to_json()` (the declared JSON shape), with top-level addresses encoded once per
    address: bech32 encoding is most of the cost of decoding a block's messages."""
    value = {
        f.key: _bech32(v) if type(f.kind) is AddressKind else f.kind.to_json(v)
        for f in msg_fields(type(msg))
        for v in (getattr(msg, f.attr),)
    }
    return {"type": msg.TYPE, "value": value}


def decoded_msgs(msgs: Sequence[RawMsg]) -> list[dict[str, Any]] | None:
    """The tx's messages in their JSON shape, or None if one does not parse."""
    routes = _routes()
    try:
        return [msg_json(parse_msg(routes, raw, f"msgs[{i}]")[0]) for i, raw in enumerate(msgs)]
    except ChainError:
        return None


def committed_body(raw: bytes) -> tuple[bytes, int, str, tuple[RawMsg, ...]] | None:
    """(pub_key, fee, memo, messages) of a tx the chain executed successfully (code 0), or None
    if the bytes are not shaped like one. The chain's decoder (`decode_tx`) accepted exactly
    these bytes before running them, so the canonical-encoding round trip it does (scan,
    re-encode, compare: a third of a tx's decoding) is not repeated: a plain CBOR load, and the
    fields' types checked. Anything else goes through `decode_tx`."""
    try:
        body = cbor2.loads(raw)["body"]
        pub_key, fee, memo = body["pub_key"], body["fee"], body["memo"]
        msgs = tuple(RawMsg(m["type"], m["value"]) for m in body["msgs"])
    except Exception:  # not a tx's shape: the full decoder says why
        return None
    # Verify the fields have the types decode_tx would have given them
    if (
        type(pub_key) is not bytes
        or len(pub_key) != 32
        or type(fee) is not int
        or type(memo) is not str
        or not msgs
        or not all(type(m.type) is str and type(m.value) is dict for m in msgs)
    ):
        return None
    return pub_key, fee, memo, msgs


@lru_cache(maxsize=1024)
def _json_text(text: str) -> str:
    return json.dumps(text)


BEACON_ENTRY = "beacon/Entry"


def beacon_msgs(raw: bytes) -> list[dict[str, Any]]:
    """A block's beacon entry shown as one message: each validator's VRF proof.
    Raises ChainError (BeaconEntryMalformedError)."""
    votes = [{"validator": cons.hex(), "proof": proof.hex()} for cons, proof in decode_entry(raw)]
    return [{"type": BEACON_ENTRY, "value": {"votes": votes}}]


def addresses_in(value: Any) -> Iterator[str]:
    """Every bech32 account address in a decoded message value (nested maps and lists)."""
    if isinstance(value, str):
        if len(value) == ADDRESS_TEXT_LEN and value.startswith("vox1") and _is_address(value):
            yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from addresses_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from addresses_in(item)


def event_rows(height: int, tx_index: int, events: Sequence[Event]) -> list[Row]:
    return [
        {
            "height": height,
            "tx_index": tx_index,
            "event_index": i,
            "type": event.type,
            "attributes": json.dumps([[a.key, a.value] for a in event.attributes]),
        }
        for i, event in enumerate(events)
    ]


def _amount(event: Event) -> int:
    text = event.attr("amount") or "0"
    return int(text) if text.isdigit() else 0


def _issuance(events: Sequence[Event]) -> tuple[int, int]:
    minted = sum(_amount(e) for e in events if e.type == "mint")
    burned = sum(_amount(e) for e in events if e.type == "burn")
    return minted, burned


def decode_tx_rows(
    rows: BlockRows, index: int, raw: bytes, result: ExecTxResult, height: int
) -> None:
    """Adds one tx's rows (tx, messages, events, accounts) to `rows`."""
    hash_hex = tx_hash(raw).hex()
    sender, fee, memo = "", 0, ""
    msgs = None
    try:
        if is_entry(raw):  # the proposer's beacon entry (validators' VRF proofs), not a tx
            msgs = beacon_msgs(raw)
        else:
            body = committed_body(raw) if result.code == 0 else None
            if body is None:
                tx = decode_tx(raw).body
                body = (tx.pub_key, tx.fee, tx.memo, tx.msgs)
            sender, fee, memo = _sender(body[0]), body[1], body[2]
            msgs = decoded_msgs(body[3])
    except ChainError:
        pass
    # Each message's value is encoded once: the messages table holds it, and the tx's list
    # of messages is put together from the same text
    values = [json.dumps(m["value"]) for m in msgs or ()]
    msgs_text = (
        "null"
        if msgs is None
        else "["
        + ", ".join(
            f'{{"type": {_json_text(m["type"])}, "value": {v}}}'
            for m, v in zip(msgs, values, strict=True)
        )
        + "]"
    )
    rows.txs.append(
        {
            "hash": hash_hex,
            "height": height,
            "idx": index,
            "sender": sender,
            "fee": fee,
            "gas_wanted": result.gas_wanted,
            "gas_used": result.gas_used,
            "code": result.code,
            "codespace": result.codespace,
            "log": result.log,
            "memo": memo,
            "msg_types": ",".join(m["type"] for m in msgs or ()),
            "msgs": msgs_text,
            "size": len(raw),
        }
    )
    touched: dict[str, None] = {sender: None} if sender else {}
    for i, msg in enumerate(msgs or ()):
        rows.messages.append(
            {
                "tx_hash": hash_hex,
                "msg_index": i,
                "height": height,
                "type": msg["type"],
                "value": values[i],
            }
        )
        touched.update(dict.fromkeys(addresses_in(msg["value"])))
    rows.events.extend(event_rows(height, index, result.events))
    for event in result.events:
        for attr in event.attributes:
            value = attr.value
            if len(value) == ADDRESS_TEXT_LEN and value.startswith("vox1") and _is_address(value):
                touched[value] = None
    rows.account_txs.extend(
        {"address": a, "height": height, "tx_index": index, "tx_hash": hash_hex} for a in touched
    )
    minted, burned = _issuance(result.events)
    rows.minted += minted
    rows.burned += burned


def decode_block(record: BlockRecord, supply: int | None = None) -> BlockRows:
    """The rows of one block. `supply` is the chain's supply after it, if known (otherwise the
    index carries its running supply forward by the block's mints and burns)."""
    h = record.header
    rows = BlockRows(
        height=h.height,
        block={
            "height": h.height,
            "hash": record.hash.hex(),
            "time_unix": h.time_unix,
            "proposer": h.proposer.hex(),
            "num_txs": len(record.txs),
            "app_hash": h.app_hash.hex(),
            "gas_used": sum(r.gas_used for r in record.results),
            "fees": 0,
        },
        supply=supply,
    )
    for index, (raw, result) in enumerate(zip(record.txs, record.results, strict=True)):
        decode_tx_rows(rows, index, raw, result, h.height)
    rows.block["fees"] = sum(t["fee"] for t in rows.txs)
    rows.events.extend(event_rows(h.height, -1, record.events))
    minted, burned = _issuance(record.events)
    rows.minted += minted
    rows.burned += burned
    rows.validators.add(h.proposer.hex())
    return rows
