"""The order a proposer takes mempool txs in: highest tip per gas first, each signer's in order.

CometBFT v0.38 has no priority mempool (the CheckTx priority field is gone), so a tip buys
precedence in PrepareProposal. This merges the signers' queues by the tip of each one's next tx
(ties: the mempool's order): a signer's later tx never passes its earlier one, which it needs
(its sequence). A signer whose tx is left out offers nothing more: its later txs would fail
`wrong_sequence`.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence

from voxpop.chain.modules.feemarket.state import PRICE_SCALE, charge
from voxpop.chain.tx import Tx


def tip_per_gas(tx: Tx, base_price: int) -> int:
    """The tx's tip (its fee above the base charge) per gas, in price units (may be negative:
    a fee-exempt tx pays nothing)."""
    body = tx.body
    tip = body.fee - charge(body.gas_limit, base_price)
    return tip * PRICE_SCALE // max(body.gas_limit, 1)


class TipOrder:
    """Offer txs by tip: `next()` gives the best head; `taken()` says the last one was taken,
    so its signer's next tx is offered (else the signer is done)."""

    def __init__(self, txs: Sequence[tuple[bytes, Tx]], base_price: int) -> None:
        self._base = base_price
        self._queues: dict[bytes, deque[tuple[int, bytes, Tx]]] = {}
        for index, (raw, tx) in enumerate(txs):
            self._queues.setdefault(tx.body.pub_key, deque()).append((index, raw, tx))
        self._heap = [self._head(signer) for signer in self._queues]
        heapq.heapify(self._heap)
        self._last: bytes | None = None

    def _head(self, signer: bytes) -> tuple[int, int, bytes]:
        index, _, tx = self._queues[signer][0]
        return -tip_per_gas(tx, self._base), index, signer

    def next(self) -> tuple[bytes, Tx] | None:
        if not self._heap:
            return None
        _, _, signer = heapq.heappop(self._heap)
        _, raw, tx = self._queues[signer].popleft()
        self._last = signer
        return raw, tx

    def taken(self) -> None:
        signer = self._last
        if signer is not None and self._queues[signer]:
            heapq.heappush(self._heap, self._head(signer))
        self._last = None
