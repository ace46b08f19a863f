"""The slashing module: punish validators that are offline too often or sign twice."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.module import Invariant, Module, MsgRoute, ParamsSpec, address_query
from voxpop.chain.modules.slashing import handlers, state
from voxpop.chain.modules.slashing.messages import MsgUnjail


class SlashingModule(Module):
    name = "slashing"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.SlashingParams.from_value, state.SlashingParams)

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {MsgUnjail.TYPE: MsgRoute(MsgUnjail, handlers.process_unjail)}

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "params": lambda _: state.PARAMS_KEY,
            "signing_info": address_query(state.info_key, "consensus address"),
        }

    def default_genesis(self) -> dict[str, Any]:
        return {"params": asdict(state.SlashingParams())}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        if set(data) != {"params"}:
            raise InvalidGenesisError("slashing genesis needs exactly params")
        state.set_params(ctx, state.SlashingParams.from_value(dict(data["params"])))

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        raw = reader.get(state.PARAMS_KEY)
        return {"params": decode_state(raw) if raw else asdict(state.SlashingParams())}

    def begin_block(self, ctx: Context) -> None:
        params = state.get_params(ctx)
        for evidence in ctx.block.misbehavior:
            state.handle_misbehavior(ctx, params, evidence)
        for vote in ctx.block.last_commit.votes:
            state.handle_vote(ctx, params, vote)

    def invariants(self) -> list[Invariant]:
        return [Invariant("slashing/missed-counters", _missed_counters)]


def _missed_counters(reader: KVReader) -> str | None:
    """Each validator's missed counter equals the misses recorded in its window."""
    marks: dict[bytes, int] = {}
    n = len(state.MISSED_PREFIX)
    for key, _ in reader.iterate(state.MISSED_PREFIX):
        marks[key[n : n + 20]] = marks.get(key[n : n + 20], 0) + 1
    for key, raw in reader.iterate(state.INFO_PREFIX):
        cons = key[len(state.INFO_PREFIX) :]
        if state.SigningInfo(**decode_state(raw)).missed != marks.pop(cons, 0):
            return f"missed counter of {cons.hex()} disagrees with its window"
    if marks:
        return "missed blocks recorded for a validator without signing info"
    return None
