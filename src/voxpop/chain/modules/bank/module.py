"""The bank module: balances, transfers, supply, minting and burning by module accounts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, decode_uint, encode_uint
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.module import ADDRESS_LEN, Invariant, Module, MsgRoute, ParamsSpec, address_query
from voxpop.chain.modules.bank import handlers, state
from voxpop.chain.modules.bank.messages import MsgMultiSend, MsgSend
from voxpop.chain.modules.codec import addr_text, genesis_address, genesis_amount


def _amount_sent(ctx: Context, msg: MsgSend) -> int:
    """What bank/Send spends, for authz's spend limits: its amount."""
    return msg.amount


class BankModule(Module):
    name = "bank"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.BankParams.from_value, state.BankParams)

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgSend.TYPE: MsgRoute(MsgSend, handlers.process_send, spend_of=_amount_sent),
            MsgMultiSend.TYPE: MsgRoute(MsgMultiSend, handlers.process_multi_send),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "balance": address_query(state.balance_key),
            "supply": lambda _: state.SUPPLY_KEY,
            "minted": lambda _: state.MINTED_KEY,
            "burned": lambda _: state.BURNED_KEY,
            "params": lambda _: state.PARAMS_KEY,
        }

    def default_genesis(self) -> dict[str, Any]:
        return {"params": asdict(state.BankParams()), "balances": []}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        if set(data) != {"params", "balances"}:
            raise InvalidGenesisError("bank genesis needs exactly params and balances")
        state.set_params(ctx, state.BankParams.from_value(dict(data["params"])))
        seen: set[bytes] = set()
        supply = 0
        for i, entry in enumerate(data["balances"]):
            if not isinstance(entry, dict) or set(entry) != {"address", "amount"}:
                raise InvalidGenesisError(f"bank.balances[{i}] needs address and amount")
            address = genesis_address(entry["address"], f"bank.balances[{i}]")
            amount = genesis_amount(entry["amount"], f"bank.balances[{i}]")
            # Verify each address appears once
            if address in seen:
                raise InvalidGenesisError(f"bank.balances[{i}]: duplicate address")
            seen.add(address)
            state.increase_balance(ctx, address, amount)
            supply += amount
        if supply >= 1 << 64:
            raise InvalidGenesisError("genesis supply exceeds 64 bits")
        ctx.set(state.SUPPLY_KEY, encode_uint(supply))
        ctx.set(state.GENESIS_SUPPLY_KEY, encode_uint(supply))

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        raw = reader.get(state.PARAMS_KEY)
        params = decode_state(raw) if raw else asdict(state.BankParams())
        return {
            "params": params,
            "balances": [
                {"address": addr_text(a), "amount": n} for a, n in state.iter_balances(reader)
            ],
        }

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("bank/total-supply", _total_supply),
            Invariant("bank/nonnegative-balances", _balances_well_formed),
            Invariant("bank/supply-accounted", _supply_accounted),
        ]


def _supply_accounted(reader: KVReader) -> str | None:
    """Supply changes only by recorded minting and burning."""
    genesis = state.read_uint(reader, state.GENESIS_SUPPLY_KEY)
    minted = state.read_uint(reader, state.MINTED_KEY)
    burned = state.read_uint(reader, state.BURNED_KEY)
    supply = state.read_supply(reader)
    if supply != genesis + minted - burned:
        return f"supply {supply} != genesis {genesis} + minted {minted} - burned {burned}"
    return None


def _total_supply(reader: KVReader) -> str | None:
    total = sum(n for _, n in state.iter_balances(reader))
    supply = state.read_supply(reader)
    if total != supply:
        return f"sum of balances {total} != supply {supply}"
    return None


def _balances_well_formed(reader: KVReader) -> str | None:
    for key, raw in reader.iterate(state.BALANCE_PREFIX):
        if len(key) != len(state.BALANCE_PREFIX) + ADDRESS_LEN or len(raw) != 16:
            return f"malformed balance entry {key.hex()}"
        if decode_uint(raw) <= 0:
            return f"non-positive balance stored for {key.hex()}"
    return None
