"""The feegrant module: an account pays the fees of another's txs, within limits.

A grantee's tx names the granter in its body's `fee_granter`; the ante handler then charges the
fee to the granter's allowance and balance instead of the signer's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.context import Context
from voxpop.chain.errors import ChainError, InvalidGenesisError, InvalidQueryError
from voxpop.chain.fields import MSG_TYPE
from voxpop.chain.kv import KVReader
from voxpop.chain.module import Invariant, Module, MsgRoute
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.feegrant import handlers, state
from voxpop.chain.modules.feegrant.messages import (
    MAX_ALLOWED_MSGS,
    MsgGrantAllowance,
    MsgRevokeAllowance,
)
from voxpop.chain.modules.limits import genesis_grant_entry

ADDRESS_LEN = state.ADDRESS_LEN


def _allowance_query(data: bytes) -> bytes:
    """`/feegrant/allowance`: data = granter 20 ‖ grantee 20."""
    # Verify two addresses
    if len(data) != 2 * ADDRESS_LEN:
        raise InvalidQueryError("query data must be granter (20 bytes) ‖ grantee (20 bytes)")
    return state.allowance_key(data[:ADDRESS_LEN], data[ADDRESS_LEN:])


class FeegrantModule(Module):
    name = "feegrant"
    prefix = state.PREFIX

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgGrantAllowance.TYPE: MsgRoute(MsgGrantAllowance, handlers.process_grant_allowance),
            MsgRevokeAllowance.TYPE: MsgRoute(
                MsgRevokeAllowance, handlers.process_revoke_allowance
            ),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {"allowance": _allowance_query}

    def default_genesis(self) -> dict[str, Any]:
        return {"allowances": []}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        # Verify the shape, then each allowance as a Grant message would be checked
        if set(data) != {"allowances"} or not isinstance(data["allowances"], list):
            raise InvalidGenesisError("feegrant genesis needs exactly allowances (a list)")
        seen: set[bytes] = set()
        for i, entry in enumerate(data["allowances"]):
            where = f"feegrant.allowances[{i}]"
            granter, grantee, limits = genesis_grant_entry(entry, where, others=("allowed_msgs",))
            allowed = entry["allowed_msgs"]
            if not isinstance(allowed, list) or len(allowed) > MAX_ALLOWED_MSGS:
                raise InvalidGenesisError(f"{where}.allowed_msgs: at most {MAX_ALLOWED_MSGS}")
            try:
                msg_types = tuple(sorted({MSG_TYPE.parse(t, "allowed_msgs") for t in allowed}))
                MsgGrantAllowance(
                    granter,
                    grantee,
                    entry["spend_limit"],
                    entry["period_seconds"],
                    entry["period_limit"],
                    entry["expiration"],
                    msg_types,
                ).validate()
            except ChainError as exc:
                raise InvalidGenesisError(f"{where}: {exc.message}") from None
            key = state.allowance_key(granter, grantee)
            if key in seen:
                raise InvalidGenesisError(f"{where}: duplicate allowance")
            seen.add(key)
            allowance = state.Allowance(limits, entry["expiration"], msg_types)
            state.save_allowance(ctx, granter, grantee, allowance)

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {
            "allowances": [
                {"granter": addr_text(granter), "grantee": addr_text(grantee), **a.to_value()}
                for granter, grantee, a in state.read_allowances(reader)
            ]
        }

    def end_block(self, ctx: Context) -> list[ValidatorUpdate]:
        state.prune_expired(ctx)
        return []

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("feegrant/expiry-queue", _queue_matches_allowances),
            Invariant("feegrant/well-formed", _allowances_well_formed),
        ]


def _queue_matches_allowances(reader: KVReader) -> str | None:
    """The expiry queue holds exactly one entry per allowance with an expiration."""
    expected = sorted(
        (a.expiration, granter, grantee)
        for granter, grantee, a in state.read_allowances(reader)
        if a.expiration
    )
    if state.read_expiry_queue(reader) != expected:
        return "expiry queue does not match the allowances' expirations"
    return None


def _allowances_well_formed(reader: KVReader) -> str | None:
    for granter, grantee, a in state.read_allowances(reader):
        if granter == grantee:
            return f"{addr_text(granter)} holds an allowance to itself"
        if a.limits.period_spent > a.limits.period_limit:
            return f"allowance of {addr_text(granter)} spent beyond its period limit"
    return None
