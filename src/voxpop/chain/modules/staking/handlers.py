"""Staking transitions: create and edit validators, delegate, undelegate, redelegate.

Every change of a delegation's shares first pays its pending rewards (distribution.settle) and
afterwards restarts them (distribution.track), as Cosmos F1 does.
"""

from __future__ import annotations

from dataclasses import replace

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    AmountTooSmallError,
    InvalidCommissionError,
    SelfBondTooLowError,
    SelfRedelegationError,
    TransitiveRedelegationError,
    ValidatorExistsError,
)
from voxpop.chain.modules.bank.state import move
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.distribution import state as distribution
from voxpop.chain.modules.staking import state
from voxpop.chain.modules.staking.messages import (
    MsgCreateValidator,
    MsgDelegate,
    MsgEditValidator,
    MsgRedelegate,
    MsgUndelegate,
)


def create_validator(ctx: Context, msg: MsgCreateValidator) -> state.Validator:
    """Create the validator and bond its self-bond (shared by the message and genesis)."""
    params = state.get_params(ctx)
    cons = state.consensus_address(msg.consensus_pub_key)
    # Verify neither the operator nor the consensus key already has a validator
    if state.get_validator(ctx, msg.operator) is not None:
        raise ValidatorExistsError(f"{addr_text(msg.operator)} already runs a validator")
    if state.operator_of(ctx, cons) is not None:
        raise ValidatorExistsError("this consensus key belongs to another validator")
    # Verify the self-bond meets the minimum
    if msg.self_bond < params.min_self_bond:
        raise SelfBondTooLowError(
            f"self_bond {msg.self_bond} is below the minimum {params.min_self_bond}"
        )
    val = state.Validator(
        operator=msg.operator,
        consensus_pub_key=msg.consensus_pub_key,
        tokens=0,
        shares=0,
        commission_rate_bps=msg.commission_rate_bps,
        max_commission_rate_bps=msg.max_commission_rate_bps,
        max_commission_change_bps=msg.max_commission_change_bps,
        commission_updated_time=ctx.block.time_unix,
        moniker=msg.moniker,
        details=msg.details,
    )
    ctx.set(state.consensus_key(cons), msg.operator)
    state.delegate(ctx, val, msg.operator, msg.self_bond)
    distribution.track(ctx, msg.operator, msg.operator)
    ctx.emit(
        "create_validator",
        validator=addr_text(msg.operator),
        consensus_address=cons.hex().upper(),
        self_bond=str(msg.self_bond),
    )
    return val


def process_create_validator(ctx: Context, msg: MsgCreateValidator) -> None:
    create_validator(ctx, msg)


def process_edit_validator(ctx: Context, msg: MsgEditValidator) -> None:
    val = state.require_validator(ctx, msg.operator)
    now = ctx.block.time_unix
    if msg.commission_rate_bps != val.commission_rate_bps:
        # Verify the new rate is within the maximum, the daily change and once a day
        if msg.commission_rate_bps > val.max_commission_rate_bps:
            raise InvalidCommissionError(
                f"rate {msg.commission_rate_bps} exceeds the maximum {val.max_commission_rate_bps}"
            )
        if abs(msg.commission_rate_bps - val.commission_rate_bps) > val.max_commission_change_bps:
            raise InvalidCommissionError(
                f"the rate may change by at most {val.max_commission_change_bps} bps at a time"
            )
        if now < val.commission_updated_time + state.DAY_SECONDS:
            raise InvalidCommissionError("the commission rate may change at most once a day")
        val = replace(val, commission_rate_bps=msg.commission_rate_bps, commission_updated_time=now)
    state.set_validator(ctx, replace(val, moniker=msg.moniker, details=msg.details))
    ctx.emit(
        "edit_validator",
        validator=addr_text(msg.operator),
        commission_rate_bps=str(msg.commission_rate_bps),
    )


def process_delegate(ctx: Context, msg: MsgDelegate) -> None:
    val = state.require_validator(ctx, msg.validator)
    distribution.settle(ctx, msg.delegator, msg.validator)
    state.delegate(ctx, val, msg.delegator, msg.amount)
    distribution.track(ctx, msg.delegator, msg.validator)
    ctx.emit(
        "delegate",
        delegator=addr_text(msg.delegator),
        validator=addr_text(msg.validator),
        amount=str(msg.amount),
    )


def _unbond(
    ctx: Context, delegator: bytes, operator: bytes, amount: int
) -> tuple[state.Validator, int]:
    """Settle rewards and remove shares worth at least `amount`; return the validator as it was
    (its pool holds the tokens) and the tokens removed. Jails a validator whose operator drops
    below the minimum self-bond."""
    val = state.require_validator(ctx, operator)
    shares = state.shares_for_amount(ctx, val, delegator, amount)
    distribution.settle(ctx, delegator, operator)
    after, tokens = state.remove_shares(ctx, val, delegator, shares)
    distribution.track(ctx, delegator, operator)
    # Verify the unbonding is worth something
    if tokens == 0:
        raise AmountTooSmallError("the shares unbonded are worth no tokens")
    if delegator == operator and not after.jailed:
        own = state.compute_tokens(after, state.get_shares(ctx, operator, operator))
        if own < state.get_params(ctx).min_self_bond:
            state.set_jailed(ctx, operator, True)
    return val, tokens


def process_undelegate(ctx: Context, msg: MsgUndelegate) -> None:
    params = state.get_params(ctx)
    val, tokens = _unbond(ctx, msg.delegator, msg.validator, msg.amount)
    move(ctx, val.pool, state.NOT_BONDED_POOL_ADDRESS, tokens)
    completion = ctx.block.time_unix + params.unbonding_time_seconds
    state.add_unbonding(
        ctx,
        state.UnbondingEntry(
            delegator=msg.delegator,
            validator=msg.validator,
            creation_height=ctx.block.height,
            completion_time=completion,
            initial=tokens,
            balance=tokens,
        ),
    )
    ctx.emit(
        "undelegate",
        delegator=addr_text(msg.delegator),
        validator=addr_text(msg.validator),
        amount=str(tokens),
        completion_time=str(completion),
    )


def process_redelegate(ctx: Context, msg: MsgRedelegate) -> None:
    params = state.get_params(ctx)
    # Verify two different validators, both existing
    if msg.src_validator == msg.dst_validator:
        raise SelfRedelegationError("source and destination are the same validator")
    state.require_validator(ctx, msg.dst_validator)
    # Verify no redelegation into the source is still maturing (no hopping away from slashing)
    if state.has_maturing_redelegation_to(ctx, msg.delegator, msg.src_validator):
        raise TransitiveRedelegationError(
            "tokens redelegated to the source validator are still maturing"
        )
    src, tokens = _unbond(ctx, msg.delegator, msg.src_validator, msg.amount)
    dst = state.require_validator(ctx, msg.dst_validator)
    distribution.settle(ctx, msg.delegator, msg.dst_validator)
    move(ctx, src.pool, dst.pool, tokens)
    before = state.get_shares(ctx, msg.dst_validator, msg.delegator)
    state.add_delegation(ctx, dst, msg.delegator, tokens)
    distribution.track(ctx, msg.delegator, msg.dst_validator)
    completion = ctx.block.time_unix + params.unbonding_time_seconds
    state.add_redelegation(
        ctx,
        state.RedelegationEntry(
            delegator=msg.delegator,
            src=msg.src_validator,
            dst=msg.dst_validator,
            creation_height=ctx.block.height,
            completion_time=completion,
            initial=tokens,
            shares=state.get_shares(ctx, msg.dst_validator, msg.delegator) - before,
        ),
    )
    ctx.emit(
        "redelegate",
        delegator=addr_text(msg.delegator),
        src_validator=addr_text(msg.src_validator),
        dst_validator=addr_text(msg.dst_validator),
        amount=str(tokens),
        completion_time=str(completion),
    )
