"""The auth module: accounts, sequences (replay protection) and tx parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_canonical
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.module import Invariant, Module, ParamsSpec, address_query
from voxpop.chain.modules.auth import state
from voxpop.chain.modules.feemarket import state as feemarket


class AuthModule(Module):
    name = "auth"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(
            state.PARAMS_KEY, state.AuthParams.from_value, state.AuthParams, _fits_fee_market
        )

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {"account": address_query(state.account_key), "params": lambda _: state.PARAMS_KEY}

    def default_genesis(self) -> dict[str, Any]:
        return {"params": state.AuthParams().to_value()}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        if set(data) != {"params"} or not isinstance(data["params"], dict):
            raise InvalidGenesisError("auth genesis needs exactly params")
        state.set_params(ctx, state.AuthParams.from_value(data["params"]))

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {"params": state.read_params(reader).to_value()}

    def invariants(self) -> list[Invariant]:
        return [Invariant("auth/accounts-well-formed", _accounts_well_formed)]


def _fits_fee_market(ctx: Context, params: state.AuthParams) -> None:
    """Verify new tx and block limits keep the fee market's params valid (its target below the
    block's gas, its step bounded, its largest charge within 64 bits)."""
    feemarket.read_params(ctx.store).check_with(params)


def _accounts_well_formed(reader: KVReader) -> str | None:
    for key, raw in reader.iterate(state.ACCOUNT_PREFIX):
        sequence, pub_key = decode_canonical(raw)
        if type(sequence) is not int or sequence < 0 or len(pub_key) not in (0, 32):
            return f"malformed account {key.hex()}"
    return None
