"""CometNodeService: the NodeService the HTTP API uses, relayed to CometBFT's RPC."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

from voxpop.chain.abci import RequestQuery, ResponseQuery
from voxpop.chain.errors import CODESPACE, CommitTimeoutError
from voxpop.chain.modules.beacon.entry import is_entry
from voxpop.node.cometbft.rpc import (
    CometRPCError,
    JsonRpc,
    b64,
    block_record_from_rpc,
    is_missing,
    mempool_refusal,
    tx_record_from_rpc,
    unb64,
    unhex,
)
from voxpop.node.service import (
    BlockRecord,
    BroadcastMode,
    BroadcastResult,
    NodeEvent,
    NodeStatus,
    TxRecord,
)


class CometNodeService:
    """NodeService for a node running under CometBFT.

    Writes and chain data go through CometBFT's JSON-RPC (`broadcast_tx_sync`, `block`,
    `block_results`, `tx`, `status`, `validators`, `num_unconfirmed_txs`); state queries go
    straight to the local app (`query`, a function that holds the app lock).

    COMMIT mode is `broadcast_tx_sync` and then polling `tx` by hash until the tx is indexed or
    `commit_timeout` passes; unlike `broadcast_tx_commit` this has no cap on concurrent callers
    (CometBFT allows 5 subscriptions per client). As in solo mode, a timeout gives
    CommitTimeoutError's code with height 0, and CometBFT's own refusals (mempool full, tx
    already in its cache, tx too large) give MempoolFullError, TxInMempoolError or ChainError.
    `subscribe()` polls for new heights every `poll_interval` seconds.

    The sync methods (`get_block`, `get_tx`, `status`) do blocking HTTP to the local RPC; call
    them from a worker thread when on an event loop.
    """

    def __init__(
        self,
        rpc_url: str,
        chain_id: str,
        query: Callable[[RequestQuery], ResponseQuery],
        *,
        timeout: float = 10.0,
        commit_timeout: float = 30.0,
        poll_interval: float = 0.2,
    ) -> None:
        self._rpc = JsonRpc(rpc_url, timeout)
        self._chain_id = chain_id
        self._query = query
        self.commit_timeout = commit_timeout
        self.poll_interval = poll_interval

    @property
    def chain_id(self) -> str:
        return self._chain_id

    @property
    def rpc_url(self) -> str:
        return self._rpc.url

    async def aclose(self) -> None:
        await self._rpc.aclose()

    # --- writes -------------------------------------------------------------------------------

    @staticmethod
    def _sync_result(tx: bytes, reply: Any) -> BroadcastResult:
        tx_hash = hashlib.sha256(tx).digest()
        if isinstance(reply, CometRPCError):
            # Refused by CometBFT's mempool before CheckTx, in the chain's error vocabulary.
            err = mempool_refusal(reply)
            return BroadcastResult(
                tx_hash=tx_hash, code=err.code, log=err.message, codespace=CODESPACE
            )
        return BroadcastResult(
            tx_hash=unhex(reply.get("hash")) or tx_hash,
            code=int(reply.get("code", 0)),
            log=reply.get("log", ""),
            codespace=reply.get("codespace", ""),
        )

    async def broadcast_tx(self, tx: bytes, mode: BroadcastMode) -> BroadcastResult:
        """Raises CometRPCError if the RPC cannot be reached."""
        (reply,) = await self._rpc.abatch_settled([("broadcast_tx_sync", {"tx": b64(tx)})])
        checked = self._sync_result(tx, reply)
        if mode is BroadcastMode.SYNC or checked.code != 0:
            return checked
        deadline = time.monotonic() + self.commit_timeout
        while time.monotonic() < deadline:
            (found,) = await self._rpc.abatch_settled([("tx", {"hash": b64(checked.tx_hash)})])
            if isinstance(found, CometRPCError):
                if not is_missing(found):
                    raise found
                await asyncio.sleep(self.poll_interval)
                continue
            record = tx_record_from_rpc(found)
            r = record.result
            return BroadcastResult(
                tx_hash=checked.tx_hash,
                code=r.code,
                log=r.log,
                codespace=r.codespace,
                height=record.height,
                gas_wanted=r.gas_wanted,
                gas_used=r.gas_used,
                events=r.events,
            )
        err = CommitTimeoutError(f"not committed within {self.commit_timeout:g} s; it may still be")
        return BroadcastResult(
            tx_hash=checked.tx_hash, code=err.code, log=err.message, codespace=CODESPACE
        )

    async def broadcast_txs(self, txs: list[bytes]) -> list[BroadcastResult]:
        """CheckTx each tx, in order, in one JSON-RPC batch; return after CheckTx."""
        if not txs:
            return []
        replies = await self._rpc.abatch_settled(
            [("broadcast_tx_sync", {"tx": b64(tx)}) for tx in txs]
        )
        return [self._sync_result(tx, r) for tx, r in zip(txs, replies, strict=True)]

    # --- reads --------------------------------------------------------------------------------

    def get_block(self, height: int) -> BlockRecord | None:
        """The block at `height` with its results; None if it is not (yet) executed.

        Raises CometRPCError for other RPC failures.
        """
        try:
            block = self._rpc.call("block", height=str(height))
            results = self._rpc.call("block_results", height=str(height))
        except CometRPCError as err:
            if is_missing(err):
                return None
            raise
        return block_record_from_rpc(block, results)

    def get_tx(self, tx_hash: bytes) -> TxRecord | None:
        try:
            return tx_record_from_rpc(self._rpc.call("tx", hash=b64(tx_hash)))
        except CometRPCError as err:
            if is_missing(err):
                return None
            raise

    def query(self, req: RequestQuery) -> ResponseQuery:
        return self._query(req)

    def _validators(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in range(1, 101):
            res = self._rpc.call("validators", page=str(page), per_page="100")
            out.extend(res["validators"])
            if len(out) >= int(res["total"]) or not res["validators"]:
                break
        return out

    def light_signed_header(self, height: int | None) -> dict[str, Any] | None:
        """CometBFT's signed header at `height` (the latest with None), as its RPC gives it; None
        if there is none yet. Raises CometRPCError for other RPC failures."""
        try:
            params = {} if height is None else {"height": str(height)}
            result = self._rpc.call("commit", **params)
        except CometRPCError as err:
            if is_missing(err):
                return None
            raise
        signed: dict[str, Any] = result["signed_header"]
        return signed

    def light_validators(self, height: int) -> list[dict[str, Any]] | None:
        """CometBFT's validator set at `height`, every page, in its order; None if unknown."""
        out: list[dict[str, Any]] = []
        try:
            for page in range(1, 101):
                res = self._rpc.call(
                    "validators", height=str(height), page=str(page), per_page="100"
                )
                out.extend(res["validators"])
                if len(out) >= int(res["total"]) or not res["validators"]:
                    break
        except CometRPCError as err:
            if is_missing(err):
                return None
            raise
        return out

    def status(self) -> NodeStatus:
        """The latest *executed* block (one whose results CometBFT has stored).

        Raises CometRPCError if the RPC is unreachable.
        """
        st = self._rpc.call("status")
        sync = st["sync_info"]
        height = int(sync["latest_block_height"])
        block = None
        for h in (height, height - 1):
            if h >= 1 and (block := self.get_block(h)) is not None:
                break
        mempool = self._rpc.call("num_unconfirmed_txs")
        validators = self._validators()
        return NodeStatus(
            chain_id=st["node_info"]["network"],
            node_mode="cometbft",
            latest_height=block.header.height if block else 0,
            latest_block_hash=block.hash if block else b"",
            latest_app_hash=block.header.app_hash if block else b"",
            latest_block_time_unix=block.header.time_unix if block else 0,
            mempool_size=int(mempool["n_txs"]),
            validator_pub_keys=tuple(unb64(v["pub_key"]["value"]) for v in validators),
            extra={
                "node_id": st["node_info"]["id"],
                "moniker": st["node_info"]["moniker"],
                "cometbft_version": st["node_info"]["version"],
                "catching_up": bool(sync["catching_up"]),
                "voting_power": int(st["validator_info"]["voting_power"]),
                "validator_address": st["validator_info"]["address"],
            },
        )

    async def _aget_block(self, height: int) -> BlockRecord | None:
        block, results = await self._rpc.abatch_settled(
            [("block", {"height": str(height)}), ("block_results", {"height": str(height)})]
        )
        for r in (block, results):
            if isinstance(r, CometRPCError):
                if is_missing(r):
                    return None
                raise r
        assert isinstance(block, dict) and isinstance(results, dict)
        return block_record_from_rpc(block, results)

    async def subscribe(self) -> AsyncGenerator[NodeEvent, None]:
        """New blocks from now on, each followed by its txs. Polls; never ends by itself."""
        status = await self._rpc.acall("status")
        next_height = int(status["sync_info"]["latest_block_height"]) + 1
        while True:
            record = await self._aget_block(next_height)
            if record is None:
                await asyncio.sleep(self.poll_interval)
                continue
            yield NodeEvent(kind="block", height=next_height, block=record)
            for index, (tx, result) in enumerate(zip(record.txs, record.results, strict=False)):
                if is_entry(tx):
                    continue  # the block's beacon entry: not a tx anyone sent (docs/api.md)
                tx_record = TxRecord(
                    hash=hashlib.sha256(tx).digest(),
                    height=next_height,
                    index=index,
                    tx=tx,
                    result=result,
                )
                yield NodeEvent(kind="tx", height=next_height, tx=tx_record)
            next_height += 1

    async def wait_for_height(self, height: int, timeout: float) -> int:
        """Wait until a block at `height` or above is executed; return the latest height.

        Raises TimeoutError after `timeout` seconds (RPC errors count as "not yet").
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = await self._rpc.acall("status")
                latest = int(status["sync_info"]["latest_block_height"])
                if latest >= height:
                    return latest
            except CometRPCError:
                pass
            if time.monotonic() >= deadline:
                raise TimeoutError(f"height {height} not reached within {timeout:g}s")
            await asyncio.sleep(self.poll_interval)
