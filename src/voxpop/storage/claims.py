"""The claimer: `storage/Claim` for the deals whose judged epochs have not been settled yet.

The chain pays a placement for each epoch of its term it was confirmed for and not faulted in,
once that epoch is over; claiming is what moves the pay. The claimer claims every deal with a
placement here whose settled epoch is behind the current one, at most MAX_CLAIM deals a tx.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxpop.chain.modules.storage.messages import MAX_CLAIM, MsgClaim
from voxpop.chain.modules.storage.state import compute_share
from voxpop.storage import wire
from voxpop.storage.chain import ChainLink, ChainUnavailableError, TxFailedError
from voxpop.storage.holdings import Holdings

CLAIM_GAS_BASE = 150_000
CLAIM_GAS_PER_DEAL = 30_000


@dataclass(slots=True)
class ClaimStats:
    claim_txs: int = 0
    errors: int = 0
    last_error: str = ""


def claimable(holdings: Holdings, epoch: int) -> tuple[list[bytes], int]:
    """The deals with pay for epochs before `epoch` not settled yet, and about how much (the
    chain leaves out faulted epochs, which this estimate does not know). A tiny shard's escrow
    may round to nothing for many epochs: such deals wait (the rest is settled at the end)."""
    ids: set[bytes] = set()
    owed = 0
    for (object_id, _), placement in sorted(holdings.placements.items()):
        deal = holdings.deals[object_id]
        through = min(epoch, deal.end_epoch)
        if placement.status == wire.PENDING or placement.settled >= through:
            continue
        start = max(placement.settled, placement.active_from)
        share = compute_share(placement, deal.end_epoch, start, through) if start < through else 0
        # Verify there is pay to move: a claim of nothing would only spend its fee
        if share > 0:
            owed += share
            ids.add(object_id)
    return sorted(ids), owed


def earned(holdings: Holdings) -> int:
    """uvox the chain has paid this node on the deals it still holds."""
    return sum(p.paid for p in holdings.placements.values())


class Claimer:
    def __init__(self, link: ChainLink) -> None:
        self.link = link
        self.stats = ClaimStats()

    async def claim(self, holdings: Holdings, epoch: int) -> int:
        """Claim every deal with something to settle; returns how many claim txs landed."""
        ids, _ = claimable(holdings, epoch)
        landed = 0
        for start in range(0, len(ids), MAX_CLAIM):
            batch = tuple(ids[start : start + MAX_CLAIM])
            msg = MsgClaim(provider=self.link.address, object_ids=batch)
            try:
                await self.link.send([msg], gas=CLAIM_GAS_BASE + CLAIM_GAS_PER_DEAL * len(batch))
            except (ChainUnavailableError, TxFailedError) as exc:
                self.stats.errors += 1
                self.stats.last_error = str(exc)
                continue
            landed += 1
            self.stats.claim_txs += 1
        return landed
