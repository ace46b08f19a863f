"""The services module: providers offer kinds of service (speech-to-text, weather, ...) at a
price, bonded by a stake; offers are listed by kind and provable; reputation facts are kept from
what the chain sees (stake, age, value settled through channels, distinct payers)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.context import Context
from voxpop.chain.errors import ChainError, InvalidGenesisError, InvalidQueryError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import Invariant, Module, MsgRoute, ParamsSpec, address_query
from voxpop.chain.modules.bank.state import get_balance, read_balance
from voxpop.chain.modules.bounds import MAX_UINT64
from voxpop.chain.modules.codec import addr_text, genesis_address
from voxpop.chain.modules.services import handlers, state
from voxpop.chain.modules.services.messages import (
    ED25519_KEY,
    ENDPOINT,
    LANGUAGES,
    SERVICE_KIND,
    MsgLeave,
    MsgRegister,
    MsgUpdate,
    check_distinct,
)

ADDRESS_LEN = state.ADDRESS_LEN
GENESIS_FIELDS = frozenset({"params", "offers", "reputations", "payers"})
# A reputation in genesis: every fact but the stake, which the offers determine
GENESIS_REPUTATION_FIELDS = tuple(f for f in state.REPUTATION_FIELDS if f != "stake")


def _offer_query(data: bytes) -> bytes:
    """`/services/offer`: data = provider 20 ‖ kind (UTF-8)."""
    # Verify an address followed by a well-formed kind
    kind = data[ADDRESS_LEN:].decode("ascii", errors="replace")
    if len(data) <= ADDRESS_LEN or not state.is_kind(kind):
        raise InvalidQueryError("query data must be a 20-byte provider and a service kind")
    return state.offer_key(data[:ADDRESS_LEN], kind)


def _payer_query(data: bytes) -> bytes:
    """`/services/payer`: data = provider 20 ‖ payer 20 -> uvox that payer settled to it."""
    # Verify two addresses
    if len(data) != 2 * ADDRESS_LEN:
        raise InvalidQueryError("query data must be provider (20 bytes) ‖ payer (20 bytes)")
    return state.payer_key(data[:ADDRESS_LEN], data[ADDRESS_LEN:])


class ServicesModule(Module):
    name = state.NAME
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.ServicesParams.from_value, state.ServicesParams)

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgRegister.TYPE: MsgRoute(MsgRegister, handlers.process_register),
            MsgUpdate.TYPE: MsgRoute(MsgUpdate, handlers.process_update),
            MsgLeave.TYPE: MsgRoute(MsgLeave, handlers.process_leave),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "offer": _offer_query,
            "reputation": address_query(state.reputation_key, "provider"),
            "payer": _payer_query,
            "params": lambda _: state.PARAMS_KEY,
        }

    def list_routes(self) -> Mapping[str, ListRoute]:
        # `/services/offers`, data = the kind's text: the active offers of that kind
        return {"offers": state.KindListRoute(state.OFFERS_BY_KIND, state.listed_offer_key)}

    def default_genesis(self) -> dict[str, Any]:
        return {
            "params": state.ServicesParams().to_value(),
            "offers": [],
            "reputations": [],
            "payers": [],
        }

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        # Verify the shape
        if set(data) != GENESIS_FIELDS or not all(
            isinstance(data[f], list) for f in ("offers", "reputations", "payers")
        ):
            raise InvalidGenesisError(
                "services genesis needs exactly params, and offers, reputations, payers (lists)"
            )
        params = state.ServicesParams.from_value(data["params"])
        state.set_params(ctx, params)
        stakes: dict[bytes, int] = {}
        first_registered: dict[bytes, int] = {}
        total = 0
        for i, entry in enumerate(data["offers"]):
            where = f"services.offers[{i}]"
            provider, kind, offer = genesis_offer(entry, where, params)
            # Verify each (provider, kind) appears once
            if state.get_offer(ctx, provider, kind) is not None:
                raise InvalidGenesisError(f"{where}: duplicate offer")
            state.set_offer(ctx, provider, kind, offer)
            total += offer.stake
            if offer.leaving_at:
                state.queue_unbonding(ctx, offer.leaving_at, provider, kind)
            else:
                try:
                    state.list_offer(ctx, provider, kind)
                except ChainError as exc:
                    raise InvalidGenesisError(f"{where}: {exc.message}") from None
                stakes[provider] = stakes.get(provider, 0) + offer.stake
            earliest = first_registered.get(provider, offer.registered_at)
            first_registered[provider] = min(earliest, offer.registered_at)
        # Verify the bank genesis gave the module account exactly the offers' stakes
        held = get_balance(ctx, state.MODULE_ADDRESS)
        if held != total:
            raise InvalidGenesisError(
                f"services: the module account holds {held} uvox, the offers' stakes are {total}"
            )
        payers: dict[bytes, int] = {}
        for i, entry in enumerate(data["payers"]):
            where = f"services.payers[{i}]"
            provider, payer, settled = genesis_payer(entry, where)
            if state.get_settled_by(ctx, provider, payer):
                raise InvalidGenesisError(f"{where}: duplicate payer")
            state.set_settled_by(ctx, provider, payer, settled)
            payers[provider] = payers.get(provider, 0) + 1
        reputations: dict[bytes, state.Reputation] = {}
        for i, entry in enumerate(data["reputations"]):
            where = f"services.reputations[{i}]"
            provider, rep = genesis_reputation(entry, where)
            rep = replace(rep, stake=stakes.get(provider, 0))
            # Verify one entry per provider, counting its payers, no later than its offers
            if provider in reputations:
                raise InvalidGenesisError(f"{where}: duplicate provider")
            if rep.payers != payers.get(provider, 0):
                raise InvalidGenesisError(f"{where}: payers must count its services.payers")
            if provider in first_registered and not (
                0 < rep.first_registered <= first_registered[provider]
            ):
                raise InvalidGenesisError(f"{where}: first_registered is after its offers")
            reputations[provider] = rep
        # Verify every provider with offers or payers has its reputation
        missing = (set(first_registered) | set(payers)) - set(reputations)
        if missing:
            raise InvalidGenesisError(f"services: no reputation for {addr_text(min(missing))}")
        for provider, rep in sorted(reputations.items()):
            state.set_reputation(ctx, provider, rep)

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {
            "params": state.read_params(reader).to_value(),
            "offers": [
                {"provider": addr_text(provider), "kind": kind, **offer_json(offer)}
                for provider, kind, offer in state.iter_offers(reader)
            ],
            "reputations": [
                {
                    "provider": addr_text(provider),
                    **{f: getattr(rep, f) for f in GENESIS_REPUTATION_FIELDS},
                }
                for provider, rep in state.iter_reputations(reader)
            ],
            "payers": [
                {"provider": addr_text(provider), "payer": addr_text(payer), "settled": settled}
                for provider, payer, settled in state.iter_payers(reader)
            ],
        }

    def end_block(self, ctx: Context) -> list[ValidatorUpdate]:
        handlers.process_matured(ctx)
        return []

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("services/stakes-held", _stakes_held),
            Invariant("services/listed-active", _listed_active),
            Invariant("services/unbonding-queue", _unbonding_queue),
            Invariant("services/reputation", _reputation_facts),
        ]


def offer_json(offer: state.Offer) -> dict[str, Any]:
    """An offer as genesis files and the CLI show it: the signing key in hex."""
    return {**offer.to_value(), "signing_key": offer.signing_key.hex()}


def _uint(value: Any, where: str, low: int = 0) -> int:
    if type(value) is not int or not low <= value <= MAX_UINT64:
        raise InvalidGenesisError(f"{where} must be an integer in {low}..2^64-1")
    return value


def genesis_offer(
    entry: Any, where: str, params: state.ServicesParams
) -> tuple[bytes, str, state.Offer]:
    """A genesis offer, checked as a Register message would be. Raises InvalidGenesisError."""
    fields = {"provider", "kind", *state.OFFER_FIELDS}
    if not isinstance(entry, dict) or set(entry) != fields:
        raise InvalidGenesisError(f"{where} needs exactly {sorted(fields)}")
    provider = genesis_address(entry["provider"], where)
    try:
        kind = SERVICE_KIND.parse(entry["kind"], "kind")
        endpoint = ENDPOINT.parse(entry["endpoint"], "endpoint")
        languages = LANGUAGES.parse(entry["languages"], "languages")
        check_distinct(languages)
        signing_key = ED25519_KEY.parse(ED25519_KEY.from_json(entry["signing_key"]), "signing_key")
        handlers.check_terms(params, endpoint, languages)
    except ChainError as exc:
        raise InvalidGenesisError(f"{where}: {exc.message}") from None
    # Verify the kind is offered and the stake at least the minimum
    if kind not in params.kinds:
        raise InvalidGenesisError(f"{where}: the params list no such kind")
    stake = _uint(entry["stake"], f"{where}.stake", params.min_stake)
    offer = state.Offer(
        endpoint,
        _uint(entry["price"], f"{where}.price", 1),
        languages,
        signing_key,
        stake,
        _uint(entry["registered_at"], f"{where}.registered_at", 1),
        _uint(entry["leaving_at"], f"{where}.leaving_at"),
    )
    return provider, kind, offer


def genesis_payer(entry: Any, where: str) -> tuple[bytes, bytes, int]:
    if not isinstance(entry, dict) or set(entry) != {"provider", "payer", "settled"}:
        raise InvalidGenesisError(f"{where} needs exactly payer, provider, settled")
    provider = genesis_address(entry["provider"], where)
    payer = genesis_address(entry["payer"], where)
    return provider, payer, _uint(entry["settled"], f"{where}.settled", 1)


def genesis_reputation(entry: Any, where: str) -> tuple[bytes, state.Reputation]:
    """A genesis reputation, its stake 0 (the offers determine it)."""
    fields = {"provider", *GENESIS_REPUTATION_FIELDS}
    if not isinstance(entry, dict) or set(entry) != fields:
        raise InvalidGenesisError(f"{where} needs exactly {sorted(fields)}")
    provider = genesis_address(entry["provider"], where)
    facts = {f: _uint(entry[f], f"{where}.{f}") for f in GENESIS_REPUTATION_FIELDS}
    return provider, state.Reputation(**facts)


# --- invariants -------------------------------------------------------------------------------


def _stakes_held(reader: KVReader) -> str | None:
    """The module account holds exactly the stakes of all offers, leaving ones included."""
    total = sum(offer.stake for _, _, offer in state.iter_offers(reader))
    held = read_balance(reader, state.MODULE_ADDRESS)
    if held != total:
        return f"the services account holds {held} uvox, the offers' stakes are {total}"
    return None


def _listed_active(reader: KVReader) -> str | None:
    """The lists by kind hold exactly the active offers, under matching commitments."""
    active = {
        (state.kind_owner(kind), provider)
        for provider, kind, offer in state.iter_offers(reader)
        if not offer.leaving_at
    }
    index = state.OFFERS_BY_KIND
    listed = set()
    for key, _ in reader.iterate(index.index_prefix):
        rest = key[len(index.index_prefix) :]
        listed.add((rest[: index.owner_len], rest[index.owner_len :]))
    if listed != active:
        return "the lists by kind differ from the active offers"
    return index.check(reader)


def _unbonding_queue(reader: KVReader) -> str | None:
    """The unbonding queue holds exactly one entry per leaving offer, at its leaving time."""
    leaving = sorted(
        (offer.leaving_at, provider, kind)
        for provider, kind, offer in state.iter_offers(reader)
        if offer.leaving_at
    )
    if state.iter_unbonding(reader) != leaving:
        return "the unbonding queue differs from the leaving offers"
    return None


def _reputation_facts(reader: KVReader) -> str | None:
    """Each provider's reputation counts the stake of its active offers and its distinct payers,
    and dates its first registration no later than its offers."""
    stakes: dict[bytes, int] = {}
    first: dict[bytes, int] = {}
    for provider, _, offer in state.iter_offers(reader):
        if not offer.leaving_at:
            stakes[provider] = stakes.get(provider, 0) + offer.stake
        first[provider] = min(first.get(provider, offer.registered_at), offer.registered_at)
    payers: dict[bytes, int] = {}
    for provider, _, settled in state.iter_payers(reader):
        if settled <= 0:
            return f"{addr_text(provider)}: a payer settled nothing"
        payers[provider] = payers.get(provider, 0) + 1
    reputations = dict(state.iter_reputations(reader))
    for provider in set(first) | set(payers):
        if provider not in reputations:
            return f"{addr_text(provider)} has offers or payers but no reputation"
    for provider, rep in reputations.items():
        if rep.stake != stakes.get(provider, 0):
            return f"{addr_text(provider)}: reputation stake {rep.stake} != active offers"
        if rep.payers != payers.get(provider, 0):
            return f"{addr_text(provider)}: reputation counts {rep.payers} payers"
        if provider in first and not 0 < rep.first_registered <= first[provider]:
            return f"{addr_text(provider)}: first registration after an offer"
    return None
