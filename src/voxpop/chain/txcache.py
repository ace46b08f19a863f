"""Decoded txs and signature verdicts by tx hash, shared by check_tx, the block and a verifier.

A tx is decoded and its signature verified once, whichever comes first: the node's pre-verifier
thread, check_tx, or finalize_block. Results never depend on the cache (decoding and Ed25519
verification are pure functions of the bytes), so it cannot make nodes disagree. Bounded; safe to
use from several threads.
"""

from __future__ import annotations

import threading

from voxpop.chain.tx import Tx

DEFAULT_SIZE = 200_000


class TxCache:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: dict[bytes, tuple[Tx, bool]] = {}  # insertion-ordered: oldest first

    def get(self, tx_hash: bytes) -> tuple[Tx, bool] | None:
        """(tx, signature verified) if this tx was seen."""
        return self._entries.get(tx_hash)

    def put(self, tx: Tx, verified: bool) -> None:
        with self._lock:
            entries = self._entries
            entries[tx.hash] = (tx, verified)
            while len(entries) > self._size:
                del entries[next(iter(entries))]

    def __len__(self) -> int:
        return len(self._entries)
