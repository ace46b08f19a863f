"""Request and response bodies of the HTTP API, and their translation from the node's records.

Conventions: bytes are lowercase hex, except tx bytes which are standard base64; addresses are
bech32 (`vox1...`); amounts are integers in uvox. A result `code` is the protocol's numeric code
(0 = success) and `error` its stable name (null on success).
"""

from __future__ import annotations

import base64
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from voxpop.api.errors import chain_error_name
from voxpop.chain.abci import Event, ExecTxResult
from voxpop.chain.registry import msgs_json
from voxpop.node.service import BlockRecord, BroadcastResult, NodeStatus, TxRecord

# --- errors -----------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable name, e.g. insufficient_funds")
    numeric_code: int | None = Field(description="The protocol's numeric code; null for API errors")
    codespace: str = Field(description='"voxpop" for chain errors, "api" for errors of the API')
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


# --- shared pieces ----------------------------------------------------------------------------


class EventAttributeModel(BaseModel):
    key: str
    value: str
    index: bool


class EventModel(BaseModel):
    type: str
    attributes: list[EventAttributeModel]


class ExecResultModel(BaseModel):
    code: int
    error: str | None = Field(description="The code's stable name; null when code is 0")
    codespace: str
    log: str
    gas_wanted: int
    gas_used: int
    events: list[EventModel]


# --- txs --------------------------------------------------------------------------------------


class BroadcastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tx: str = Field(description="The signed tx: canonical CBOR bytes, standard base64")
    mode: Literal["sync", "commit"] = Field(
        "sync", description="sync: answer after check_tx; commit: after the block holding the tx"
    )


class BatchBroadcastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    txs: list[str] = Field(min_length=1, description="Signed txs, base64, checked in order")


class TxResultModel(BaseModel):
    hash: str = Field(description="sha256 of the tx bytes, hex")
    code: int
    error: str | None = Field(description="The code's stable name; null when code is 0")
    codespace: str
    log: str
    height: int = Field(description="The block holding the tx (commit mode); 0 if not yet known")
    gas_wanted: int
    gas_used: int
    events: list[EventModel]


class BatchBroadcastResponse(BaseModel):
    results: list[TxResultModel]


class TxRecordModel(BaseModel):
    hash: str
    height: int
    index: int
    tx: str = Field(description="The tx bytes, base64")
    msgs: list[dict[str, Any]] | None = Field(
        description="The tx's messages, {type, value} with addresses in bech32 and bytes in hex "
        "(null if the tx does not parse)"
    )
    result: ExecResultModel


# --- blocks -----------------------------------------------------------------------------------


class BlockHeaderModel(BaseModel):
    chain_id: str
    height: int
    time_unix: int
    last_block_hash: str
    data_hash: str
    app_hash: str = Field(description="The state root after this block")
    proposer: str = Field(description="The proposer's 20-byte validator address, hex")
    num_txs: int


class BlockModel(BaseModel):
    header: BlockHeaderModel
    hash: str
    txs: list[str] = Field(description="The block's txs, base64, in order")
    results: list[ExecResultModel]
    signature: str = Field(description="Solo mode: the validator's Ed25519 signature of the header")
    signer_pub_key: str
    events: list[EventModel]


class SignedHeaderModel(BaseModel):
    """A block without its txs, results and events: what a client needs to check the signed
    state root (and much smaller than the block)."""

    header: BlockHeaderModel
    hash: str
    signature: str = Field(description="Solo mode: the validator's Ed25519 signature of the header")
    signer_pub_key: str


# --- status, queries, accounts ----------------------------------------------------------------


class StatusModel(BaseModel):
    chain_id: str
    node_mode: str
    latest_height: int
    latest_block_hash: str
    latest_app_hash: str
    latest_block_time_unix: int
    mempool_size: int
    validator_pub_keys: list[str]
    extra: dict[str, Any]


class QueryModel(BaseModel):
    key: str = Field(description="The state key read, hex")
    value: str = Field(description="Its value, hex; empty when the key is absent")
    proof: str = Field(description="With prove=true: the Merkle proof, hex; otherwise empty")
    height: int = Field(description="The height the state was read at")


class ProvenEntryModel(BaseModel):
    key: str
    value: str = Field(description="hex; empty when the key is absent")
    proof: str


class AccountProofModel(BaseModel):
    balance: ProvenEntryModel
    account: ProvenEntryModel


class AccountModel(BaseModel):
    address: str
    balance: int = Field(description="uvox")
    sequence: int = Field(description="The sequence the account's next tx must carry")
    pub_key: str | None = Field(description="hex; null until the account signs its first tx")
    height: int
    proof: AccountProofModel | None = Field(
        None, description="With prove=true: raw key/value/proof of both state entries"
    )


# --- translation from the node's records ------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def event_model(event: Event) -> EventModel:
    return EventModel(
        type=event.type,
        attributes=[
            EventAttributeModel(key=a.key, value=a.value, index=a.indexed) for a in event.attributes
        ],
    )


def _error(code: int, codespace: str) -> str | None:
    return chain_error_name(code, codespace) if code else None


def exec_result_model(result: ExecTxResult) -> ExecResultModel:
    return ExecResultModel(
        code=result.code,
        error=_error(result.code, result.codespace),
        codespace=result.codespace,
        log=result.log,
        gas_wanted=result.gas_wanted,
        gas_used=result.gas_used,
        events=[event_model(e) for e in result.events],
    )


def tx_result_model(result: BroadcastResult) -> TxResultModel:
    return TxResultModel(
        hash=result.tx_hash.hex(),
        code=result.code,
        error=_error(result.code, result.codespace),
        codespace=result.codespace,
        log=result.log,
        height=result.height,
        gas_wanted=result.gas_wanted,
        gas_used=result.gas_used,
        events=[event_model(e) for e in result.events],
    )


def tx_record_model(record: TxRecord) -> TxRecordModel:
    return TxRecordModel(
        hash=record.hash.hex(),
        height=record.height,
        index=record.index,
        tx=b64(record.tx),
        msgs=msgs_json(record.tx),
        result=exec_result_model(record.result),
    )


def block_model(block: BlockRecord, with_body: bool = True) -> BlockModel:
    h = block.header
    return BlockModel(
        header=BlockHeaderModel(
            chain_id=h.chain_id,
            height=h.height,
            time_unix=h.time_unix,
            last_block_hash=h.last_block_hash.hex(),
            data_hash=h.data_hash.hex(),
            app_hash=h.app_hash.hex(),
            proposer=h.proposer.hex(),
            num_txs=h.num_txs,
        ),
        hash=block.hash.hex(),
        txs=[b64(tx) for tx in block.txs] if with_body else [],
        results=[exec_result_model(r) for r in block.results] if with_body else [],
        signature=block.signature.hex(),
        signer_pub_key=block.signer_pub_key.hex(),
        events=[event_model(e) for e in block.events] if with_body else [],
    )


def status_model(status: NodeStatus) -> StatusModel:
    return StatusModel(
        chain_id=status.chain_id,
        node_mode=status.node_mode,
        latest_height=status.latest_height,
        latest_block_hash=status.latest_block_hash.hex(),
        latest_app_hash=status.latest_app_hash.hex(),
        latest_block_time_unix=status.latest_block_time_unix,
        mempool_size=status.mempool_size,
        validator_pub_keys=[k.hex() for k in status.validator_pub_keys],
        extra=_jsonable(status.extra),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
