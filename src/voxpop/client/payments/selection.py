"""Choosing a provider: score each usable offer from the owner's weights, skip the ones that
failed lately, and learn from every call.

Each term is in [0, 1]; the score is their weighted sum:

    price       cheapest price of the kind / this price
    latency     fastest measured latency / this one (0.5 until measured)
    receipts    (verified receipts + 1) / (receipts + failures + 2): own history, Laplace-smoothed
    reputation  the mean of (value settled to it on chain / the most settled to any candidate)
                and (its distinct payers / the most any candidate has)

A provider that is down, slow or answers without a valid receipt is skipped for the policy's
cooldown, and its failure counts against its receipts term from then on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from voxpop.client.payments.offers import Candidate
from voxpop.client.payments.policy import Policy

LATENCY_SMOOTHING = 0.3  # weight of the newest sample in the moving average
UNMEASURED = 0.5


@dataclass(slots=True)
class ProviderStats:
    latency: float | None = None  # seconds, moving average of served calls
    receipts: int = 0  # verified receipts (from the ledger's history, then this session)
    failures: int = 0  # down, slow, refused or a bad answer
    skip_until: float = 0.0  # monotonic time before which it is not chosen
    last_problem: str = ""


class Selector:
    def __init__(self, policy: Policy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.clock = clock
        self.stats: dict[bytes, ProviderStats] = {}

    def stats_of(self, provider: bytes) -> ProviderStats:
        return self.stats.setdefault(provider, ProviderStats())

    # --- learning -------------------------------------------------------------------------------

    def record_success(self, provider: bytes, latency: float) -> None:
        s = self.stats_of(provider)
        s.receipts += 1
        s.latency = (
            latency
            if s.latency is None
            else (LATENCY_SMOOTHING * latency + (1 - LATENCY_SMOOTHING) * s.latency)
        )

    def record_failure(self, provider: bytes, problem: str, *, skip: bool = True) -> None:
        """Count a failure; with `skip`, leave the provider out for the policy's cooldown."""
        s = self.stats_of(provider)
        s.failures += 1
        s.last_problem = problem
        if skip:
            s.skip_until = self.clock() + self.policy.cooldown

    # --- choosing -------------------------------------------------------------------------------

    def usable(self, candidate: Candidate) -> bool:
        return (
            self.policy.allows_price(candidate.kind, candidate.offer.price)
            and self.stats_of(candidate.provider).skip_until <= self.clock()
        )

    def rank(self, candidates: Sequence[Candidate]) -> list[Candidate]:
        """The usable candidates, best first (ties: lower address first)."""
        usable = [c for c in candidates if self.usable(c)]
        scores = self.scores(usable)
        return sorted(usable, key=lambda c: (-scores[c.provider], c.provider))

    def scores(self, candidates: Sequence[Candidate]) -> dict[bytes, float]:
        if not candidates:
            return {}
        w = self.policy.weights
        cheapest = min(c.offer.price for c in candidates)
        measured = [
            s.latency for c in candidates if (s := self.stats_of(c.provider)).latency is not None
        ]
        fastest = min(measured) if measured else None
        most_settled = max(c.reputation.settled for c in candidates)
        most_payers = max(c.reputation.payers for c in candidates)
        out = {}
        for c in candidates:
            s = self.stats_of(c.provider)
            price = 1.0 if c.offer.price == 0 else cheapest / c.offer.price
            if s.latency is None or fastest is None:
                latency = UNMEASURED
            else:
                latency = fastest / s.latency if s.latency > 0 else 1.0
            receipts = (s.receipts + 1) / (s.receipts + s.failures + 2)
            reputation = (
                (c.reputation.settled / most_settled if most_settled else 0.0)
                + (c.reputation.payers / most_payers if most_payers else 0.0)
            ) / 2
            out[c.provider] = (
                w.price * price
                + w.latency * latency
                + w.receipts * receipts
                + w.reputation * reputation
            ) / (w.price + w.latency + w.receipts + w.reputation)
        return out
