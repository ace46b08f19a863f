"""Staking state: validators, delegations, maturing undelegations and redelegations, the active set.

staking/params                              -> CBOR map of StakingParams
staking/seq                                 -> uint128: the last entry id handed out
staking/val/<operator 20>                   -> CBOR map of Validator
staking/cons/<consensus address 20>         -> operator 20
staking/del/<operator 20><delegator 20>     -> uint128 shares
staking/ubd/<completion u64><id u64>        -> CBOR map of UnbondingEntry
staking/red/<completion u64><id u64>        -> CBOR map of RedelegationEntry
staking/last/<operator 20>                  -> uint128 power in the active set CometBFT has
                                               been told about
staking/dbd/<delegator 20><operator 20>     -> 0x01: the delegation, indexed by delegator
staking/dbdc/<delegator 20>                 -> CBOR [count, root]: that list's commitment

Delegations are shares of a validator's tokens: a validator's tokens fall when it is slashed, so
each share is then worth less, and every delegator bears the loss in proportion. Shares start at
one per uvox. Rounding always favours the validator's remaining delegators.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields, replace
from enum import IntEnum
from functools import lru_cache
from typing import Any

from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, decode_uint, encode, encode_uint
from voxpop.chain.errors import (
    AmountTooSmallError,
    InvalidExchangeRateError,
    InvalidGenesisError,
    NoDelegationError,
    UnknownValidatorError,
)
from voxpop.chain.fields import ADDRESS_LEN
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListIndex
from voxpop.chain.module_accounts import BONDED_POOL, NOT_BONDED_POOL, module_address
from voxpop.chain.modules.bank.state import burn, move
from voxpop.chain.modules.bounds import MAX_DURATION_SECONDS, MAX_UINT64, param_int
from voxpop.chain.modules.codec import addr_text

PREFIX = b"staking/"
PARAMS_KEY = b"staking/params"
SEQ_KEY = b"staking/seq"
VALIDATOR_PREFIX = b"staking/val/"
CONSENSUS_PREFIX = b"staking/cons/"
DELEGATION_PREFIX = b"staking/del/"
UNBONDING_PREFIX = b"staking/ubd/"
REDELEGATION_PREFIX = b"staking/red/"
LAST_POWER_PREFIX = b"staking/last/"
# Delegations listed by delegator (listing.py): index keys and the list's commitment. A
# delegator may delegate to at most as many validators as a list holds.
DELEGATIONS_BY_DELEGATOR = ListIndex(
    index_prefix=b"staking/dbd/",
    commit_prefix=b"staking/dbdc/",
    owner_len=ADDRESS_LEN,
    id_len=ADDRESS_LEN,
    max_items=256,
)

BPS = 10_000
MAX_VALIDATORS = 10_000  # CometBFT's MaxVotesCount: a larger validator set cannot commit
POWER_REDUCTION = 1_000_000  # uvox per unit of consensus power (1 VOX = power 1)
DAY_SECONDS = 86_400
BONDED_POOL_ADDRESS = module_address(BONDED_POOL)
NOT_BONDED_POOL_ADDRESS = module_address(NOT_BONDED_POOL)


class Status(IntEnum):
    UNBONDED = 0
    UNBONDING = 1
    BONDED = 2


@dataclass(frozen=True, slots=True)
class StakingParams:
    unbonding_time_seconds: int = 21 * DAY_SECONDS
    max_validators: int = 100
    min_self_bond: int = 1_000_000  # 1 VOX: power 1

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> StakingParams:
        names = {f.name for f in fields(cls)}
        if set(value) != names:
            raise InvalidGenesisError(f"staking params need exactly {sorted(names)}")
        # Verify the unbonding time keeps completion times (block time + it) within 8-byte keys
        unbonding = value["unbonding_time_seconds"]
        param_int("staking", "unbonding_time_seconds", unbonding, 1, MAX_DURATION_SECONDS)
        param_int("staking", "max_validators", value["max_validators"], 1, MAX_VALIDATORS)
        param_int("staking", "min_self_bond", value["min_self_bond"], 0, MAX_UINT64)
        return cls(**value)


@dataclass(frozen=True, slots=True)
class Validator:
    operator: bytes
    consensus_pub_key: bytes
    tokens: int
    shares: int
    commission_rate_bps: int
    max_commission_rate_bps: int
    max_commission_change_bps: int
    commission_updated_time: int
    moniker: str
    details: str
    status: Status = Status.UNBONDED
    unbonding_time: int = 0  # when an unbonding validator becomes unbonded
    jailed: bool = False
    tombstoned: bool = False

    @property
    def consensus_address(self) -> bytes:
        return consensus_address(self.consensus_pub_key)

    @property
    def power(self) -> int:
        return self.tokens // POWER_REDUCTION

    @property
    def pool(self) -> bytes:
        return BONDED_POOL_ADDRESS if self.status == Status.BONDED else NOT_BONDED_POOL_ADDRESS

    @property
    def pool_name(self) -> str:
        return BONDED_POOL if self.status == Status.BONDED else NOT_BONDED_POOL

    def to_value(self) -> dict[str, Any]:
        value = asdict(self)
        value["status"] = int(self.status)
        return value

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Validator:
        return cls(**{**value, "status": Status(value["status"])})


@dataclass(frozen=True, slots=True)
class UnbondingEntry:
    delegator: bytes
    validator: bytes
    creation_height: int
    completion_time: int
    initial: int  # tokens when created
    balance: int  # tokens left after slashing; paid out at completion


@dataclass(frozen=True, slots=True)
class RedelegationEntry:
    delegator: bytes
    src: bytes
    dst: bytes
    creation_height: int
    completion_time: int
    initial: int  # tokens moved
    shares: int  # shares received at dst


def consensus_address(pub_key: bytes) -> bytes:
    """CometBFT's validator address: the first 20 bytes of sha256 of the Ed25519 public key."""
    return hashlib.sha256(pub_key).digest()[:20]


def validator_key(operator: bytes) -> bytes:
    return VALIDATOR_PREFIX + operator


def consensus_key(cons_address: bytes) -> bytes:
    return CONSENSUS_PREFIX + cons_address


def delegation_key(operator: bytes, delegator: bytes) -> bytes:
    return DELEGATION_PREFIX + operator + delegator


def queue_key(prefix: bytes, completion_time: int, entry_id: int) -> bytes:
    return prefix + completion_time.to_bytes(8, "big") + entry_id.to_bytes(8, "big")


# --- params -----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> StakingParams:
    return StakingParams.from_value(decode_state(raw))


def get_params(ctx: Context) -> StakingParams:
    raw = ctx.get(PARAMS_KEY)
    return decode_params(raw) if raw else StakingParams()


def set_params(ctx: Context, params: StakingParams) -> None:
    ctx.set(PARAMS_KEY, encode(asdict(params)))


# --- validators -------------------------------------------------------------------------------


def decode_validator(raw: bytes) -> Validator:
    """A validator from its stored value (`staking/val/<operator>`)."""
    return Validator.from_value(decode_state(raw))


def decode_delegation(raw: bytes) -> int:
    """A delegation's shares from its stored value (`staking/del/<operator><delegator>`)."""
    return decode_uint(raw)


def get_validator(ctx: Context, operator: bytes) -> Validator | None:
    raw = ctx.get(validator_key(operator))
    return decode_validator(raw) if raw else None


def require_validator(ctx: Context, operator: bytes) -> Validator:
    val = get_validator(ctx, operator)
    # Verify the validator exists
    if val is None:
        raise UnknownValidatorError(f"no validator with operator {addr_text(operator)}")
    return val


def set_validator(ctx: Context, val: Validator) -> None:
    ctx.set(validator_key(val.operator), encode(val.to_value()))


def operator_of(ctx: Context, cons_address: bytes) -> bytes | None:
    return ctx.get(consensus_key(cons_address))


def iter_validators(ctx: Context) -> Iterator[Validator]:
    for _, raw in ctx.iterate(VALIDATOR_PREFIX):
        yield decode_validator(raw)


def set_jailed(ctx: Context, operator: bytes, jailed: bool, *, tombstone: bool = False) -> None:
    """Jail (or unjail) a validator; end_block then drops it from (or lets it into) the set."""
    val = require_validator(ctx, operator)
    set_validator(ctx, replace(val, jailed=jailed, tombstoned=val.tombstoned or tombstone))
    ctx.emit("jail" if jailed else "unjail", validator=addr_text(operator))


# --- delegations ------------------------------------------------------------------------------


def get_shares(ctx: Context, operator: bytes, delegator: bytes) -> int:
    raw = ctx.get(delegation_key(operator, delegator))
    return decode_delegation(raw) if raw else 0


def _set_shares(ctx: Context, operator: bytes, delegator: bytes, shares: int) -> None:
    if shares == 0:
        ctx.delete(delegation_key(operator, delegator))
        DELEGATIONS_BY_DELEGATOR.remove(ctx, delegator, operator)
    else:
        ctx.set(delegation_key(operator, delegator), encode_uint(shares))
        DELEGATIONS_BY_DELEGATOR.add(ctx, delegator, operator)


def compute_tokens(val: Validator, shares: int) -> int:
    """What `shares` of the validator are worth, rounded down."""
    if shares == val.shares:
        return val.tokens
    return shares * val.tokens // val.shares if val.shares else 0


def compute_shares(val: Validator, tokens: int) -> int:
    """Shares issued for `tokens` delegated now, rounded down."""
    if val.shares == 0:
        return tokens
    # Verify the exchange rate is defined (a fully slashed validator has shares but no tokens)
    if val.tokens == 0:
        raise InvalidExchangeRateError("the validator has no tokens left behind its shares")
    return tokens * val.shares // val.tokens


def add_delegation(ctx: Context, val: Validator, delegator: bytes, amount: int) -> Validator:
    """Bond `amount` uvox of `delegator` (already moved into val's pool by the caller) to `val`.

    Returns the updated validator. Raises InvalidExchangeRateError, AmountTooSmallError.
    """
    shares = compute_shares(val, amount)
    # Verify the amount buys at least one share
    if shares == 0:
        raise AmountTooSmallError(f"{amount} uvox buys no shares of this validator")
    _set_shares(ctx, val.operator, delegator, get_shares(ctx, val.operator, delegator) + shares)
    val = replace(val, tokens=val.tokens + amount, shares=val.shares + shares)
    set_validator(ctx, val)
    return val


def delegate(ctx: Context, val: Validator, delegator: bytes, amount: int) -> Validator:
    """Move `amount` from the delegator's balance into the validator's pool and bond it.
    Raises InsufficientFundsError and as add_delegation does."""
    move(ctx, delegator, val.pool, amount)
    return add_delegation(ctx, val, delegator, amount)


def remove_shares(
    ctx: Context, val: Validator, delegator: bytes, shares: int
) -> tuple[Validator, int]:
    """Unbond `shares` of `delegator`; return the updated validator and the tokens they were worth
    (still in the validator's pool: the caller moves them). Raises NoDelegationError."""
    held = get_shares(ctx, val.operator, delegator)
    # Verify the delegator holds the shares
    if shares > held or shares == 0:
        raise NoDelegationError(f"delegation holds {held} shares, {shares} requested")
    tokens = compute_tokens(val, shares)
    _set_shares(ctx, val.operator, delegator, held - shares)
    val = replace(val, tokens=val.tokens - tokens, shares=val.shares - shares)
    set_validator(ctx, val)
    return val, tokens


def shares_for_amount(ctx: Context, val: Validator, delegator: bytes, amount: int) -> int:
    """The shares to unbond for `amount` uvox: all of them if `amount` is the delegation's whole
    value, else the fewest worth at least `amount`. Raises NoDelegationError."""
    held = get_shares(ctx, val.operator, delegator)
    value = compute_tokens(val, held)
    # Verify the delegation is worth the amount
    if held == 0 or amount > value:
        raise NoDelegationError(f"delegation is worth {value} uvox, {amount} requested")
    if amount == value:
        return held
    return -(-amount * val.shares // val.tokens)


def iter_delegations(ctx: Context, operator: bytes) -> Iterator[tuple[bytes, int]]:
    prefix = DELEGATION_PREFIX + operator
    for key, raw in ctx.iterate(prefix):
        yield key[len(prefix) :], decode_uint(raw)


# --- queues of maturing entries ---------------------------------------------------------------


def next_id(ctx: Context) -> int:
    raw = ctx.get(SEQ_KEY)
    n = (decode_uint(raw) if raw else 0) + 1
    ctx.set(SEQ_KEY, encode_uint(n))
    return n


def add_unbonding(ctx: Context, entry: UnbondingEntry) -> None:
    key = queue_key(UNBONDING_PREFIX, entry.completion_time, next_id(ctx))
    ctx.set(key, encode(asdict(entry)))


def add_redelegation(ctx: Context, entry: RedelegationEntry) -> None:
    key = queue_key(REDELEGATION_PREFIX, entry.completion_time, next_id(ctx))
    ctx.set(key, encode(asdict(entry)))


def iter_unbondings(ctx: Context) -> Iterator[tuple[bytes, UnbondingEntry]]:
    for key, raw in ctx.iterate(UNBONDING_PREFIX):
        yield key, UnbondingEntry(**decode_state(raw))


def iter_redelegations(ctx: Context) -> Iterator[tuple[bytes, RedelegationEntry]]:
    for key, raw in ctx.iterate(REDELEGATION_PREFIX):
        yield key, RedelegationEntry(**decode_state(raw))


def has_maturing_redelegation_to(ctx: Context, delegator: bytes, dst: bytes) -> bool:
    return any(e.delegator == delegator and e.dst == dst for _, e in iter_redelegations(ctx))


def complete_matured(ctx: Context) -> None:
    """Pay out undelegations and forget redelegations whose completion time has come."""
    now = ctx.block.time_unix
    done: list[tuple[bytes, UnbondingEntry]] = []
    for key, entry in iter_unbondings(ctx):
        if entry.completion_time > now:
            break
        done.append((key, entry))
    for key, entry in done:
        move(ctx, NOT_BONDED_POOL_ADDRESS, entry.delegator, entry.balance)
        ctx.delete(key)
        ctx.emit(
            "unbonding_complete",
            delegator=addr_text(entry.delegator),
            validator=addr_text(entry.validator),
            amount=str(entry.balance),
        )
    matured = []
    for key, red in iter_redelegations(ctx):
        if red.completion_time > now:
            break
        matured.append(key)
    for key in matured:
        ctx.delete(key)


# --- the active set ---------------------------------------------------------------------------


def _set_status(ctx: Context, val: Validator, status: Status, unbonding_time: int = 0) -> Validator:
    """Change status, moving the validator's tokens between the pools when bondedness changes."""
    new = replace(val, status=status, unbonding_time=unbonding_time)
    if new.pool != val.pool:
        move(ctx, val.pool, new.pool, val.tokens)
    set_validator(ctx, new)
    return new


def compute_active_set(ctx: Context, params: StakingParams) -> dict[bytes, int]:
    """operator -> power of the top `max_validators` non-jailed validators with power >= 1, by
    tokens (ties: the lower operator address first)."""
    candidates = [v for v in iter_validators(ctx) if not v.jailed and v.power > 0]
    candidates.sort(key=lambda v: (-v.tokens, v.operator))
    return {v.operator: v.power for v in candidates[: params.max_validators]}


def apply_validator_set(ctx: Context) -> list[ValidatorUpdate]:
    """Recompute the active set, move validators between statuses and pools, and return the
    CometBFT updates for what changed (power 0 removes), in operator order."""
    params = get_params(ctx)
    now = ctx.block.time_unix
    new = compute_active_set(ctx, params)
    last = {k[len(LAST_POWER_PREFIX) :]: decode_uint(v) for k, v in ctx.iterate(LAST_POWER_PREFIX)}
    updates: list[ValidatorUpdate] = []
    for operator in sorted(set(new) | set(last)):
        power = new.get(operator, 0)
        if power == last.get(operator, 0):
            continue
        val = require_validator(ctx, operator)
        if power and val.status != Status.BONDED:
            val = _set_status(ctx, val, Status.BONDED)
        elif not power:
            val = _set_status(ctx, val, Status.UNBONDING, now + params.unbonding_time_seconds)
        if power:
            ctx.set(LAST_POWER_PREFIX + operator, encode_uint(power))
        else:
            ctx.delete(LAST_POWER_PREFIX + operator)
        updates.append(ValidatorUpdate(val.consensus_pub_key, power))
        ctx.emit("power_change", validator=addr_text(operator), power=str(power))
    # Unbonding validators whose time has come become unbonded
    for val in list(iter_validators(ctx)):
        if val.status == Status.UNBONDING and val.unbonding_time <= now:
            _set_status(ctx, val, Status.UNBONDED)
    return updates


def active_validator_updates(ctx: Context) -> list[ValidatorUpdate]:
    updates = []
    for key, raw in ctx.iterate(LAST_POWER_PREFIX):
        val = require_validator(ctx, key[len(LAST_POWER_PREFIX) :])
        updates.append(ValidatorUpdate(val.consensus_pub_key, decode_uint(raw)))
    return updates


# --- slashing ---------------------------------------------------------------------------------

Settle = Callable[[Context, bytes, bytes], object]  # (ctx, delegator, operator): pay rewards first


def slash(
    ctx: Context,
    operator: bytes,
    infraction_height: int,
    power: int,
    fraction_bps: int,
    settle: Settle,
    track: Settle,
) -> int:
    """Burn `fraction_bps` of the stake the validator had at `infraction_height` (`power`).

    Undelegations and redelegations away from the validator created at or after the infraction
    height (that is, still exposed when it happened) are cut by the same fraction of their initial
    amount; the rest of the slash comes from the validator's tokens, capped at what it has.
    `settle`/`track` are distribution's hooks around a change of a delegation's shares.
    Returns the uvox burned.
    """
    amount = power * POWER_REDUCTION * fraction_bps // BPS
    burned = 0
    if infraction_height < ctx.block.height:
        for key, entry in list(iter_unbondings(ctx)):
            if entry.validator != operator or entry.creation_height < infraction_height:
                continue
            cut = min(entry.initial * fraction_bps // BPS, entry.balance)
            if cut:
                ctx.set(key, encode(asdict(replace(entry, balance=entry.balance - cut))))
                burn(ctx, NOT_BONDED_POOL, cut)
                burned += cut
        for _, red in list(iter_redelegations(ctx)):
            if red.src != operator or red.creation_height < infraction_height:
                continue
            dst = require_validator(ctx, red.dst)
            cut = red.initial * fraction_bps // BPS
            if not cut or not dst.tokens:
                continue
            shares = min(
                -(-cut * dst.shares // dst.tokens),
                red.shares,
                get_shares(ctx, red.dst, red.delegator),
            )
            if shares == 0:
                continue
            settle(ctx, red.delegator, red.dst)
            pool = dst.pool_name
            dst, tokens = remove_shares(ctx, dst, red.delegator, shares)
            track(ctx, red.delegator, red.dst)
            if tokens:
                burn(ctx, pool, tokens)
                burned += tokens
    val = require_validator(ctx, operator)
    cut = min(max(amount - burned, 0), val.tokens)
    if cut:
        set_validator(ctx, replace(val, tokens=val.tokens - cut))
        burn(ctx, val.pool_name, cut)
        burned += cut
    ctx.emit(
        "slash",
        validator=addr_text(operator),
        infraction_height=str(infraction_height),
        power=str(power),
        fraction_bps=str(fraction_bps),
        burned=str(burned),
    )
    return burned


# --- unmetered reads for queries and invariants -----------------------------------------------


def read_validators(state: KVReader) -> list[Validator]:
    return [decode_validator(v) for _, v in state.iterate(VALIDATOR_PREFIX)]


def read_delegations(state: KVReader) -> list[tuple[bytes, bytes, int]]:
    """(operator, delegator, shares) in key order."""
    n = len(DELEGATION_PREFIX)
    return [
        (k[n : n + 20], k[n + 20 :], decode_delegation(v))
        for k, v in state.iterate(DELEGATION_PREFIX)
    ]


def read_unbondings(state: KVReader) -> list[UnbondingEntry]:
    return [UnbondingEntry(**decode_state(v)) for _, v in state.iterate(UNBONDING_PREFIX)]
