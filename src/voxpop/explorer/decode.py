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

from voxpop.chain.abci import Event, ExecTxResult
from voxpop.chain.errors import ChainError
from voxpop.chain.fields import AddressKind
from voxpop.chain.module import Msg, MsgRoute, msg_fields, parse_msg
from voxpop.chain.modules.beacon.entry import decode_entry, is_entry
from voxpop.chain.registry import default_modules
from voxpop.chain.tx import Tx, decode_tx, tx_hash
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


def decoded_msgs(tx: Tx) -> list[dict[str, Any]] | None:
    """The tx's messages in their JSON shape, or None if one does not parse."""
    routes = _routes()
    try:
        return [
            msg_json(parse_msg(routes, raw, f"msgs[{i}]")[0]) for i, raw in enumerate(tx.body.msgs)
        ]
    except ChainError:
        return None


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
            tx = decode_tx(raw)
            sender, fee, memo = _sender(tx.body.pub_key), tx.body.fee, tx.body.memo
            msgs = decoded_msgs(tx)
    except ChainError:
        pass
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
            "msgs": json.dumps(msgs),
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
                "value": json.dumps(msg["value"]),
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
