"""The claimer: turns the durable best vouchers into `channels/Claim` txs.

It claims when the unclaimed total passes a threshold, and at once for any channel whose payer
started its settle window (the payee can still claim within it, never after). A claim carries at
most `MAX_VOUCHERS_PER_CLAIM` vouchers (the chain's `max_vouchers_per_claim`); more go in several.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from voxpop.crypto.vouchers import Voucher
from voxpop.provider.view import ChannelView, ViewUnavailableError

MAX_VOUCHERS_PER_CLAIM = 64
DEFAULT_CLAIM_THRESHOLD = 1_000_000  # uvox: 1 VOX unclaimed across all channels

# Sends one claim tx carrying these vouchers and waits for it to commit; raises ClaimError.
ClaimSubmitter = Callable[[Sequence[Voucher]], Awaitable[None]]


class ClaimError(Exception):
    """A claim tx was refused or could not be sent."""


@dataclass(frozen=True, slots=True)
class Owed:
    vouchers: tuple[Voucher, ...]  # the best voucher of each channel with something unclaimed
    unclaimed: int  # uvox the chain has not paid yet across them
    urgent: bool  # some channel is settling: claim now, whatever the threshold


def compute_owed(view: ChannelView, best: Mapping[bytes, Voucher]) -> Owed:
    """What the chain still owes on the durable vouchers, by the verified view."""
    vouchers = []
    unclaimed = 0
    urgent = False
    for channel_id, voucher in sorted(best.items()):
        entry = view.entries.get(channel_id)
        if entry is None or entry.info is None:
            continue
        gap = voucher.amount - entry.info.claimed
        if gap <= 0:
            continue
        vouchers.append(voucher)
        unclaimed += gap
        urgent = urgent or entry.info.settle_at != 0
    return Owed(tuple(vouchers), unclaimed, urgent)


class Claimer:
    def __init__(
        self,
        view: ChannelView,
        best: Mapping[bytes, Voucher],
        submit: ClaimSubmitter,
        threshold: int = DEFAULT_CLAIM_THRESHOLD,
    ) -> None:
        self.view = view
        self.best = best  # the ledger's durable best vouchers (a live mapping)
        self.submit = submit
        self.threshold = threshold
        self.claims_sent = 0
        self.errors = 0
        self.last_error = ""

    def owed(self) -> Owed:
        return compute_owed(self.view, self.best)

    async def tick(self) -> int:
        """Claim if due (threshold passed or a channel settling); returns how many txs landed."""
        owed = self.owed()
        if not owed.vouchers or not (owed.urgent or owed.unclaimed >= self.threshold):
            return 0
        return await self.claim(owed.vouchers)

    async def claim_all(self) -> int:
        """Claim everything owed now, whatever the threshold; returns how many txs landed."""
        return await self.claim(self.owed().vouchers)

    async def claim(self, vouchers: Sequence[Voucher]) -> int:
        landed = 0
        for start in range(0, len(vouchers), MAX_VOUCHERS_PER_CLAIM):
            batch = vouchers[start : start + MAX_VOUCHERS_PER_CLAIM]
            try:
                await self.submit(batch)
            except ClaimError as exc:
                self.errors += 1
                self.last_error = str(exc)
            else:
                landed += 1
                self.claims_sent += 1
            # Read the channels again either way: a refused claim may mean the view was behind
            for voucher in batch:
                try:
                    await self.view.load(voucher.channel_id)
                except ViewUnavailableError:  # the view records why; the next tick retries
                    break
        return landed
