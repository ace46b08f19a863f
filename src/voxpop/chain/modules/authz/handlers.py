"""Authz transitions: grant, revoke, and run messages for a granter."""

from __future__ import annotations

from collections.abc import Mapping

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    AuthorizationExpiredError,
    NotDelegableError,
    UnknownMessageError,
    quote,
)
from voxpop.chain.module import MsgRoute, parse_msg
from voxpop.chain.modules.authz import state
from voxpop.chain.modules.authz.messages import MsgExec, MsgGrant, MsgRevoke
from voxpop.chain.modules.bank.messages import MsgSend
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.limits import SpendLimits


def process_grant(ctx: Context, msg: MsgGrant, routes: Mapping[str, MsgRoute]) -> None:
    now = ctx.block.time_unix
    # Verify the chain knows the message type and the grant has not already ended
    if msg.msg_type not in routes:
        raise UnknownMessageError(f"unknown message type {quote(msg.msg_type)}")
    # Verify the type may be delegated (some are their signer's alone, e.g. settings/Rotate)
    if not routes[msg.msg_type].msg_cls.DELEGABLE:
        raise NotDelegableError(f"{msg.msg_type} is sent by its signer only")
    if msg.expiration and msg.expiration <= now:
        raise AuthorizationExpiredError(f"expiration {msg.expiration} is not after block {now}")
    limits = SpendLimits(msg.spend_limit, msg.period_seconds, msg.period_limit, now, 0)
    grant = state.Grant(limits, msg.expiration, msg.max_uses)
    state.save_grant(ctx, msg.granter, msg.grantee, msg.msg_type, grant)
    ctx.emit(
        "authz_grant",
        granter=addr_text(msg.granter),
        grantee=addr_text(msg.grantee),
        msg_type=msg.msg_type,
    )


def process_revoke(ctx: Context, msg: MsgRevoke) -> None:
    state.delete_grant(ctx, msg.granter, msg.grantee, msg.msg_type)
    ctx.emit(
        "authz_revoke",
        granter=addr_text(msg.granter),
        grantee=addr_text(msg.grantee),
        msg_type=msg.msg_type,
    )


def process_exec(ctx: Context, msg: MsgExec, routes: Mapping[str, MsgRoute]) -> None:
    """Each inner message runs as is, as if its signer had sent it, once its grant allows it.

    Messages the grantee signs itself need no grant. All or nothing, like a tx's messages.
    """
    for i, raw in enumerate(msg.msgs):
        # The app parsed the inner messages with the tx (Msg.inner_msgs): this cannot fail then
        inner, route = parse_msg(routes, raw, f"msgs[{i}]")
        granter = inner.signers()[0]
        # Verify the granter lets the grantee send this (and spend one use, and the amount)
        if granter != msg.grantee:
            if not route.msg_cls.DELEGABLE:
                raise NotDelegableError(f"{raw.type} is sent by its signer only")
            amount = inner.amount if isinstance(inner, MsgSend) else None
            state.use_grant(ctx, granter, msg.grantee, raw.type, amount)
        route.handler(ctx, inner)
        ctx.emit(
            "authz_exec",
            granter=addr_text(granter),
            grantee=addr_text(msg.grantee),
            msg_type=raw.type,
        )
