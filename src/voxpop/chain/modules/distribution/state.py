"""Distribution state: issuance, per-block reward allocation, commission and delegator rewards.

distribution/params                        -> CBOR map of DistributionParams
distribution/mint_time                     -> uint128: block time up to which issuance is paid
distribution/mint_carry                    -> uint128: issuance numerator left over (< one uvox)
distribution/inflation                     -> uint128: the inflation the next block pays, a year,
                                              times INFLATION_SCALE (absent: the genesis start)
distribution/issued                        -> uint128: every uvox issued by the mint step
distribution/distributed                   -> uint128: every uvox paid out of the fee collector
distribution/acc/<operator 20>             -> uint256: rewards per share of the validator, times
                                              REWARD_SCALE, cumulative since it was created
distribution/start/<operator 20><del 20>   -> uint256: the accumulator when the delegation's
                                              rewards were last settled (absent = 0)
distribution/out/<operator 20>             -> uint128: delegator rewards allocated to the validator
                                              and not yet claimed (includes rounding dust)
distribution/comm/<operator 20>            -> uint128: commission not yet claimed

Rewards are pro rata to shares, so slashing (which lowers tokens, not shares) needs no special
care: a delegation's pending reward is shares * (acc - start) // REWARD_SCALE.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any

from voxpop.chain.abci import BlockIDFlag
from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, decode_uint, encode
from voxpop.chain.errors import InvalidGenesisError, IssuanceParamsError
from voxpop.chain.kv import KVReader
from voxpop.chain.module_accounts import (
    BONDED_POOL,
    COMMUNITY_POOL,
    DISTRIBUTION,
    FEE_COLLECTOR,
    MINT,
    module_address,
)
from voxpop.chain.modules.bank.state import get_balance, get_supply, mint, move
from voxpop.chain.modules.bounds import HORIZON_YEARS, MAX_UINT64, growth_upper_bound
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.staking import state as staking

PREFIX = b"distribution/"
PARAMS_KEY = b"distribution/params"
MINT_TIME_KEY = b"distribution/mint_time"
MINT_CARRY_KEY = b"distribution/mint_carry"
INFLATION_KEY = b"distribution/inflation"
ISSUED_KEY = b"distribution/issued"
DISTRIBUTED_KEY = b"distribution/distributed"
ACC_PREFIX = b"distribution/acc/"
START_PREFIX = b"distribution/start/"
OUTSTANDING_PREFIX = b"distribution/out/"
COMMISSION_PREFIX = b"distribution/comm/"

BPS = 10_000
REWARD_SCALE = 10**18  # fixed-point scale of the rewards-per-share accumulator
SECONDS_PER_YEAR = 31_557_600  # 365.25 days
# Inflation as a fixed-point fraction a year: INFLATION_SCALE is 100 %; fine enough that a
# 5-second block moves it (5 % a year of change is ~8 * 10^9 units a block)
INFLATION_SCALE = 10**18
INFLATION_PER_BPS = INFLATION_SCALE // BPS
DISTRIBUTION_ADDRESS = module_address(DISTRIBUTION)
COMMUNITY_POOL_ADDRESS = module_address(COMMUNITY_POOL)
FEE_COLLECTOR_ADDRESS = module_address(FEE_COLLECTOR)
MINT_ADDRESS = module_address(MINT)
BONDED_POOL_ADDRESS = module_address(BONDED_POOL)


@dataclass(frozen=True, slots=True)
class DistributionParams:
    """Issuance steered by stake (Cosmos x/mint's rule) and the community tax.

    Inflation starts at `annual_inflation_bps` (genesis) and moves each block toward the bonded
    ratio `goal_bonded_bps`: by (1 - bonded ratio / goal) x `inflation_rate_change_bps` a year,
    pro rata to the block time elapsed, always within [min, max]. The defaults keep the band at
    or below 7 %, so the 64-bit headroom genesis supplies were checked against still holds.
    """

    annual_inflation_bps: int = 700  # where inflation starts at genesis: 7 % of supply a year
    min_inflation_bps: int = 200
    max_inflation_bps: int = 700
    community_tax_bps: int = 200  # 2 %
    goal_bonded_bps: int = 6_700  # 67 % of the supply bonded, as Cosmos
    inflation_rate_change_bps: int = 500  # at most 5 % a year when nothing is bonded

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> DistributionParams:
        """Parse and check the params; raise IssuanceParamsError (an InvalidGenesisError)."""
        names = {f.name for f in fields(cls)}
        if set(value) != names:
            raise IssuanceParamsError(f"distribution params need exactly {sorted(names)}")
        for name, n in value.items():
            if type(n) is not int or not 0 <= n <= BPS:
                raise IssuanceParamsError(f"distribution param {name} must be 0..{BPS} bps")
        params = cls(**value)
        # Verify the bounds are ordered and the start lies within them
        if not params.min_inflation_bps <= params.annual_inflation_bps <= params.max_inflation_bps:
            raise IssuanceParamsError(
                "annual_inflation_bps must lie within min and max "
                f"({params.min_inflation_bps} <= {params.annual_inflation_bps} <= "
                f"{params.max_inflation_bps})"
            )
        # Verify a goal the bonded ratio can be measured against (the rule divides by it)
        if params.goal_bonded_bps < 1:
            raise IssuanceParamsError("distribution goal_bonded_bps must be 1..10000 bps")
        return params

    def min_inflation(self) -> int:
        return self.min_inflation_bps * INFLATION_PER_BPS

    def max_inflation(self) -> int:
        return self.max_inflation_bps * INFLATION_PER_BPS


def _int(raw: bytes | None) -> int:
    return decode_uint(raw) if raw else 0


def _uint(n: int) -> bytes:
    return n.to_bytes(32 if n >> 128 else 16, "big")


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> DistributionParams:
    return DistributionParams.from_value(decode_state(raw))


def get_params(ctx: Context) -> DistributionParams:
    raw = ctx.get(PARAMS_KEY)
    return decode_params(raw) if raw else DistributionParams()


def set_params(ctx: Context, params: DistributionParams) -> None:
    ctx.set(PARAMS_KEY, encode(asdict(params)))


def _add(ctx: Context, key: bytes, delta: int) -> int:
    value = _int(ctx.get(key)) + delta
    if value:
        ctx.set(key, _uint(value))
    else:
        ctx.delete(key)
    return value


def start_key(operator: bytes, delegator: bytes) -> bytes:
    return START_PREFIX + operator + delegator


# --- issuance ---------------------------------------------------------------------------------


def check_issuance_headroom(supply: int, inflation_bps: int) -> None:
    """Raise InvalidGenesisError unless `supply` can grow by issuance for HORIZON_YEARS of block
    time at `inflation_bps` and stay within 64 bits (bank's mint refuses to pass it, which would
    stop every block). The bound is compounded, as issuance is (a share of the current supply)."""
    # Verify the supply plus a century of issuance fits in 64 bits
    if growth_upper_bound(supply, inflation_bps, HORIZON_YEARS) > MAX_UINT64:
        low, high = 0, supply
        while low < high:  # the largest supply that fits, for the message
            mid = (low + high + 1) // 2
            if growth_upper_bound(mid, inflation_bps, HORIZON_YEARS) <= MAX_UINT64:
                low = mid
            else:
                high = mid - 1
        raise InvalidGenesisError(
            f"genesis supply {supply} uvox leaves no room for {HORIZON_YEARS} years of issuance "
            f"at {inflation_bps} bps a year within 64 bits; at this rate it may be at most "
            f"{low} uvox"
        )


def adopt_params(stored: dict[str, Any], filled: dict[str, Any]) -> dict[str, Any]:
    """Params for a chain made before issuance was steered (gov/adopt.py): it keeps the fixed
    rate it ran at (no rate change, min = max = that rate) until governance turns the rule on.
    Its earlier max was a ceiling for governance, not a rate the rule could reach, so its supply
    was never checked against it."""
    if "inflation_rate_change_bps" in stored:
        return filled
    rate = filled["annual_inflation_bps"]
    return {
        **filled,
        "inflation_rate_change_bps": 0,
        "min_inflation_bps": rate,
        "max_inflation_bps": rate,
    }


def compute_issuance(supply: int, inflation_bps: int, seconds: int, carry: int) -> tuple[int, int]:
    """(uvox to issue, new carry) for `seconds` of `inflation_bps` a year on `supply`."""
    numerator = supply * inflation_bps * seconds + carry
    return divmod(numerator, BPS * SECONDS_PER_YEAR)


def issue(supply: int, inflation: int, seconds: int, carry: int) -> tuple[int, int]:
    """(uvox to issue, new carry) for `seconds` at `inflation` (fixed point) a year on `supply`."""
    return divmod(supply * inflation * seconds + carry, INFLATION_SCALE * SECONDS_PER_YEAR)


def next_inflation(
    inflation: int, bonded: int, supply: int, seconds: int, params: DistributionParams
) -> int:
    """Cosmos x/mint's rule over `seconds` of block time, in integers.

    change = (1 - bonded ratio / goal) * inflation_rate_change * seconds / year (rounded toward
    zero): up while less than the goal is bonded, down while more is; clamped to [min, max].
    """
    goal = params.goal_bonded_bps
    # (1 - (bonded / supply) / (goal / BPS)) = (goal * supply - bonded * BPS) / (goal * supply)
    gap = goal * supply - bonded * BPS
    numerator = params.inflation_rate_change_bps * INFLATION_PER_BPS * abs(gap) * seconds
    step = numerator // (goal * max(supply, 1) * SECONDS_PER_YEAR)
    moved = inflation + step if gap > 0 else inflation - step
    return min(max(moved, params.min_inflation()), params.max_inflation())


def current_inflation(reader: KVReader, params: DistributionParams) -> int:
    """The inflation the next block pays: the stored one (else the genesis start), within the
    params' bounds (governance may have moved them since it was stored)."""
    raw = reader.get(INFLATION_KEY)
    stored = _int(raw) if raw else params.annual_inflation_bps * INFLATION_PER_BPS
    return min(max(stored, params.min_inflation()), params.max_inflation())


def process_mint(ctx: Context, params: DistributionParams) -> int:
    """Issue the inflation for the block time elapsed since the last block into the fee collector,
    then move the inflation toward the bonded-ratio goal for the next block.

    Nothing is issued while no stake is bonded: issuance pays for security, and there is none.
    The clock (`mint_time`) runs only while stake is bonded, so a chain without validators (a test
    chain) writes nothing here, and stake bonded later earns only from then on.
    """
    now = ctx.block.time_unix
    last = ctx.get(MINT_TIME_KEY)
    bonded = get_balance(ctx, BONDED_POOL_ADDRESS)
    if bonded == 0:
        if last is not None:
            ctx.delete(MINT_TIME_KEY)
        return 0
    ctx.set(MINT_TIME_KEY, _uint(now))
    elapsed = max(now - _int(last), 0) if last is not None else 0
    if elapsed == 0:
        return 0
    supply = get_supply(ctx)
    inflation = current_inflation(ctx.store, params)
    amount, carry = issue(supply, inflation, elapsed, _int(ctx.get(MINT_CARRY_KEY)))
    ctx.set(MINT_CARRY_KEY, _uint(carry))
    if amount:
        mint(ctx, MINT, amount)
        move(ctx, MINT_ADDRESS, FEE_COLLECTOR_ADDRESS, amount)
        _add(ctx, ISSUED_KEY, amount)
    following = next_inflation(inflation, bonded, supply, elapsed, params)
    if following != _int(ctx.store.get(INFLATION_KEY)):
        ctx.set(INFLATION_KEY, _uint(following))
    ctx.emit(
        "issuance",
        amount=str(amount),
        inflation=str(inflation),
        next_inflation=str(following),
        bonded=str(bonded),
        supply=str(supply),
    )
    return amount


# --- allocation -------------------------------------------------------------------------------


def allocate_rewards(ctx: Context, params: DistributionParams) -> None:
    """Pay out the fee collector (last block's fees plus this block's issuance).

    The community tax goes to the community pool; the rest to the validators that signed the
    previous block, pro rata to their power there; each takes its commission and the remainder
    accrues to its delegators pro rata to shares. Rounding remainders go to the community pool.
    Nothing moves until a block carries last-commit votes (block 1 has none), nor while no stake
    is bonded (a chain without validators keeps its fees in the fee collector).
    """
    votes = ctx.block.last_commit.votes
    total = get_balance(ctx, FEE_COLLECTOR_ADDRESS)
    if not votes or total == 0 or get_balance(ctx, BONDED_POOL_ADDRESS) == 0:
        return
    _add(ctx, DISTRIBUTED_KEY, total)
    signers: list[tuple[staking.Validator, int]] = []
    for vote in votes:
        if vote.block_id_flag != BlockIDFlag.COMMIT or vote.validator.power <= 0:
            continue
        operator = staking.operator_of(ctx, vote.validator.address)
        if operator is not None:
            signers.append((staking.require_validator(ctx, operator), vote.validator.power))
    signed_power = sum(power for _, power in signers)
    to_validators = total - total * params.community_tax_bps // BPS if signed_power else 0
    paid = 0
    for val, power in signers:
        reward = to_validators * power // signed_power
        commission = reward * val.commission_rate_bps // BPS
        to_delegators = reward - commission if val.shares else 0
        if commission:
            _add(ctx, COMMISSION_PREFIX + val.operator, commission)
        if to_delegators:
            _add(ctx, OUTSTANDING_PREFIX + val.operator, to_delegators)
            _add(ctx, ACC_PREFIX + val.operator, to_delegators * REWARD_SCALE // val.shares)
        paid += commission + to_delegators
        ctx.emit(
            "rewards",
            validator=addr_text(val.operator),
            commission=str(commission),
            delegators=str(to_delegators),
        )
    move(ctx, FEE_COLLECTOR_ADDRESS, DISTRIBUTION_ADDRESS, paid)
    move(ctx, FEE_COLLECTOR_ADDRESS, COMMUNITY_POOL_ADDRESS, total - paid)
    ctx.emit("community_pool", amount=str(total - paid))


# --- delegators and commission ----------------------------------------------------------------


def get_acc(ctx: Context, operator: bytes) -> int:
    return _int(ctx.get(ACC_PREFIX + operator))


def pending_rewards(ctx: Context, delegator: bytes, operator: bytes) -> int:
    shares = staking.get_shares(ctx, operator, delegator)
    start = _int(ctx.get(start_key(operator, delegator)))
    return shares * (get_acc(ctx, operator) - start) // REWARD_SCALE


def settle(ctx: Context, delegator: bytes, operator: bytes) -> int:
    """Pay the delegation's pending rewards to the delegator; call before its shares change
    (and `track` after). Returns the uvox paid."""
    reward = pending_rewards(ctx, delegator, operator)
    if reward:
        move(ctx, DISTRIBUTION_ADDRESS, delegator, reward)
        _add(ctx, OUTSTANDING_PREFIX + operator, -reward)
        ctx.emit(
            "claim_rewards",
            delegator=addr_text(delegator),
            validator=addr_text(operator),
            amount=str(reward),
        )
    track(ctx, delegator, operator)
    return reward


def track(ctx: Context, delegator: bytes, operator: bytes) -> None:
    """Start the delegation's rewards from now (or forget it when it no longer exists)."""
    key = start_key(operator, delegator)
    if staking.get_shares(ctx, operator, delegator):
        ctx.set(key, _uint(get_acc(ctx, operator)))
    else:
        ctx.delete(key)


def get_commission(ctx: Context, operator: bytes) -> int:
    return _int(ctx.get(COMMISSION_PREFIX + operator))


def claim_commission(ctx: Context, operator: bytes) -> int:
    amount = get_commission(ctx, operator)
    if amount:
        move(ctx, DISTRIBUTION_ADDRESS, operator, amount)
        ctx.delete(COMMISSION_PREFIX + operator)
    return amount


# --- unmetered reads for queries and invariants -----------------------------------------------


def read_sum(state: KVReader, prefix: bytes) -> int:
    return sum(_int(v) for _, v in state.iterate(prefix))


def read_map(state: KVReader, prefix: bytes) -> dict[bytes, int]:
    return {k[len(prefix) :]: _int(v) for k, v in state.iterate(prefix)}
