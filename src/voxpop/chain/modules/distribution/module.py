"""The distribution module: issuance, fees and rewards to validators, delegators and the
community pool."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.module import Invariant, Module, MsgRoute, ParamsSpec, address_query
from voxpop.chain.modules.bank.state import get_supply, read_balance
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.distribution import handlers, state
from voxpop.chain.modules.distribution.messages import MsgClaimCommission, MsgClaimRewards
from voxpop.chain.modules.staking import state as staking


class DistributionModule(Module):
    name = "distribution"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(
            state.PARAMS_KEY,
            state.DistributionParams.from_value,
            state.DistributionParams,
            # Verify the supply has room for a century at the highest rate the rule may reach
            lambda ctx, p: state.check_issuance_headroom(get_supply(ctx), p.max_inflation_bps),
            state.adopt_params,
        )

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgClaimRewards.TYPE: MsgRoute(MsgClaimRewards, handlers.process_claim_rewards),
            MsgClaimCommission.TYPE: MsgRoute(
                MsgClaimCommission, handlers.process_claim_commission
            ),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "params": lambda _: state.PARAMS_KEY,
            "issued": lambda _: state.ISSUED_KEY,
            "inflation": lambda _: state.INFLATION_KEY,
            "distributed": lambda _: state.DISTRIBUTED_KEY,
            "commission": address_query(lambda a: state.COMMISSION_PREFIX + a, "operator address"),
            "outstanding": address_query(
                lambda a: state.OUTSTANDING_PREFIX + a, "operator address"
            ),
            "accumulator": address_query(lambda a: state.ACC_PREFIX + a, "operator address"),
        }

    def default_genesis(self) -> dict[str, Any]:
        return {"params": asdict(state.DistributionParams())}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        if set(data) != {"params"}:
            raise InvalidGenesisError("distribution genesis needs exactly params")
        params = state.DistributionParams.from_value(dict(data["params"]))
        # Verify issuance cannot overflow the supply within the horizon (bank's genesis ran first)
        # (at the highest rate the rule may reach)
        state.check_issuance_headroom(get_supply(ctx), params.max_inflation_bps)
        state.set_params(ctx, params)
        # Issuance starts at genesis time if genesis bonds stake
        state.process_mint(ctx, state.get_params(ctx))

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        """Params only: unclaimed rewards are not carried into a new chain (claim them first)."""
        raw = reader.get(state.PARAMS_KEY)
        return {"params": decode_state(raw) if raw else asdict(state.DistributionParams())}

    def begin_block(self, ctx: Context) -> None:
        params = state.get_params(ctx)
        state.process_mint(ctx, params)
        state.allocate_rewards(ctx, params)

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("distribution/account", _account),
            Invariant("distribution/outstanding-covers-pending", _outstanding_covers_pending),
        ]


def _account(reader: KVReader) -> str | None:
    """The distribution account holds exactly the unclaimed commission and delegator rewards
    (rounding dust included)."""
    owed = state.read_sum(reader, state.OUTSTANDING_PREFIX) + state.read_sum(
        reader, state.COMMISSION_PREFIX
    )
    balance = read_balance(reader, state.DISTRIBUTION_ADDRESS)
    if balance != owed:
        return f"distribution account holds {balance}, owes {owed}"
    return None


def _outstanding_covers_pending(reader: KVReader) -> str | None:
    """Every validator's outstanding rewards cover what its delegators can claim."""
    acc = state.read_map(reader, state.ACC_PREFIX)
    start = state.read_map(reader, state.START_PREFIX)
    outstanding = state.read_map(reader, state.OUTSTANDING_PREFIX)
    pending: dict[bytes, int] = {}
    for op, delegator, shares in staking.read_delegations(reader):
        gain = acc.get(op, 0) - start.get(op + delegator, 0)
        if gain < 0:
            return f"delegation {addr_text(delegator)} starts after its validator's accumulator"
        pending[op] = pending.get(op, 0) + shares * gain // state.REWARD_SCALE
    for op, owed in pending.items():
        if owed > outstanding.get(op, 0):
            return f"validator {addr_text(op)} owes {owed}, holds {outstanding.get(op, 0)}"
    return None
