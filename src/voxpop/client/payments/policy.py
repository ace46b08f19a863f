"""The owner's policy: how the paying client chooses providers, funds channels and caps spending.

Amounts are integer uvox. Weights are small non-negative integers; only their ratios matter. The
defaults weigh what the client measures itself (latency, receipts) six times above on-chain
reputation, because a provider can make its reputation with its own accounts (services README).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from voxpop.client.payments.errors import SpendingCapError


@dataclass(frozen=True, slots=True)
class Weights:
    price: int = 30
    latency: int = 30
    receipts: int = 30
    reputation: int = 10

    def __post_init__(self) -> None:
        # Verify the weights are usable: none negative, not all zero
        values = (self.price, self.latency, self.receipts, self.reputation)
        if any(w < 0 for w in values) or sum(values) == 0:
            raise ValueError("weights must be non-negative and not all zero")


@dataclass(frozen=True, slots=True)
class Policy:
    """`deposit`: uvox locked in each new channel. When a channel's unspent deposit falls below
    `top_up_below`, the next call first adds `top_up_amount`. `daily_cap` (all services) and
    `service_caps` (by kind) bound what is signed away per UTC day; None or absent = no cap.
    `timeout`: seconds before a provider counts as slow and the call moves on. `cooldown`: seconds
    a down or misbehaving provider is skipped. `max_price`: offers above it (per unit, by kind)
    are never chosen."""

    weights: Weights = field(default_factory=Weights)
    deposit: int = 10_000_000
    top_up_below: int = 1_000_000
    top_up_amount: int = 10_000_000
    daily_cap: int | None = None
    service_caps: Mapping[str, int] = field(default_factory=dict)
    max_price: Mapping[str, int] = field(default_factory=dict)
    timeout: float = 10.0
    cooldown: float = 300.0

    def __post_init__(self) -> None:
        # Verify amounts are positive integers and the refill keeps a channel above its threshold
        for name in ("deposit", "top_up_amount"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer (uvox)")
        if not isinstance(self.top_up_below, int) or self.top_up_below < 0:
            raise ValueError("top_up_below must be a non-negative integer (uvox)")
        if self.top_up_below >= self.deposit:
            raise ValueError("top_up_below must be below the deposit")
        caps = list(self.service_caps.values()) + list(self.max_price.values())
        if self.daily_cap is not None:
            caps.append(self.daily_cap)
        if any(not isinstance(c, int) or c < 0 for c in caps):
            raise ValueError("caps and prices must be non-negative integers (uvox)")
        if self.timeout <= 0 or self.cooldown < 0:
            raise ValueError("timeout must be positive and cooldown non-negative")

    def check_caps(self, kind: str, cost: int, spent_total: int, spent_kind: int) -> None:
        """Raise SpendingCapError if paying `cost` now would pass a cap, given what was spent
        today in all (`spent_total`) and on `kind` (`spent_kind`)."""
        # Verify the per-service cap, then the overall cap
        kind_cap = self.service_caps.get(kind)
        if kind_cap is not None and spent_kind + cost > kind_cap:
            raise SpendingCapError(kind, kind_cap, spent_kind, cost)
        if self.daily_cap is not None and spent_total + cost > self.daily_cap:
            raise SpendingCapError("total", self.daily_cap, spent_total, cost)

    def allows_price(self, kind: str, price: int) -> bool:
        limit = self.max_price.get(kind)
        return limit is None or price <= limit
