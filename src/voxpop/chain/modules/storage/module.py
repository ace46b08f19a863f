"""The storage module: providers offer capacity for collateral, owners pay escrow for deals that
place an object's erasure-coded shards with them, and the chain challenges what they hold each
epoch (from the beacon's seed), paying proven epochs and slashing missed ones."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    InvalidGenesisError,
    InvalidQueryError,
    StorageEpochBlocksFixedError,
)
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import Invariant, Module, MsgRoute, ParamsSpec, address_query
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.codec import addr_text, genesis_address
from voxpop.chain.modules.storage import epochs, handlers, state
from voxpop.chain.modules.storage.messages import (
    MAX_N,
    MsgAddCollateral,
    MsgClaim,
    MsgCloseDeal,
    MsgConfirm,
    MsgOpenDeal,
    MsgProve,
    MsgRegister,
    MsgReplace,
    MsgUpdate,
    MsgWithdraw,
)

GENESIS_FIELDS = {"params", "providers", "deals", "active", "challenges", "faults"}


def _deal_query(data: bytes) -> bytes:
    """`/storage/deal`: data = object id (32 bytes)."""
    # Verify one object id
    if len(data) != state.OBJECT_ID_LEN:
        raise InvalidQueryError(f"query data must be a {state.OBJECT_ID_LEN}-byte object id")
    return state.deal_key(data)


def _challenges_query(data: bytes) -> bytes:
    """`/storage/challenges`: data = provider (20) || epoch (u64 BE)."""
    # Verify an address and an epoch
    if len(data) != state.ADDRESS_LEN + state.EPOCH_LEN:
        raise InvalidQueryError("query data must be a 20-byte provider and an 8-byte epoch")
    return state.CHALLENGE_PREFIX + data


# What an owner's and a provider's messages move into the storage account, for authz's limits
def _collateral_spent(ctx: Context, msg: MsgRegister) -> int:
    return msg.collateral


def _amount_spent(ctx: Context, msg: MsgAddCollateral) -> int:
    return msg.amount


def _escrow_spent(ctx: Context, msg: MsgOpenDeal) -> int:
    total = 0
    for address in msg.providers:
        provider = state.get_provider(ctx, address)
        price = provider.price if provider is not None else 0
        total += state.compute_escrow(msg.shard_size, price, msg.epochs)
    return total


def _check_params(ctx: Context, params: state.StorageParams) -> None:
    # Verify epoch_blocks stays as it is: deals count their terms in epochs of it
    if params.epoch_blocks != state.get_params(ctx).epoch_blocks:
        raise StorageEpochBlocksFixedError("epoch_blocks cannot change after genesis")


class StorageModule(Module):
    name = "storage"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(
            state.PARAMS_KEY, state.StorageParams.from_value, state.StorageParams, _check_params
        )

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgRegister.TYPE: MsgRoute(
                MsgRegister, handlers.process_register, spend_of=_collateral_spent
            ),
            MsgUpdate.TYPE: MsgRoute(MsgUpdate, handlers.process_update),
            MsgAddCollateral.TYPE: MsgRoute(
                MsgAddCollateral, handlers.process_add_collateral, spend_of=_amount_spent
            ),
            MsgWithdraw.TYPE: MsgRoute(MsgWithdraw, handlers.process_withdraw),
            MsgOpenDeal.TYPE: MsgRoute(
                MsgOpenDeal, handlers.process_open_deal, spend_of=_escrow_spent
            ),
            MsgConfirm.TYPE: MsgRoute(MsgConfirm, handlers.process_confirm),
            MsgProve.TYPE: MsgRoute(MsgProve, handlers.process_prove),
            MsgClaim.TYPE: MsgRoute(MsgClaim, handlers.process_claim),
            MsgReplace.TYPE: MsgRoute(MsgReplace, handlers.process_replace),
            MsgCloseDeal.TYPE: MsgRoute(MsgCloseDeal, handlers.process_close_deal),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "provider": address_query(state.provider_key, "provider"),
            "deal": _deal_query,
            "challenges": _challenges_query,
            "params": lambda _: state.PARAMS_KEY,
        }

    def list_routes(self) -> Mapping[str, ListRoute]:
        return {
            "providers": ListRoute(state.PROVIDERS, lambda _, a: state.provider_key(a)),
            "by_owner": ListRoute(state.DEALS_BY_OWNER, lambda _, oid: state.deal_key(oid)),
            "by_provider": ListRoute(
                state.PLACEMENTS_BY_PROVIDER, lambda _, pid: state.deal_key(pid[:32])
            ),
        }

    def begin_block(self, ctx: Context) -> None:
        epochs.process_block(ctx)

    def default_genesis(self) -> dict[str, Any]:
        return {
            "params": state.StorageParams().to_value(),
            "providers": [],
            "deals": [],
            "active": [],
            "challenges": [],
            "faults": [],
        }

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        # Verify the shape and the params, then each record; then that the whole is consistent
        if not isinstance(data, Mapping) or set(data) != GENESIS_FIELDS:
            raise InvalidGenesisError(f"storage genesis needs exactly {sorted(GENESIS_FIELDS)}")
        state.set_params(ctx, state.StorageParams.from_value(data["params"]))
        try:
            _import(ctx, data)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise InvalidGenesisError(
                f"storage genesis: malformed ({type(exc).__name__})"
            ) from None
        for invariant in self.invariants():
            broken = invariant.check(ctx)
            if broken is not None:
                raise InvalidGenesisError(f"storage genesis: {broken}")

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {
            "params": state.read_params(reader).to_value(),
            "providers": [provider_json(a, p) for a, p in state.read_providers(reader)],
            "deals": [deal_json(oid, d, full=True) for oid, d in state.read_deals(reader)],
            "active": [
                {"provider": addr_text(p), "placements": [pid.hex() for pid in pids]}
                for p, pids in state.read_active(reader).items()
            ],
            "challenges": [
                {"provider": addr_text(p), "epoch": e, **_challenges_json(c)}
                for p, e, c in state.read_challenges(reader)
            ],
            "faults": [
                {"provider": addr_text(p), "epoch": e} for p, e in state.read_faults(reader)
            ],
        }

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("storage/module-balance", _module_balance),
            Invariant("storage/placements", _placements_match),
            Invariant("storage/lists", _lists_match),
        ]


def provider_json(address: bytes, provider: state.Provider) -> dict[str, Any]:
    """A provider as genesis files, the API and the CLI show it."""
    return {"address": addr_text(address), **provider.to_value()}


def deal_json(object_id: bytes, deal: state.Deal, *, full: bool = False) -> dict[str, Any]:
    """A deal as the API and the CLI show it (`full`: every placement field, as genesis holds
    it). Each placement has its provider, root and status (pending|active|repair)."""
    value = deal.to_value()
    value["object_id"] = object_id.hex()
    value["owner"] = addr_text(deal.owner)
    value["header_hash"] = deal.header_hash.hex()
    value["placements"] = [
        {**p.to_value(), "provider": addr_text(p.provider), "root": p.root.hex()}
        if full
        else {"provider": addr_text(p.provider), "root": p.root.hex(), "status": p.status}
        for p in deal.placements
    ]
    return value


def _challenges_json(c: state.Challenges) -> dict[str, Any]:
    return {
        "items": [[o.hex(), s, leaf] for o, s, leaf in c.items],
        "proven": list(c.proven),
        "judged": c.judged,
    }


def _uint(value: Any, where: str) -> int:
    if type(value) is not int or not 0 <= value < 1 << 64:
        raise InvalidGenesisError(f"{where} must be an unsigned 64-bit integer")
    return value


def _import(ctx: Context, data: Mapping[str, Any]) -> None:
    """Write the records of a storage genesis (checked as they come; the invariants check the
    whole after)."""
    for i, entry in enumerate(data["providers"]):
        where = f"storage.providers[{i}]"
        address = genesis_address(entry["address"], f"{where}.address")
        fields = {k: v for k, v in entry.items() if k != "address"}
        if set(fields) != set(state.PROVIDER_FIELDS) or not isinstance(fields["endpoint"], str):
            raise InvalidGenesisError(f"{where} needs address and {list(state.PROVIDER_FIELDS)}")
        for name in state.PROVIDER_FIELDS[1:]:
            _uint(fields[name], f"{where}.{name}")
        state.set_provider(ctx, address, state.Provider.from_value(fields))
        state.PROVIDERS.add(ctx, b"", address)
    for i, entry in enumerate(data["deals"]):
        where = f"storage.deals[{i}]"
        object_id = bytes.fromhex(entry["object_id"])
        placements = []
        for j, p in enumerate(entry["placements"]):
            if set(p) != set(state.PLACEMENT_FIELDS) or p["status"] not in state.STATUSES:
                raise InvalidGenesisError(f"{where}.placements[{j}] is malformed")
            for name in state.PLACEMENT_FIELDS[3:]:
                _uint(p[name], f"{where}.placements[{j}].{name}")
            provider = genesis_address(p["provider"], f"{where}.placements[{j}].provider")
            placements.append(
                state.Placement.from_value(
                    {**p, "provider": provider, "root": bytes.fromhex(p["root"])}
                )
            )
        fields = {
            **{n: entry[n] for n in state.DEAL_FIELDS},
            "owner": genesis_address(entry["owner"], f"{where}.owner"),
            "header_hash": bytes.fromhex(entry["header_hash"]),
            "placements": [],
        }
        for name in state.DEAL_FIELDS[2:]:
            _uint(fields[name], f"{where}.{name}")
        deal = replace(state.Deal.from_value(fields), placements=tuple(placements))
        if len(object_id) != 32 or state.get_deal(ctx, object_id) is not None:
            raise InvalidGenesisError(f"{where}: a 32-byte object id, once")
        if (
            len(placements) != deal.n
            or not 0 < deal.k < deal.n <= MAX_N
            or deal.start_epoch >= deal.end_epoch
        ):
            raise InvalidGenesisError(f"{where}: inconsistent k, n, placements or term")
        state.set_deal(ctx, object_id, deal)
        state.DEALS_BY_OWNER.add(ctx, deal.owner, object_id)
        ctx.set(state.end_key(deal.end_epoch, object_id), b"\x01")
        for j, p in enumerate(placements):
            state.PLACEMENTS_BY_PROVIDER.add(ctx, p.provider, state.placement_id(object_id, j))
    for i, entry in enumerate(data["active"]):
        provider = genesis_address(entry["provider"], f"storage.active[{i}].provider")
        for pid in entry["placements"]:
            state.activate(ctx, provider, bytes.fromhex(pid))
    for i, entry in enumerate(data["challenges"]):
        provider = genesis_address(entry["provider"], f"storage.challenges[{i}].provider")
        epoch = _uint(entry["epoch"], f"storage.challenges[{i}].epoch")
        items = tuple((bytes.fromhex(o), s, leaf) for o, s, leaf in entry["items"])
        challenges = state.Challenges(items, tuple(entry["proven"]), entry["judged"])
        state.set_challenges(ctx, provider, epoch, challenges)
        if not challenges.judged:
            ctx.set(state.CHALLENGE_QUEUE_PREFIX + state.u64(epoch) + provider, b"\x01")
    for i, entry in enumerate(data["faults"]):
        provider = genesis_address(entry["provider"], f"storage.faults[{i}].provider")
        ctx.set(
            state.fault_key(provider, _uint(entry["epoch"], f"storage.faults[{i}].epoch")), b"\x01"
        )


def _module_balance(reader: KVReader) -> str | None:
    """The storage account holds exactly every provider's collateral and every placement's
    escrow not yet paid out or returned."""
    collateral = sum(p.collateral for _, p in state.read_providers(reader))
    escrow = sum(d.held() for _, d in state.read_deals(reader))
    balance = bank.read_balance(reader, state.MODULE_ADDRESS)
    if balance != collateral + escrow:
        return f"the storage account holds {balance}; collateral {collateral} + escrow {escrow}"
    return None


def _placements_match(reader: KVReader) -> str | None:
    """Every placement is consistent: paid within escrow, settled within its term, its provider
    registered, and it sits in its provider's dense list exactly when confirmed; each provider's
    `used` is the bytes placed with it."""
    used: dict[bytes, int] = {}
    confirmed: set[tuple[bytes, bytes]] = set()
    for object_id, deal in state.read_deals(reader):
        for i, p in enumerate(deal.placements):
            where = f"deal {object_id.hex()} shard {i}"
            if not 0 <= p.paid <= p.escrow:
                return f"{where}: paid {p.paid} of {p.escrow}"
            if not deal.start_epoch <= p.term_start < deal.end_epoch:
                return f"{where}: term starts at {p.term_start}, outside the deal"
            if not p.term_start <= p.settled <= deal.end_epoch:
                return f"{where}: settled {p.settled} outside its term"
            if (p.status == state.PENDING) != (p.active_from == 0):
                return f"{where}: status {p.status} with active_from {p.active_from}"
            used[p.provider] = used.get(p.provider, 0) + deal.shard_size
            if p.status != state.PENDING:
                confirmed.add((p.provider, state.placement_id(object_id, i)))
    providers = dict(state.read_providers(reader))
    for address, provider in providers.items():
        if provider.used != used.get(address, 0):
            return f"provider {address.hex()}: used {provider.used}, placed {used.get(address, 0)}"
    if not set(used) <= set(providers):
        return "a placement names an unregistered provider"
    listed: set[tuple[bytes, bytes]] = set()
    for address, pids in state.read_active(reader).items():
        if state.active_count(reader, address) != len(pids):
            return f"provider {address.hex()}: dense list count is off"
        for pos, pid in enumerate(pids):
            raw = reader.get(state.ACTIVE_POS_PREFIX + address + pid)
            if raw is None or int.from_bytes(raw, "big") != pos:
                return f"provider {address.hex()}: position of {pid.hex()} is off"
            listed.add((address, pid))
    if listed != confirmed or len(list(reader.iterate(state.ACTIVE_POS_PREFIX))) != len(listed):
        return "the dense lists do not name exactly the confirmed placements"
    return None


def _lists_match(reader: KVReader) -> str | None:
    """Each list's commitment matches its items, and the lists name exactly the providers, each
    owner's deals and each provider's placements."""
    for index in (state.PROVIDERS, state.DEALS_BY_OWNER, state.PLACEMENTS_BY_PROVIDER):
        broken = index.check(reader)
        if broken is not None:
            return broken
    deals = state.read_deals(reader)
    expected = {
        state.PROVIDERS: sorted(a for a, _ in state.read_providers(reader)),
        state.DEALS_BY_OWNER: sorted(d.owner + oid for oid, d in deals),
        state.PLACEMENTS_BY_PROVIDER: sorted(
            p.provider + state.placement_id(oid, i)
            for oid, d in deals
            for i, p in enumerate(d.placements)
        ),
    }
    for index, items in expected.items():
        listed = [key[len(index.index_prefix) :] for key, _ in reader.iterate(index.index_prefix)]
        if listed != items:
            return f"the list under {index.index_prefix!r} does not match the records"
    return None
