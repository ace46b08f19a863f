"""The staking module: validators bond tokens, delegators share in their stake, and the top
validators by stake form CometBFT's validator set."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, decode_uint
from voxpop.chain.errors import ChainError, InvalidGenesisError, InvalidQueryError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import (
    ADDRESS_LEN,
    Invariant,
    Module,
    MsgRoute,
    ParamsSpec,
    address_query,
    msg_from_json,
)
from voxpop.chain.modules.bank.state import read_balance
from voxpop.chain.modules.codec import addr_text, genesis_address, genesis_amount
from voxpop.chain.modules.distribution import state as distribution
from voxpop.chain.modules.staking import handlers, state
from voxpop.chain.modules.staking.messages import (
    MsgCreateValidator,
    MsgDelegate,
    MsgEditValidator,
    MsgRedelegate,
    MsgUndelegate,
)


def _delegation_query(data: bytes) -> bytes:
    if len(data) != 2 * ADDRESS_LEN:
        raise InvalidQueryError("query data must be validator (20 bytes) || delegator (20 bytes)")
    return state.delegation_key(data[:ADDRESS_LEN], data[ADDRESS_LEN:])


def genesis_validator_msg(entry: Any, where: str) -> MsgCreateValidator:
    """A genesis validator: a CreateValidator message in its JSON shape."""
    return msg_from_json(MsgCreateValidator, entry, where)


class StakingModule(Module):
    name = "staking"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.StakingParams.from_value, state.StakingParams)

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgCreateValidator.TYPE: MsgRoute(
                MsgCreateValidator, handlers.process_create_validator
            ),
            MsgEditValidator.TYPE: MsgRoute(MsgEditValidator, handlers.process_edit_validator),
            MsgDelegate.TYPE: MsgRoute(MsgDelegate, handlers.process_delegate),
            MsgUndelegate.TYPE: MsgRoute(MsgUndelegate, handlers.process_undelegate),
            MsgRedelegate.TYPE: MsgRoute(MsgRedelegate, handlers.process_redelegate),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "params": lambda _: state.PARAMS_KEY,
            "validator": address_query(state.validator_key),
            "validator_by_consensus": address_query(state.consensus_key),
            "power": address_query(lambda a: state.LAST_POWER_PREFIX + a),
            "delegation": _delegation_query,
        }

    def list_routes(self) -> Mapping[str, ListRoute]:
        return {
            "delegations_by_delegator": ListRoute(
                state.DELEGATIONS_BY_DELEGATOR,
                lambda delegator, operator: state.delegation_key(operator, delegator),
            ),
        }

    def default_genesis(self) -> dict[str, Any]:
        return {"params": asdict(state.StakingParams()), "validators": [], "delegations": []}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        if set(data) != {"params", "validators", "delegations"}:
            raise InvalidGenesisError(
                "staking genesis needs exactly params, validators, delegations"
            )
        state.set_params(ctx, state.StakingParams.from_value(dict(data["params"])))
        try:
            for i, entry in enumerate(data["validators"]):
                handlers.create_validator(
                    ctx, genesis_validator_msg(entry, f"staking.validators[{i}]")
                )
            for i, entry in enumerate(data["delegations"]):
                where = f"staking.delegations[{i}]"
                if not isinstance(entry, dict) or set(entry) != {
                    "delegator",
                    "validator",
                    "amount",
                }:
                    raise InvalidGenesisError(f"{where} needs delegator, validator, amount")
                delegator = genesis_address(entry["delegator"], where)
                operator = genesis_address(entry["validator"], where)
                val = state.require_validator(ctx, operator)
                state.delegate(ctx, val, delegator, genesis_amount(entry["amount"], where))
                distribution.track(ctx, delegator, operator)
        except InvalidGenesisError:
            raise
        except ChainError as exc:
            raise InvalidGenesisError(f"staking genesis: {exc.message}") from None
        state.apply_validator_set(ctx)

    def initial_validators(self, ctx: Context) -> list[ValidatorUpdate]:
        return state.active_validator_updates(ctx)

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        """A snapshot for starting a new chain: each validator with its operator's stake as the
        self-bond and every other delegation at its current value. Maturing entries, jailing and
        commission history are not carried over."""
        raw = reader.get(state.PARAMS_KEY)
        validators = {v.operator: v for v in state.read_validators(reader)}
        out_vals, out_dels = [], []
        for op, delegator, shares in state.read_delegations(reader):
            amount = state.compute_tokens(validators[op], shares)
            if delegator == op or not amount:
                continue
            out_dels.append(
                {"delegator": addr_text(delegator), "validator": addr_text(op), "amount": amount}
            )
        shares_of = {(o, d): s for o, d, s in state.read_delegations(reader)}
        for op, val in validators.items():
            self_bond = state.compute_tokens(val, shares_of.get((op, op), 0))
            if not self_bond:
                continue
            out_vals.append(
                {
                    "operator": addr_text(op),
                    "consensus_pub_key": val.consensus_pub_key.hex(),
                    "self_bond": self_bond,
                    "commission_rate_bps": val.commission_rate_bps,
                    "max_commission_rate_bps": val.max_commission_rate_bps,
                    "max_commission_change_bps": val.max_commission_change_bps,
                    "moniker": val.moniker,
                    "details": val.details,
                }
            )
        return {
            "params": decode_state(raw) if raw else asdict(state.StakingParams()),
            "validators": out_vals,
            "delegations": out_dels,
        }

    def end_block(self, ctx: Context) -> list[ValidatorUpdate]:
        state.complete_matured(ctx)
        return state.apply_validator_set(ctx)

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("staking/bonded-pool", _bonded_pool),
            Invariant("staking/not-bonded-pool", _not_bonded_pool),
            Invariant("staking/shares", _shares),
            Invariant("staking/active-set", _active_set),
            Invariant("staking/delegations-by-delegator", _delegations_indexed),
        ]


def _delegations_indexed(reader: KVReader) -> str | None:
    """The by-delegator index lists exactly the delegations, under matching commitments."""
    index = state.DELEGATIONS_BY_DELEGATOR
    problem = index.check(reader)
    if problem is not None:
        return problem
    n = len(state.DELEGATION_PREFIX)
    held = {
        (k[n + ADDRESS_LEN :], k[n : n + ADDRESS_LEN])
        for k, _ in reader.iterate(state.DELEGATION_PREFIX)
    }
    listed = {
        (k[len(index.index_prefix) :][:ADDRESS_LEN], k[len(index.index_prefix) + ADDRESS_LEN :])
        for k, _ in reader.iterate(index.index_prefix)
    }
    if held != listed:
        return f"{len(held ^ listed)} delegations differ between the index and the state"
    return None


def _bonded_pool(reader: KVReader) -> str | None:
    tokens = sum(v.tokens for v in state.read_validators(reader) if v.status == state.Status.BONDED)
    balance = read_balance(reader, state.BONDED_POOL_ADDRESS)
    if balance != tokens:
        return f"bonded_pool holds {balance}, bonded validators have {tokens} tokens"
    return None


def _not_bonded_pool(reader: KVReader) -> str | None:
    tokens = sum(v.tokens for v in state.read_validators(reader) if v.status != state.Status.BONDED)
    entries = sum(e.balance for e in state.read_unbondings(reader))
    balance = read_balance(reader, state.NOT_BONDED_POOL_ADDRESS)
    if balance != tokens + entries:
        return f"not_bonded_pool holds {balance}; validators {tokens} + undelegations {entries}"
    return None


def _shares(reader: KVReader) -> str | None:
    totals: dict[bytes, int] = {}
    for op, _, shares in state.read_delegations(reader):
        totals[op] = totals.get(op, 0) + shares
    for val in state.read_validators(reader):
        if totals.get(val.operator, 0) != val.shares:
            return f"validator {addr_text(val.operator)} shares != sum of its delegations"
        if val.shares == 0 and val.tokens != 0:
            return f"validator {addr_text(val.operator)} has tokens but no shares"
    return None


def _active_set(reader: KVReader) -> str | None:
    validators = {v.operator: v for v in state.read_validators(reader)}
    n = 0
    for key, raw in reader.iterate(state.LAST_POWER_PREFIX):
        n += 1
        val = validators.get(key[len(state.LAST_POWER_PREFIX) :])
        if val is None or val.status != state.Status.BONDED or decode_uint(raw) != val.power:
            return f"active-set entry {key.hex()} does not match a bonded validator's power"
    bonded = sum(1 for v in validators.values() if v.status == state.Status.BONDED)
    if bonded != n:
        return f"{bonded} bonded validators but {n} in the active set"
    return None
