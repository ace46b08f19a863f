"""Decoded txs whose signatures verified, by tx hash, shared by check_tx, the block and a verifier.

A tx is decoded and its signature verified once, whichever comes first: the node's pre-verifier
thread, check_tx, or finalize_block. Results never depend on the cache (decoding and Ed25519
verification are pure functions of the bytes), so it cannot make nodes disagree.

Only txs whose signature verified are kept: anyone can send junk, and junk must not buy memory.
Bounded both in entries and in bytes (oldest first out); safe to use from several threads.
"""

from __future__ import annotations

import threading

from voxpop.chain.tx import Tx

DEFAULT_SIZE = 200_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# What a cached tx costs beyond its raw bytes (decoded body, dict slot), roughly
ENTRY_OVERHEAD = 512


class TxCache:
    def __init__(self, size: int = DEFAULT_SIZE, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()
        self._entries: dict[bytes, Tx] = {}  # insertion-ordered: oldest first

    def get(self, tx_hash: bytes) -> tuple[Tx, bool] | None:
        """(tx, True) if this tx was seen with a verified signature."""
        tx = self._entries.get(tx_hash)
        return None if tx is None else (tx, True)

    def put(self, tx: Tx) -> None:
        """Remember `tx`, whose signature the caller has verified."""
        with self._lock:
            entries = self._entries
            if tx.hash in entries:
                return
            entries[tx.hash] = tx
            self._bytes += len(tx.raw) + ENTRY_OVERHEAD
            while len(entries) > self._size or self._bytes > self._max_bytes:
                oldest = entries.pop(next(iter(entries)))
                self._bytes -= len(oldest.raw) + ENTRY_OVERHEAD

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)
