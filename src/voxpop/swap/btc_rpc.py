"""A small JSON-RPC client for a Bitcoin node (btcd; the calls used are also bitcoind's, except
`searchrawtransactions`, which needs btcd's --addrindex), over httpx.

Only the calls the Bitcoin leg makes, each returning plain JSON values. Amounts never come from the
JSON (btcd prints them as floating-point BTC): callers decode the raw transaction hex instead.
"""

from __future__ import annotations

import itertools
from types import TracebackType
from typing import Any, Self

import httpx

from voxpop.swap.btc_errors import BtcRpcError, BtcUnreachableError

# btcd's code when an address has no transactions in the address index
RPC_NO_TX_INFO = -5


class BtcRpc:
    def __init__(self, url: str, user: str, password: str, timeout: float = 30.0) -> None:
        self.url = url
        self._http = httpx.Client(auth=(user, password), timeout=timeout)
        self._ids = itertools.count(1)

    def call(self, method: str, *params: Any) -> Any:
        """One call. Raises BtcRpcError (the node's code and message) or BtcUnreachableError."""
        body = {"jsonrpc": "1.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            response = self._http.post(self.url, json=body)
        except httpx.HTTPError as e:
            raise BtcUnreachableError(f"{method}: no answer from {self.url}: {e}") from e
        if response.status_code == 401:
            raise BtcRpcError(method, -401, "the node refused the RPC user or password")
        try:
            answer = response.json()
        except ValueError as e:
            raise BtcRpcError(method, response.status_code, response.text[:200]) from e
        error = answer.get("error")
        if error:
            raise BtcRpcError(method, int(error.get("code", 0)), str(error.get("message", "")))
        return answer.get("result")

    # Chain
    def block_count(self) -> int:
        return int(self.call("getblockcount"))

    def block_height(self, block_hash: str) -> int:
        return int(self.call("getblockheader", block_hash, True)["height"])

    def generate(self, blocks: int) -> list[str]:
        """Mine `blocks` blocks to the node's --miningaddr (regtest and simnet only)."""
        return list(self.call("generate", blocks))

    # Transactions
    def send_raw_transaction(self, tx_hex: str) -> str:
        return str(self.call("sendrawtransaction", tx_hex))

    def raw_transaction(self, txid: str) -> dict[str, Any] | None:
        """The tx (verbose: hex, confirmations, blockhash) from the mempool or the tx index;
        None if the node knows no such tx."""
        try:
            tx: dict[str, Any] = self.call("getrawtransaction", txid, 1)
        except BtcRpcError as e:
            if e.rpc_code == RPC_NO_TX_INFO:
                return None
            raise
        return tx

    def address_transactions(self, address: str) -> list[dict[str, Any]]:
        """Every tx paying or spending `address`, confirmed and in the mempool (btcd's
        searchrawtransactions; the node must run with --addrindex)."""
        found: list[dict[str, Any]] = []
        page = 500
        for skip in itertools.count(0, page):
            try:
                batch = self.call("searchrawtransactions", address, 1, skip, page)
            except BtcRpcError as e:
                if e.rpc_code == RPC_NO_TX_INFO:
                    break
                raise
            found.extend(batch or [])
            if not batch or len(batch) < page:
                break
        return found

    def fee_rate_estimate(self, blocks: int) -> int | None:
        """The node's fee estimate for confirmation within `blocks`, in sat/vB rounded up; None
        when it has none (btcd answers 0 or -1 with too little history, as on regtest)."""
        try:
            btc_per_kb = self.call("estimatefee", blocks)
        except BtcRpcError:
            return None
        # BTC per 1000 vB to sat per vB: x * 1e8 / 1000 = x * 1e5. The float is the node's
        # answer; round it up to whole sat/vB at once so no float goes further.
        sat_per_vb = -(-round(float(btc_per_kb) * 1e8) // 1000)
        return sat_per_vb if sat_per_vb > 0 else None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
