"""Spending limits shared by authz's send authorization and feegrant's fee allowance.

A limit has an optional total (`spend_limit`, uvox left; 0 = no total) and an optional per-period
cap (`period_limit` uvox per `period_seconds` of block time; 0 = none). Periods are fixed windows
counted from the grant's start, so the same blocks always give the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from voxpop.chain.errors import ChainError, InvalidGenesisError, InvalidMessageError
from voxpop.chain.modules.bounds import MAX_DURATION_SECONDS, MAX_UINT64
from voxpop.chain.modules.codec import genesis_address


@dataclass(frozen=True, slots=True)
class SpendLimits:
    spend_limit: int = 0  # uvox left in all; 0 = no total (a limit spent to 0 ends the grant)
    period_seconds: int = 0  # 0 = no per-period cap
    period_limit: int = 0  # uvox per period
    period_start: int = 0  # block time the current period began
    period_spent: int = 0  # uvox spent in the current period

    def spend(self, amount: int, now: int, error: type[ChainError]) -> tuple[SpendLimits, bool]:
        """The limits after spending `amount` at block time `now`, and whether the total is now
        used up. Raises `error` if `amount` exceeds what is left in total or in this period."""
        # Verify the total left covers the amount
        if self.spend_limit and amount > self.spend_limit:
            raise error(f"{amount} uvox exceeds the {self.spend_limit} uvox left")
        start, spent = self.period_start, self.period_spent
        if self.period_seconds:
            if now >= start + self.period_seconds:  # a new period: start its window, reset
                start = now - (now - start) % self.period_seconds
                spent = 0
            # Verify this period's cap covers the amount
            if spent + amount > self.period_limit:
                left = self.period_limit - spent
                raise error(f"{amount} uvox exceeds the {left} uvox left in this period")
            spent += amount
        left_total = self.spend_limit - amount if self.spend_limit else 0
        used_up = self.spend_limit != 0 and left_total == 0
        return replace(
            self, spend_limit=left_total, period_start=start, period_spent=spent
        ), used_up

    def to_value(self) -> dict[str, Any]:
        return {
            "spend_limit": self.spend_limit,
            "period_seconds": self.period_seconds,
            "period_limit": self.period_limit,
            "period_start": self.period_start,
            "period_spent": self.period_spent,
        }

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> SpendLimits:
        return cls(
            value["spend_limit"],
            value["period_seconds"],
            value["period_limit"],
            value["period_start"],
            value["period_spent"],
        )


LIMIT_FIELDS = (
    "spend_limit",
    "period_seconds",
    "period_limit",
    "period_start",
    "period_spent",
    "expiration",
)


def genesis_grant_entry(
    entry: Any, where: str, *, ints: tuple[str, ...] = (), others: tuple[str, ...] = ()
) -> tuple[bytes, bytes, SpendLimits]:
    """A genesis record of a grant between two accounts (authz's grants, feegrant's
    allowances): exactly granter, grantee, LIMIT_FIELDS, `ints` (more unsigned integers) and
    `others` (checked by the caller). Returns granter, grantee and the limits.

    Raises InvalidGenesisError.
    """
    # Verify exactly the record's fields, each integer field within 64 bits
    expected = {"granter", "grantee", *LIMIT_FIELDS, *ints, *others}
    if not isinstance(entry, dict) or set(entry) != expected:
        raise InvalidGenesisError(f"{where} needs exactly {sorted(expected)}")
    for name in (*LIMIT_FIELDS, *ints):
        if type(entry[name]) is not int or not 0 <= entry[name] <= MAX_UINT64:
            raise InvalidGenesisError(f"{where}.{name} must be an unsigned 64-bit integer")
    granter = genesis_address(entry["granter"], where)
    grantee = genesis_address(entry["grantee"], where)
    return granter, grantee, SpendLimits.from_value(entry)


def check_period(period_seconds: int, period_limit: int) -> None:
    """Stateless check of a per-period cap: both set or both zero, the period within the horizon.
    Raises InvalidMessageError."""
    # Verify a period and its cap come together
    if (period_seconds == 0) != (period_limit == 0):
        raise InvalidMessageError("period_seconds and period_limit must both be set or both be 0")
    # Verify the period fits the horizon block times are kept within
    if period_seconds > MAX_DURATION_SECONDS:
        raise InvalidMessageError(f"period_seconds must be at most {MAX_DURATION_SECONDS}")
