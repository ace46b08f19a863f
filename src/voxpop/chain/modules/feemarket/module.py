"""The fee market module: a base gas price that rises when blocks are fuller than a target and
falls when they are emptier (EIP-1559), with a floor and a ceiling from governable params."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.module import Invariant, Module, ParamsSpec
from voxpop.chain.modules.auth import state as auth
from voxpop.chain.modules.feemarket import state


class FeemarketModule(Module):
    name = "feemarket"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(
            state.PARAMS_KEY,
            state.FeemarketParams.from_value,
            state.FeemarketParams,
            lambda ctx, p: p.check_with(auth.read_params(ctx.store)),
        )

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "params": lambda _: state.PARAMS_KEY,
            "base_price": lambda _: state.BASE_PRICE_KEY,
            "burned": lambda _: state.BURNED_KEY,
            "tips": lambda _: state.TIPS_KEY,
        }

    def default_genesis(self) -> dict[str, Any]:
        return {"params": asdict(state.FeemarketParams())}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        if set(data) != {"params"} or not isinstance(data["params"], dict):
            raise InvalidGenesisError("feemarket genesis needs exactly params")
        params = state.FeemarketParams.from_value(dict(data["params"]))
        # Verify the params fit auth's block and tx limits (auth's genesis ran first)
        params.check_with(auth.read_params(ctx.store))
        state.set_params(ctx, params)

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        """Params only: a new chain starts at the floor."""
        raw = reader.get(state.PARAMS_KEY)
        return {"params": decode_state(raw) if raw else asdict(state.FeemarketParams())}

    def end_block(self, ctx: Context) -> list[ValidatorUpdate]:
        state.process_block(ctx, auth.read_params(ctx.store).max_block_gas)
        return []

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("feemarket/no-tally-between-blocks", _no_tally),
            Invariant("feemarket/base-price-in-bounds", _base_in_bounds),
        ]


def _no_tally(reader: KVReader) -> str | None:
    """A block's tally is settled at its end: committed state never holds one."""
    if reader.get(state.BLOCK_KEY) is not None:
        return "a block's fee tally was left in committed state"
    return None


def _base_in_bounds(reader: KVReader) -> str | None:
    """The stored base price lies strictly above the floor (the floor is stored as no key) and at
    most at the ceiling."""
    raw = reader.get(state.BASE_PRICE_KEY)
    if raw is None:
        return None
    params = state.read_params(reader)
    base = state.read_uint(reader, state.BASE_PRICE_KEY)
    if not params.min_base_price < base <= params.max_base_price:
        return f"base price {base} outside ({params.min_base_price}, {params.max_base_price}]"
    return None
