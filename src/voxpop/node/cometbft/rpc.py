"""CometBFT's JSON-RPC: a client (sync, async, batches) and what its answers mean to us."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any

import httpx

from voxpop.chain.abci import Event, EventAttribute, ExecTxResult
from voxpop.chain.errors import ChainError, MempoolFullError, TxInMempoolError
from voxpop.node.service import BlockHeader, BlockRecord, TxRecord


class CometRPCError(RuntimeError):
    """CometBFT's RPC answered with a JSON-RPC error, or could not be reached."""

    def __init__(self, method: str, message: str, data: str = "") -> None:
        super().__init__(f"{method}: {message}{': ' + data if data else ''}")
        self.method = method
        self.message = message
        self.data = data


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def unhex(value: str | None) -> bytes:
    return bytes.fromhex(value) if value else b""


def parse_rfc3339_unix(value: str) -> int:
    """Whole Unix seconds of CometBFT's RFC 3339 time (nanosecond precision, `Z` or offset)."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)", value)
    if m is None:
        raise ValueError(f"not an RFC 3339 time: {value!r}")
    zone = "+00:00" if m.group(2) == "Z" else m.group(2)
    return int(datetime.fromisoformat(m.group(1) + zone).timestamp())


def _events(items: list[dict[str, Any]] | None) -> tuple[Event, ...]:
    return tuple(
        Event(
            type=e.get("type", ""),
            attributes=tuple(
                EventAttribute(
                    key=a.get("key", ""), value=a.get("value", ""), indexed=bool(a.get("index"))
                )
                for a in e.get("attributes") or ()
            ),
        )
        for e in items or ()
    )


def _exec_result(r: dict[str, Any]) -> ExecTxResult:
    return ExecTxResult(
        code=int(r.get("code", 0)),
        log=r.get("log", ""),
        codespace=r.get("codespace", ""),
        gas_wanted=int(r.get("gas_wanted", 0)),
        gas_used=int(r.get("gas_used", 0)),
        events=_events(r.get("events")),
    )


def block_record_from_rpc(block: dict[str, Any], results: dict[str, Any]) -> BlockRecord:
    """A BlockRecord from `/block` and `/block_results` of one height.

    `header.app_hash` is the state root *after* this block (as in solo mode): that is
    `block_results.app_hash`; CometBFT's own header at H carries the root after H-1.
    """
    header = block["block"]["header"]
    txs = tuple(unb64(t) for t in block["block"]["data"].get("txs") or ())
    return BlockRecord(
        header=BlockHeader(
            chain_id=header["chain_id"],
            height=int(header["height"]),
            time_unix=parse_rfc3339_unix(header["time"]),
            last_block_hash=unhex(header["last_block_id"]["hash"]),
            data_hash=unhex(header["data_hash"]),
            app_hash=unb64(results.get("app_hash")),
            proposer=unhex(header["proposer_address"]),
            num_txs=len(txs),
        ),
        hash=unhex(block["block_id"]["hash"]),
        txs=txs,
        results=tuple(_exec_result(r) for r in results.get("txs_results") or ()),
        events=_events(results.get("finalize_block_events")),
    )


def tx_record_from_rpc(result: dict[str, Any]) -> TxRecord:
    return TxRecord(
        hash=unhex(result["hash"]),
        height=int(result["height"]),
        index=int(result["index"]),
        tx=unb64(result["tx"]),
        result=_exec_result(result["tx_result"]),
    )


def mempool_refusal(err: CometRPCError) -> ChainError:
    """The chain error for CometBFT refusing a tx before CheckTx (`broadcast_tx_sync` error)."""
    text = err.data or err.message
    if text.startswith("mempool is full"):
        return MempoolFullError(text)
    if "already exists in cache" in text:
        return TxInMempoolError(f"tx is already in the mempool or was committed recently ({text})")
    return ChainError(f"refused by CometBFT: {text}")


def is_missing(err: CometRPCError) -> bool:
    """JSON-RPC errors that mean "not there (yet)" rather than "something is wrong"."""
    text = err.data.lower()
    return any(
        s in text
        for s in (
            "not found",
            "must be less than or equal",
            "could not find results",
            "is not available",  # below the block store's base: pruned (retain_height)
        )
    )


class JsonRpc:
    """JSON-RPC 2.0 over HTTP POST to CometBFT, sync and async, with batches."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self._timeout = timeout
        self._client = httpx.Client(timeout=timeout)  # thread-safe; used from worker threads
        self._aclient: httpx.AsyncClient | None = None
        self._seq = 0

    def _payload(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._seq += 1
        return {"jsonrpc": "2.0", "id": self._seq, "method": method, "params": params}

    @staticmethod
    def _result(method: str, reply: dict[str, Any]) -> Any:
        if reply.get("error"):
            err = reply["error"]
            raise CometRPCError(method, str(err.get("message", "")), str(err.get("data", "")))
        return reply["result"]

    def call(self, method: str, **params: Any) -> Any:
        try:
            reply = self._client.post(self.url, json=self._payload(method, params))
            reply.raise_for_status()
        except httpx.HTTPError as exc:
            raise CometRPCError(method, f"RPC unreachable at {self.url}: {exc}") from exc
        return self._result(method, reply.json())

    async def acall(self, method: str, **params: Any) -> Any:
        return (await self.abatch([(method, params)]))[0]

    async def abatch(self, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        """Send calls in one batch; results in order. Raises the first error, if any."""
        results = await self.abatch_settled(calls)
        for r in results:
            if isinstance(r, CometRPCError):
                raise r
        return results

    async def abatch_settled(
        self, calls: list[tuple[str, dict[str, Any]]]
    ) -> list[Any | CometRPCError]:
        """Send calls in one batch; each result, or the CometRPCError for that call, in order."""
        if self._aclient is None:
            self._aclient = httpx.AsyncClient(timeout=self._timeout)
        payloads = [self._payload(m, p) for m, p in calls]
        body: Any = payloads if len(payloads) > 1 else payloads[0]
        method_names = ",".join(m for m, _ in calls)
        try:
            reply = await self._aclient.post(self.url, json=body)
            reply.raise_for_status()
        except httpx.HTTPError as exc:
            raise CometRPCError(method_names, f"RPC unreachable at {self.url}: {exc}") from exc
        data = reply.json()
        replies = data if isinstance(data, list) else [data]
        by_id = {r.get("id"): r for r in replies}
        out: list[Any | CometRPCError] = []
        for (method, _), payload in zip(calls, payloads, strict=True):
            r = by_id.get(payload["id"])
            if r is None:
                out.append(CometRPCError(method, "no reply in batch"))
                continue
            try:
                out.append(self._result(method, r))
            except CometRPCError as err:
                out.append(err)
        return out

    def close(self) -> None:
        self._client.close()

    async def aclose(self) -> None:
        self.close()
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None
