"""Slashing transitions: unjail."""

from __future__ import annotations

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    JailPeriodActiveError,
    SelfBondTooLowError,
    ValidatorNotJailedError,
    ValidatorTombstonedError,
)
from voxpop.chain.modules.slashing import state
from voxpop.chain.modules.slashing.messages import MsgUnjail
from voxpop.chain.modules.staking import state as staking


def process_unjail(ctx: Context, msg: MsgUnjail) -> None:
    val = staking.require_validator(ctx, msg.operator)
    # Verify the validator is jailed, not tombstoned, and its term is over
    if not val.jailed:
        raise ValidatorNotJailedError("the validator is not jailed")
    if val.tombstoned:
        raise ValidatorTombstonedError("a validator that double-signed stays jailed forever")
    info = state.get_info(ctx, val.consensus_address)
    until = info.jailed_until if info is not None else 0
    if ctx.block.time_unix < until:
        raise JailPeriodActiveError(f"jailed until {until}, block time {ctx.block.time_unix}")
    # Verify the operator still has the minimum self-bond
    own = staking.compute_tokens(val, staking.get_shares(ctx, msg.operator, msg.operator))
    minimum = staking.get_params(ctx).min_self_bond
    if own < minimum:
        raise SelfBondTooLowError(f"self-bond is worth {own} uvox, the minimum is {minimum}")
    staking.set_jailed(ctx, msg.operator, False)
    state.reset_liveness(ctx, val.consensus_address)
