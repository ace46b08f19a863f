"""The authz module: an account lets another key send given message kinds on its behalf.

This is how an owner lets an agent act for them without ever giving it the owner's key: the
owner grants, the agent wraps the owner's messages in authz/Exec and signs with its own key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.context import Context
from voxpop.chain.errors import ChainError, InvalidGenesisError, InvalidQueryError
from voxpop.chain.fields import MSG_TYPE
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import Invariant, Module, MsgRoute
from voxpop.chain.modules.authz import handlers, state
from voxpop.chain.modules.authz.messages import MsgExec, MsgGrant, MsgRevoke, is_delegable
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.limits import genesis_grant_entry

ADDRESS_LEN = state.ADDRESS_LEN


def _grant_query(data: bytes) -> bytes:
    """`/authz/grant`: data = granter 20 ‖ grantee 20 ‖ msg_type (UTF-8)."""
    # Verify two addresses and a message type name
    if len(data) <= 2 * ADDRESS_LEN:
        raise InvalidQueryError("query data must be granter (20) ‖ grantee (20) ‖ message type")
    try:
        msg_type = MSG_TYPE.parse(data[2 * ADDRESS_LEN :].decode(), "message type")
    except (UnicodeDecodeError, ChainError):
        raise InvalidQueryError("query data must end with a message type name") from None
    return state.grant_key(data[:ADDRESS_LEN], data[ADDRESS_LEN : 2 * ADDRESS_LEN], msg_type)


class AuthzModule(Module):
    name = "authz"
    prefix = state.PREFIX

    def __init__(self) -> None:
        self.routes: Mapping[str, MsgRoute] = {}

    def bind_routes(self, routes: Mapping[str, MsgRoute]) -> None:
        self.routes = routes

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgGrant.TYPE: MsgRoute(MsgGrant, self._process_grant),
            MsgRevoke.TYPE: MsgRoute(MsgRevoke, handlers.process_revoke),
            MsgExec.TYPE: MsgRoute(MsgExec, self._process_exec),
        }

    # The handlers read the table when they run: it is bound after every module is known
    def _process_grant(self, ctx: Context, msg: MsgGrant) -> None:
        handlers.process_grant(ctx, msg, self.routes)

    def _process_exec(self, ctx: Context, msg: MsgExec) -> None:
        handlers.process_exec(ctx, msg, self.routes)

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "grant": _grant_query,
        }

    def list_routes(self) -> Mapping[str, ListRoute]:
        return {"grants": ListRoute(state.GRANTS_BY_GRANTER, state.listed_grant_key)}

    def default_genesis(self) -> dict[str, Any]:
        return {"grants": []}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        # Verify the shape, then each grant as a Grant message would be checked
        if set(data) != {"grants"} or not isinstance(data["grants"], list):
            raise InvalidGenesisError("authz genesis needs exactly grants (a list)")
        seen: set[bytes] = set()
        for i, entry in enumerate(data["grants"]):
            where = f"authz.grants[{i}]"
            granter, grantee, limits = genesis_grant_entry(
                entry, where, ints=("uses_left",), others=("msg_type",)
            )
            try:
                msg_type = MSG_TYPE.parse(entry["msg_type"], "msg_type")
                grant_msg = MsgGrant(
                    granter,
                    grantee,
                    msg_type,
                    entry["spend_limit"],
                    entry["period_seconds"],
                    entry["period_limit"],
                    entry["expiration"],
                    entry["uses_left"],
                )
                grant_msg.validate()
                # Once bound into an app (not when validate_genesis runs the modules alone),
                # spend limits are checked as a Grant's are
                route = self.routes.get(msg_type)
                if route is not None:
                    handlers.check_grantable(grant_msg, self.routes)
                state.save_grant(
                    ctx,
                    granter,
                    grantee,
                    msg_type,
                    state.Grant(limits, entry["expiration"], entry["uses_left"]),
                )
            except ChainError as exc:
                raise InvalidGenesisError(f"{where}: {exc.message}") from None
            key = state.grant_key(granter, grantee, msg_type)
            if key in seen:
                raise InvalidGenesisError(f"{where}: duplicate grant")
            seen.add(key)

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {
            "grants": [
                {
                    "granter": addr_text(granter),
                    "grantee": addr_text(grantee),
                    "msg_type": msg_type,
                    **grant.to_value(),
                }
                for granter, grantee, msg_type, grant in state.read_grants(reader)
            ]
        }

    def end_block(self, ctx: Context) -> list[ValidatorUpdate]:
        state.prune_expired(ctx)
        return []

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("authz/index", _index_matches_grants),
            Invariant("authz/expiry-queue", _queue_matches_grants),
            Invariant("authz/well-formed", _grants_well_formed),
        ]


def _index_matches_grants(reader: KVReader) -> str | None:
    """The lists by granter hold exactly the grants, under matching commitments."""
    problem = state.GRANTS_BY_GRANTER.check(reader)
    if problem is not None:
        return problem
    held = {(granter, grantee, t) for granter, grantee, t, _ in state.read_grants(reader)}
    if held != set(state.read_listed(reader)):
        return "the lists by granter differ from the grants"
    return None


def _queue_matches_grants(reader: KVReader) -> str | None:
    """The expiry queue holds exactly one entry per grant with an expiration."""
    expected = sorted(
        (g.expiration, granter, grantee, t)
        for granter, grantee, t, g in state.read_grants(reader)
        if g.expiration
    )
    if state.read_expiry_queue(reader) != expected:
        return "expiry queue does not match the grants' expirations"
    return None


def _grants_well_formed(reader: KVReader) -> str | None:
    for granter, grantee, msg_type, grant in state.read_grants(reader):
        limits = grant.limits
        if granter == grantee or not is_delegable(msg_type):
            return f"grant of {addr_text(granter)} is to itself or for {msg_type}"
        if limits.period_spent > limits.period_limit:
            return f"grant of {addr_text(granter)} spent beyond its period limit"
    return None
