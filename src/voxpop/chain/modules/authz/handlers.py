"""Authz transitions: grant, revoke, and run messages for a granter."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    AuthorizationExpiredError,
    InvalidMessageError,
    NotDelegableError,
    UnknownMessageError,
    quote,
)
from voxpop.chain.module import Msg, MsgRoute, parse_msg
from voxpop.chain.modules.authz import state
from voxpop.chain.modules.authz.messages import MsgExec, MsgGrant, MsgRevoke
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.limits import SpendLimits


def process_grant(ctx: Context, msg: MsgGrant, routes: Mapping[str, MsgRoute]) -> None:
    now = ctx.block.time_unix
    check_grantable(msg, routes)
    # Verify the grant has not already ended
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


def check_grantable(msg: MsgGrant, routes: Mapping[str, MsgRoute]) -> None:
    """The chain knows the type, and spend limits come only with a type that declares what it
    spends. Raises UnknownMessageError, InvalidMessageError."""
    route = routes.get(msg.msg_type)
    # Verify the chain knows the message type
    if route is None:
        raise UnknownMessageError(f"unknown message type {quote(msg.msg_type)}")
    # Verify the type may be delegated (some are their signer's alone, e.g. settings/Rotate)
    if not route.msg_cls.DELEGABLE:
        raise NotDelegableError(f"{msg.msg_type} is sent by its signer only")
    # Verify spend limits are on a type that spends (else nothing would count against them)
    if msg.limits_spending and route.spend_of is None:
        raise InvalidMessageError(f"{msg.msg_type} spends no uvox: it takes no spend limits")


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
        # Verify the granter lets the grantee send this (and spend one use, and the uvox)
        if granter != msg.grantee:
            if not route.msg_cls.DELEGABLE:
                raise NotDelegableError(f"{raw.type} is sent by its signer only")
            state.use_grant(ctx, granter, msg.grantee, raw.type, _spend_reader(ctx, inner, route))
        route.handler(ctx, inner)
        ctx.emit(
            "authz_exec",
            granter=addr_text(granter),
            grantee=addr_text(msg.grantee),
            msg_type=raw.type,
        )


def _spend_reader(ctx: Context, inner: Msg, route: MsgRoute) -> Callable[[], int] | None:
    """What the message spends, read only once its grant is found (a missing grant answers
    first), or None for a type that spends nothing."""
    spend_of = route.spend_of
    if spend_of is None:
        return None
    return lambda: spend_of(ctx, inner)
