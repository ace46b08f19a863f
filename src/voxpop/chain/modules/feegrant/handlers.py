"""Feegrant transitions: grant and revoke fee allowances (they are used by the ante handler)."""

from __future__ import annotations

from voxpop.chain.context import Context
from voxpop.chain.errors import AllowanceExpiredError
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.feegrant import state
from voxpop.chain.modules.feegrant.messages import MsgGrantAllowance, MsgRevokeAllowance
from voxpop.chain.modules.limits import SpendLimits


def process_grant_allowance(ctx: Context, msg: MsgGrantAllowance) -> None:
    now = ctx.block.time_unix
    # Verify the allowance has not already ended
    if msg.expiration and msg.expiration <= now:
        raise AllowanceExpiredError(f"expiration {msg.expiration} is not after block {now}")
    limits = SpendLimits(msg.spend_limit, msg.period_seconds, msg.period_limit, now, 0)
    allowed = tuple(sorted(set(msg.allowed_msgs)))
    state.save_allowance(
        ctx, msg.granter, msg.grantee, state.Allowance(limits, msg.expiration, allowed)
    )
    ctx.emit("feegrant_grant", granter=addr_text(msg.granter), grantee=addr_text(msg.grantee))


def process_revoke_allowance(ctx: Context, msg: MsgRevokeAllowance) -> None:
    state.delete_allowance(ctx, msg.granter, msg.grantee)
    ctx.emit("feegrant_revoke", granter=addr_text(msg.granter), grantee=addr_text(msg.grantee))
