"""The bounds genesis enforces on every parameter, so that what a genesis sets up cannot fail later.

Each bound comes from where the value is used: a time written into an 8-byte key, an amount that
must stay within 64 bits, a size CometBFT refuses beyond, a loop run in one block. See
docs/security.md for the list. The horizon is how far ahead genesis must be safe: 100 years of
block time from genesis.
"""

from __future__ import annotations

from typing import Any

from voxpop.chain.errors import InvalidGenesisError

SECONDS_PER_YEAR = 31_557_600  # 365.25 days, as the distribution module counts issuance
HORIZON_YEARS = 100
HORIZON_SECONDS = HORIZON_YEARS * SECONDS_PER_YEAR
# A duration param (unbonding, jail, epochs, attestation and evidence ages) is at most the horizon:
# block time plus a duration lands in 8-byte big-endian keys and must never wrap
MAX_DURATION_SECONDS = HORIZON_SECONDS
MAX_UINT64 = (1 << 64) - 1
MAX_INT64 = (1 << 63) - 1  # CometBFT's gas, power and height fields are int64


def param_int(module: str, name: str, value: Any, low: int, high: int) -> int:
    """`value` as an integer in [low, high]; raises InvalidGenesisError naming the param."""
    if type(value) is not int or not low <= value <= high:
        raise InvalidGenesisError(f"{module} param {name} must be an integer in {low}..{high}")
    return value


def growth_upper_bound(amount: int, rate_bps: int, years: int) -> int:
    """An upper bound of `amount` compounded for `years` at `rate_bps` a year, however often it
    compounds (per block, here): e^r <= 1 + r + r^2 for 0 <= r <= 1, in integers only."""
    bps = 10_000
    num, den = bps * bps + rate_bps * bps + rate_bps * rate_bps, bps * bps
    for _ in range(years):
        amount = -(-amount * num // den)
    return amount
