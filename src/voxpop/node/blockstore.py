"""The solo node's block store and tx index, kept in aux tables of the state's LMDB environment so a
block and the state it produced are committed in one transaction.

    blocks/<height u64>     -> CBOR block record
    block_hashes/<hash 32>  -> height u64
    txs/<tx hash 32>        -> CBOR [height, index]
"""

from __future__ import annotations

from typing import Any

import cbor2

from voxpop.chain.abci import Event, EventAttribute, ExecTxResult
from voxpop.node.header import block_hash, header_fields, header_sign_bytes, merkle_root
from voxpop.node.service import BlockHeader, BlockRecord, TxRecord
from voxpop.store.merkle_store import MerkleStore

BLOCKS_DB = "blocks"
BLOCK_HASHES_DB = "block_hashes"
TXS_DB = "txs"
AUX_DBS = ("meta", BLOCKS_DB, BLOCK_HASHES_DB, TXS_DB)


def _events_back(raw: list[Any]) -> tuple[Event, ...]:
    return tuple(Event(t, tuple(EventAttribute(*a) for a in attrs)) for t, attrs in raw)


def encode_block(b: BlockRecord) -> bytes:
    h = b.header
    return cbor2.dumps(
        {
            "header": header_fields(h),
            "hash": b.hash,
            "txs": list(b.txs),
            "results": [
                [r.code, r.log, r.codespace, r.gas_wanted, r.gas_used, list(r.events)]
                for r in b.results
            ],
            "signature": b.signature,
            "signer": b.signer_pub_key,
            "events": list(b.events),
        }
    )


def decode_block(raw: bytes) -> BlockRecord:
    doc = cbor2.loads(raw)
    return BlockRecord(
        header=BlockHeader(*doc["header"]),
        hash=doc["hash"],
        txs=tuple(doc["txs"]),
        results=tuple(
            ExecTxResult(c, lg, cs, gw, gu, _events_back(ev))
            for c, lg, cs, gw, gu, ev in doc["results"]
        ),
        signature=doc["signature"],
        signer_pub_key=doc["signer"],
        events=_events_back(doc["events"]),
    )


def block_rows(block: BlockRecord, tx_hashes: list[bytes]) -> list[tuple[str, bytes, bytes | None]]:
    height = block.header.height.to_bytes(8, "big")
    rows: list[tuple[str, bytes, bytes | None]] = [
        (BLOCKS_DB, height, encode_block(block)),
        (BLOCK_HASHES_DB, block.hash, height),
    ]
    rows.extend((TXS_DB, h, cbor2.dumps([block.header.height, i])) for i, h in enumerate(tx_hashes))
    return rows


def load_block(store: MerkleStore, height: int) -> BlockRecord | None:
    raw = store.get_aux(BLOCKS_DB, height.to_bytes(8, "big"))
    return decode_block(raw) if raw else None


def load_tx(store: MerkleStore, tx_hash: bytes) -> TxRecord | None:
    raw = store.get_aux(TXS_DB, tx_hash)
    if raw is None:
        return None
    height, index = cbor2.loads(raw)
    block = load_block(store, height)
    if block is None:
        return None
    return TxRecord(tx_hash, height, index, block.txs[index], block.results[index])


__all__ = ["block_hash", "header_sign_bytes", "merkle_root"]
