"""Distribution transitions: claims of delegator rewards and validator commission."""

from __future__ import annotations

from voxpop.chain.context import Context
from voxpop.chain.errors import NoCommissionError, NoDelegationError
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.distribution import state
from voxpop.chain.modules.distribution.messages import MsgClaimCommission, MsgClaimRewards
from voxpop.chain.modules.staking import state as staking


def process_claim_rewards(ctx: Context, msg: MsgClaimRewards) -> None:
    staking.require_validator(ctx, msg.validator)
    # Verify the delegation exists
    if staking.get_shares(ctx, msg.validator, msg.delegator) == 0:
        raise NoDelegationError("no delegation to this validator")
    state.settle(ctx, msg.delegator, msg.validator)


def process_claim_commission(ctx: Context, msg: MsgClaimCommission) -> None:
    staking.require_validator(ctx, msg.operator)
    amount = state.claim_commission(ctx, msg.operator)
    # Verify there was commission to claim
    if amount == 0:
        raise NoCommissionError("the validator has no commission to claim")
    ctx.emit("claim_commission", validator=addr_text(msg.operator), amount=str(amount))
