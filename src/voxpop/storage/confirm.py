"""Batched `storage/Confirm`: shards stored since the last flush are confirmed in one tx.

An upload is answered once its shard is on disk; its placement is confirmed on chain by the next
flush (the duties loop runs it every poll interval), so many uploads share one tx. A refused
batch is checked placement by placement against the chain: those no longer pending here (already
confirmed, replaced, deal closed) are dropped, the rest are tried again.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxpop.chain.modules.storage.messages import MAX_PLACEMENTS_PER_CONFIRM, MsgConfirm
from voxpop.storage import wire
from voxpop.storage.chain import ChainLink, ChainUnavailableError, TxFailedError


@dataclass(slots=True)
class ConfirmStats:
    confirmed: int = 0
    txs: int = 0
    errors: int = 0
    last_error: str = ""


class Confirmer:
    def __init__(self, link: ChainLink) -> None:
        self.link = link
        self.pending: set[tuple[bytes, int]] = set()
        self.stats = ConfirmStats()

    def queue(self, object_id: bytes, index: int) -> None:
        self.pending.add((object_id, index))

    async def flush(self) -> int:
        """Confirm everything queued; returns how many placements were confirmed."""
        done = 0
        while self.pending:
            batch = sorted(self.pending)[:MAX_PLACEMENTS_PER_CONFIRM]
            msg = MsgConfirm(provider=self.link.address, placements=tuple(batch))
            try:
                await self.link.send([msg], gas=wire.confirm_gas(len(batch)))
            except ChainUnavailableError as exc:
                self._error(exc)
                return done  # the node is away: keep the queue for the next flush
            except TxFailedError as exc:
                self._error(exc)
                await self._drop_settled(batch)
                return done
            self.pending.difference_update(batch)
            self.stats.txs += 1
            self.stats.confirmed += len(batch)
            done += len(batch)
        return done

    async def _drop_settled(self, batch: list[tuple[bytes, int]]) -> None:
        for object_id, index in batch:
            try:
                deal = await self.link.deal(object_id)
            except ChainUnavailableError:
                return
            placement = None
            if deal is not None and index < len(deal.placements):
                placement = deal.placements[index]
            if (
                placement is None
                or placement.provider != self.link.address
                or placement.status != wire.PENDING
            ):
                self.pending.discard((object_id, index))

    def _error(self, exc: Exception) -> None:
        self.stats.errors += 1
        self.stats.last_error = str(exc)
