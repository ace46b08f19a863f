"""What the HTTP API needs from a node, whichever way it makes blocks.

The solo node implements this directly; the CometBFT-backed node implements it by relaying to
CometBFT's RPC. The HTTP API is a thin adapter over this protocol and holds no business rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from voxpop.chain.abci import Event, ExecTxResult, RequestQuery, ResponseQuery


class NodeUnavailableError(Exception):
    """The node cannot serve the request now (not started, or block production stopped): the
    API answers 503 with `code`."""

    code = "node_unavailable"


class BroadcastMode(StrEnum):
    SYNC = "sync"  # return after check_tx
    COMMIT = "commit"  # return after the block holding the tx is committed (or a timeout)


@dataclass(frozen=True, slots=True)
class BroadcastResult:
    tx_hash: bytes
    code: int
    log: str = ""
    codespace: str = ""
    height: int = 0  # set in COMMIT mode once included
    gas_wanted: int = 0
    gas_used: int = 0
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class BlockHeader:
    chain_id: str
    height: int
    time_unix: int
    last_block_hash: bytes
    data_hash: bytes  # Merkle root of the block's tx hashes
    app_hash: bytes  # state root after executing this block (see docs/protocol/state.md)
    proposer: bytes  # 20-byte validator address
    num_txs: int


@dataclass(frozen=True, slots=True)
class BlockRecord:
    header: BlockHeader
    hash: bytes
    txs: tuple[bytes, ...]
    results: tuple[ExecTxResult, ...]
    # Solo mode: the one validator's Ed25519 signature over the header's sign bytes, and its key.
    signature: bytes = b""
    signer_pub_key: bytes = b""
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class TxRecord:
    hash: bytes
    height: int
    index: int
    tx: bytes
    result: ExecTxResult


@dataclass(frozen=True, slots=True)
class NodeStatus:
    chain_id: str
    node_mode: str  # "solo" | "cometbft"
    latest_height: int
    latest_block_hash: bytes
    latest_app_hash: bytes
    latest_block_time_unix: int
    mempool_size: int
    validator_pub_keys: tuple[bytes, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NodeEvent:
    """One item of the live stream: a new block (kind="block") or a committed tx (kind="tx")."""

    kind: str
    height: int
    block: BlockRecord | None = None
    tx: TxRecord | None = None


class NodeService(Protocol):
    @property
    def chain_id(self) -> str: ...

    async def broadcast_tx(self, tx: bytes, mode: BroadcastMode) -> BroadcastResult: ...

    async def broadcast_txs(self, txs: list[bytes]) -> list[BroadcastResult]:
        """Batch broadcast: check_tx each, in order; return after check_tx (SYNC)."""
        ...

    def get_block(self, height: int) -> BlockRecord | None: ...
    def get_tx(self, tx_hash: bytes) -> TxRecord | None: ...
    def query(self, req: RequestQuery) -> ResponseQuery: ...
    def status(self) -> NodeStatus: ...
    def subscribe(self) -> AsyncIterator[NodeEvent]: ...


@runtime_checkable
class LightBlockSource(Protocol):
    """A node under CometBFT also relays what a light client verifies, in CometBFT's own JSON
    (the RPC's `/commit` signed_header and `/validators` list), unchanged: the client recomputes
    every hash itself. None: not (yet) at that height."""

    def light_signed_header(self, height: int | None) -> dict[str, Any] | None: ...
    def light_validators(self, height: int) -> list[dict[str, Any]] | None: ...
