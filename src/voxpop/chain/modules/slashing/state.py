"""Slashing state: liveness over a sliding window of blocks, and jail terms.

slashing/params                          -> CBOR map of SlashingParams
slashing/info/<consensus address 20>     -> CBOR map of SigningInfo
slashing/miss/<consensus address 20><index u64> -> b"\\x01": missed the block at that window slot
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from typing import Any

from voxpop.chain.abci import BlockIDFlag, Misbehavior, MisbehaviorType, VoteInfo
from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.module import MAX_AMOUNT
from voxpop.chain.modules.bounds import MAX_DURATION_SECONDS, MAX_UINT64, param_int
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.distribution import state as distribution
from voxpop.chain.modules.staking import state as staking

PREFIX = b"slashing/"
PARAMS_KEY = b"slashing/params"
INFO_PREFIX = b"slashing/info/"
MISSED_PREFIX = b"slashing/miss/"
BPS = 10_000
JAILED_FOREVER = MAX_AMOUNT
# Jailing a validator clears its whole window in one begin-block (unmetered): keep that bounded
MAX_SIGNED_BLOCKS_WINDOW = 1_000_000


@dataclass(frozen=True, slots=True)
class SlashingParams:
    signed_blocks_window: int = 10_000
    min_signed_per_window_bps: int = 5_000
    downtime_jail_seconds: int = 600
    slash_fraction_downtime_bps: int = 100  # 1 %
    slash_fraction_double_sign_bps: int = 500  # 5 %
    max_evidence_age_blocks: int = 100_000  # as CometBFT's evidence.max_age_num_blocks
    max_evidence_age_seconds: int = 172_800  # 48 h, as CometBFT's evidence.max_age_duration

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> SlashingParams:
        names = {f.name for f in fields(cls)}
        if set(value) != names:
            raise InvalidGenesisError(f"slashing params need exactly {sorted(names)}")
        window = value["signed_blocks_window"]
        param_int("slashing", "signed_blocks_window", window, 1, MAX_SIGNED_BLOCKS_WINDOW)
        for name in (
            "min_signed_per_window_bps",
            "slash_fraction_downtime_bps",
            "slash_fraction_double_sign_bps",
        ):
            param_int("slashing", name, value[name], 0, BPS)
        # Verify durations stay within the horizon (jailed_until = block time + jail time must
        # stay below JAILED_FOREVER, which marks a tombstone)
        for name in ("downtime_jail_seconds", "max_evidence_age_seconds"):
            param_int("slashing", name, value[name], 0, MAX_DURATION_SECONDS)
        ages = value["max_evidence_age_blocks"]
        param_int("slashing", "max_evidence_age_blocks", ages, 0, MAX_UINT64)
        return cls(**value)


@dataclass(frozen=True, slots=True)
class SigningInfo:
    start_height: int  # liveness is judged only once a full window has passed since
    index: int  # blocks counted so far; the window slot is index % window
    missed: int  # blocks missed within the window
    jailed_until: int = 0


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> SlashingParams:
    return SlashingParams.from_value(decode_state(raw))


def get_params(ctx: Context) -> SlashingParams:
    raw = ctx.get(PARAMS_KEY)
    return decode_params(raw) if raw else SlashingParams()


def set_params(ctx: Context, params: SlashingParams) -> None:
    ctx.set(PARAMS_KEY, encode(asdict(params)))


def info_key(cons: bytes) -> bytes:
    return INFO_PREFIX + cons


def missed_key(cons: bytes, slot: int) -> bytes:
    return MISSED_PREFIX + cons + slot.to_bytes(8, "big")


def get_info(ctx: Context, cons: bytes) -> SigningInfo | None:
    raw = ctx.get(info_key(cons))
    return SigningInfo(**decode_state(raw)) if raw else None


def set_info(ctx: Context, cons: bytes, info: SigningInfo) -> None:
    ctx.set(info_key(cons), encode(asdict(info)))


def _clear_window(ctx: Context, cons: bytes) -> None:
    for key, _ in list(ctx.iterate(MISSED_PREFIX + cons)):
        ctx.delete(key)


def slash_and_jail(
    ctx: Context, operator: bytes, infraction_height: int, power: int, fraction_bps: int
) -> int:
    burned = staking.slash(
        ctx,
        operator,
        infraction_height,
        power,
        fraction_bps,
        distribution.settle,
        distribution.track,
    )
    if not staking.require_validator(ctx, operator).jailed:
        staking.set_jailed(ctx, operator, True)
    return burned


def handle_vote(ctx: Context, params: SlashingParams, vote: VoteInfo) -> None:
    """Count one validator's vote (or absence) on the previous block; jail it for downtime."""
    cons = vote.validator.address
    operator = staking.operator_of(ctx, cons)
    if operator is None:
        return
    val = staking.require_validator(ctx, operator)
    if val.jailed:
        return
    height = ctx.block.height
    info = get_info(ctx, cons) or SigningInfo(start_height=height, index=0, missed=0)
    window = params.signed_blocks_window
    slot = info.index % window
    # As in Cosmos: a nil vote is still a vote; only an absent one is a miss
    missed = vote.block_id_flag in (BlockIDFlag.ABSENT, BlockIDFlag.UNKNOWN)
    was_missed = ctx.get(missed_key(cons, slot)) is not None
    count = info.missed
    if missed and not was_missed:
        ctx.set(missed_key(cons, slot), b"\x01")
        count += 1
    elif not missed and was_missed:
        ctx.delete(missed_key(cons, slot))
        count -= 1
    info = replace(info, index=info.index + 1, missed=count)
    max_missed = window - window * params.min_signed_per_window_bps // BPS
    if height > info.start_height + window and count > max_missed:
        # The infraction happened in the block before the one this commit signs
        burned = slash_and_jail(
            ctx, operator, height - 2, vote.validator.power, params.slash_fraction_downtime_bps
        )
        _clear_window(ctx, cons)
        info = replace(
            info,
            index=0,
            missed=0,
            jailed_until=ctx.block.time_unix + params.downtime_jail_seconds,
        )
        ctx.emit(
            "liveness",
            validator=addr_text(operator),
            missed=str(count),
            burned=str(burned),
            jailed_until=str(info.jailed_until),
        )
    set_info(ctx, cons, info)


def is_evidence_fresh(ctx: Context, params: SlashingParams, evidence: Misbehavior) -> bool:
    age_blocks = ctx.block.height - evidence.height
    age_seconds = ctx.block.time_unix - evidence.time_unix
    return (
        age_blocks <= params.max_evidence_age_blocks
        or age_seconds <= params.max_evidence_age_seconds
    )


def handle_misbehavior(ctx: Context, params: SlashingParams, evidence: Misbehavior) -> None:
    """Slash, jail forever and tombstone a validator that signed two blocks at one height."""
    if evidence.type not in (MisbehaviorType.DUPLICATE_VOTE, MisbehaviorType.LIGHT_CLIENT_ATTACK):
        return
    cons = evidence.validator.address
    operator = staking.operator_of(ctx, cons)
    # Ignore evidence about unknown validators, stale evidence, and a validator already punished
    if operator is None or not is_evidence_fresh(ctx, params, evidence):
        return
    if staking.require_validator(ctx, operator).tombstoned:
        return
    burned = slash_and_jail(
        ctx,
        operator,
        evidence.height,
        evidence.validator.power,
        params.slash_fraction_double_sign_bps,
    )
    staking.set_jailed(ctx, operator, True, tombstone=True)
    info = get_info(ctx, cons) or SigningInfo(start_height=ctx.block.height, index=0, missed=0)
    set_info(ctx, cons, replace(info, jailed_until=JAILED_FOREVER))
    ctx.emit(
        "double_sign",
        validator=addr_text(operator),
        infraction_height=str(evidence.height),
        burned=str(burned),
    )


def reset_liveness(ctx: Context, cons: bytes) -> None:
    """Start a fresh window for a validator leaving jail."""
    _clear_window(ctx, cons)
    set_info(ctx, cons, SigningInfo(start_height=ctx.block.height, index=0, missed=0))
