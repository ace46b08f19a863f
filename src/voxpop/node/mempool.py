"""The solo node's mempool: txs that passed check_tx, in arrival order, bounded in count, bytes."""

from __future__ import annotations

from collections.abc import Iterable

from voxpop.chain.errors import MempoolFullError, TxInMempoolError

__all__ = ["Mempool", "MempoolFullError", "TxInMempoolError"]


class Mempool:
    def __init__(self, max_txs: int, max_bytes: int) -> None:
        self.max_txs = max_txs
        self.max_bytes = max_bytes
        self._txs: dict[bytes, bytes] = {}  # hash -> tx, insertion-ordered
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._txs)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._txs

    def check_room(self, tx_hash: bytes, size: int) -> None:
        # Verify the tx is new and fits
        if tx_hash in self._txs:
            raise TxInMempoolError("tx is already in the mempool")
        if len(self._txs) >= self.max_txs or self._bytes + size > self.max_bytes:
            raise MempoolFullError("mempool is full; retry later")

    def add(self, tx_hash: bytes, tx: bytes) -> None:
        self._txs[tx_hash] = tx
        self._bytes += len(tx)

    def reap(self, max_bytes: int) -> list[bytes]:
        out, size = [], 0
        for tx in self._txs.values():
            if size + len(tx) > max_bytes:
                break
            out.append(tx)
            size += len(tx)
        return out

    def remove(self, hashes: Iterable[bytes]) -> None:
        for h in hashes:
            tx = self._txs.pop(h, None)
            if tx is not None:
                self._bytes -= len(tx)

    def items(self) -> list[tuple[bytes, bytes]]:
        return list(self._txs.items())
