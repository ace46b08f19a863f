"""The beacon module: owns the seed. It has no messages: the seed moves only through the block
entry the app folds in (voxpop.chain.app, before the begin-block hooks)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.module import Module
from voxpop.chain.modules.beacon import state


class BeaconModule(Module):
    name = "beacon"
    prefix = state.PREFIX

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {"seed": lambda _: state.SEED_KEY}

    def default_genesis(self) -> dict[str, Any]:
        return {}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        # Verify nothing is configured: the seed comes from the chain id, never from a file
        if data:
            raise InvalidGenesisError("beacon genesis takes no fields")
        state.init(ctx, ctx.block.chain_id)

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {}
