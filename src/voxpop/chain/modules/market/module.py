"""The market module: buyers escrow offers for data (kind, language, length, purpose, price per
object); a seller whose grant (consent module) the buyer used is paid per accessed object, after
a dispute window; the rest of the escrow returns to the buyer at the offer's end."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.errors import InvalidGenesisError, InvalidQueryError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import Invariant, Module, MsgRoute, ParamsSpec, address_query
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.codec import addr_text, genesis_address
from voxpop.chain.modules.market import handlers, state
from voxpop.chain.modules.market.messages import MsgClose, MsgDispute, MsgPost, MsgSettle
from voxpop.chain.modules.services.state import KindListRoute, kind_owner

GENESIS_FIELDS = {"params", "offers", "sales", "used", "records"}


def _offer_query(data: bytes) -> bytes:
    """`/market/offer`: data = offer id (32 bytes)."""
    # Verify one offer id
    if len(data) != state.ID_LEN:
        raise InvalidQueryError(f"query data must be a {state.ID_LEN}-byte offer id")
    return state.offer_key(data)


def _sale_query(data: bytes) -> bytes:
    """`/market/sale`: data = offer id (32) || object id (32)."""
    # Verify an offer id and an object id
    if len(data) != 2 * state.ID_LEN:
        raise InvalidQueryError("query data must be a 32-byte offer id and a 32-byte object id")
    return state.SALE_PREFIX + data


# What a buyer's Post moves into the market account, for authz's spend limits
def _budget_spent(ctx: Context, msg: MsgPost) -> int:
    return msg.budget


class MarketModule(Module):
    name = "market"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.MarketParams.from_value, state.MarketParams)

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgPost.TYPE: MsgRoute(MsgPost, handlers.process_post, spend_of=_budget_spent),
            MsgClose.TYPE: MsgRoute(MsgClose, handlers.process_close),
            MsgSettle.TYPE: MsgRoute(MsgSettle, handlers.process_settle),
            MsgDispute.TYPE: MsgRoute(MsgDispute, handlers.process_dispute),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "offer": _offer_query,
            "sale": _sale_query,
            "record": address_query(state.record_key),
            "params": lambda _: state.PARAMS_KEY,
        }

    def list_routes(self) -> Mapping[str, ListRoute]:
        # `/market/offers`, data = the kind's text: the open offers of that kind
        return {
            "offers": KindListRoute(state.OFFERS_BY_KIND, lambda _, oid: state.offer_key(oid)),
            "by_buyer": ListRoute(state.OFFERS_BY_BUYER, lambda _, oid: state.offer_key(oid)),
        }

    def begin_block(self, ctx: Context) -> None:
        handlers.process_block(ctx)

    def default_genesis(self) -> dict[str, Any]:
        return {
            "params": state.MarketParams().to_value(),
            "offers": [],
            "sales": [],
            "used": [],
            "records": [],
        }

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        # Verify the shape and the params, then each record; then that the whole is consistent
        if not isinstance(data, Mapping) or set(data) != GENESIS_FIELDS:
            raise InvalidGenesisError(f"market genesis needs exactly {sorted(GENESIS_FIELDS)}")
        state.set_params(ctx, state.MarketParams.from_value(data["params"]))
        try:
            _import(ctx, data)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise InvalidGenesisError(f"market genesis: malformed ({type(exc).__name__})") from None
        for invariant in self.invariants():
            broken = invariant.check(ctx)
            if broken is not None:
                raise InvalidGenesisError(f"market genesis: {broken}")

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {
            "params": state.read_params(reader).to_value(),
            "offers": [offer_json(oid, o) for oid, o in state.read_offers(reader)],
            "sales": [sale_json(oid, obj, s) for oid, obj, s in state.read_sales(reader)],
            "used": [oid.hex() for oid in state.read_used(reader)],
            "records": [
                {"address": addr_text(a), **r.to_value()} for a, r in state.read_records(reader)
            ],
        }

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("market/module-balance", _module_balance),
            Invariant("market/sales", _sales_match),
            Invariant("market/lists", _lists_match),
        ]


def offer_json(offer_id: bytes, offer: state.Offer) -> dict[str, Any]:
    """An offer as genesis files, the API and the CLI show it."""
    return {"offer_id": offer_id.hex(), **offer.to_value(), "buyer": addr_text(offer.buyer)}


def sale_json(offer_id: bytes, object_id: bytes, sale: state.Sale) -> dict[str, Any]:
    return {
        "offer_id": offer_id.hex(),
        "object_id": object_id.hex(),
        **sale.to_value(),
        "seller": addr_text(sale.seller),
        "grant_id": sale.grant_id.hex(),
    }


def _uint(value: Any, where: str) -> int:
    if type(value) is not int or not 0 <= value < 1 << 64:
        raise InvalidGenesisError(f"{where} must be an unsigned 64-bit integer")
    return value


def _id(value: Any, where: str) -> bytes:
    raw = bytes.fromhex(value)
    if len(raw) != state.ID_LEN:
        raise InvalidGenesisError(f"{where} must be 32 bytes of hex")
    return raw


def _import(ctx: Context, data: Mapping[str, Any]) -> None:
    """Write the records of a market genesis (the invariants check the whole after)."""
    for i, entry in enumerate(data["used"]):
        ctx.set(state.used_key(_id(entry, f"market.used[{i}]")), b"\x01")
    for i, entry in enumerate(data["offers"]):
        where = f"market.offers[{i}]"
        if set(entry) != {"offer_id", *state.OFFER_FIELDS}:
            raise InvalidGenesisError(f"{where} needs offer_id and {list(state.OFFER_FIELDS)}")
        for name in state.OFFER_FIELDS:
            if name not in ("buyer", "kind", "language", "purpose"):
                _uint(entry[name], f"{where}.{name}")
        offer_id = _id(entry["offer_id"], f"{where}.offer_id")
        offer = state.Offer.from_value(
            {**entry, "buyer": genesis_address(entry["buyer"], f"{where}.buyer")}
        )
        if state.find_offer(ctx, offer_id) is not None or not state.is_used(ctx, offer_id):
            raise InvalidGenesisError(f"{where}: an offer once, its id listed as used")
        state.set_offer(ctx, offer_id, offer)
        state.OFFERS_BY_KIND.add(ctx, kind_owner(offer.kind), offer_id)
        state.OFFERS_BY_BUYER.add(ctx, offer.buyer, offer_id)
    for i, entry in enumerate(data["sales"]):
        where = f"market.sales[{i}]"
        if set(entry) != {"offer_id", "object_id", *state.SALE_FIELDS}:
            raise InvalidGenesisError(f"{where} is malformed")
        if entry["status"] not in state.SALE_STATUSES:
            raise InvalidGenesisError(f"{where}.status must be one of {state.SALE_STATUSES}")
        offer_id = _id(entry["offer_id"], f"{where}.offer_id")
        object_id = _id(entry["object_id"], f"{where}.object_id")
        sale = state.Sale(
            genesis_address(entry["seller"], f"{where}.seller"),
            _id(entry["grant_id"], f"{where}.grant_id"),
            entry["status"],
            _uint(entry["settled_at"], f"{where}.settled_at"),
            _uint(entry["payable_at"], f"{where}.payable_at"),
        )
        state.set_sale(ctx, offer_id, object_id, sale)
        if sale.status == state.HELD:
            ctx.set(state.due_key(sale.payable_at, offer_id, object_id), b"\x01")
    for i, entry in enumerate(data["records"]):
        where = f"market.records[{i}]"
        address = genesis_address(entry["address"], f"{where}.address")
        fields = {k: _uint(v, f"{where}.{k}") for k, v in entry.items() if k != "address"}
        if set(fields) != set(state.RECORD_FIELDS):
            raise InvalidGenesisError(f"{where} needs address and {list(state.RECORD_FIELDS)}")
        state.set_record(ctx, address, state.Record.from_value(fields))


def _module_balance(reader: KVReader) -> str | None:
    """The market account holds exactly the open offers' escrow (budget - paid x price)."""
    escrow = sum(o.escrow for _, o in state.read_offers(reader))
    balance = bank.read_balance(reader, state.MODULE_ADDRESS)
    if balance != escrow:
        return f"the market account holds {balance}; the open offers' escrow is {escrow}"
    return None


def _sales_match(reader: KVReader) -> str | None:
    """Each offer's counts are its sales', within max_objects; every sale belongs to an open
    offer; the due queue names exactly the held sales at their payable time."""
    offers = dict(state.read_offers(reader))
    counts: dict[bytes, dict[str, int]] = {oid: {} for oid in offers}
    held: list[tuple[int, bytes, bytes]] = []
    for offer_id, object_id, sale in state.read_sales(reader):
        if offer_id not in offers:
            return f"a sale of {object_id.hex()} under a closed offer {offer_id.hex()}"
        counts[offer_id][sale.status] = counts[offer_id].get(sale.status, 0) + 1
        if sale.status == state.HELD:
            held.append((sale.payable_at, offer_id, object_id))
    for offer_id, offer in offers.items():
        c = counts[offer_id]
        seen = (c.get(state.PAID, 0), c.get(state.HELD, 0), c.get(state.DISPUTED, 0))
        if seen != (offer.paid, offer.held, offer.disputed):
            return f"offer {offer_id.hex()}: counts {seen} do not match its sales"
        if offer.settled > offer.max_objects or offer.price * offer.max_objects >= 1 << 64:
            return f"offer {offer_id.hex()}: settled {offer.settled} of {offer.max_objects}"
        if reader.get(state.used_key(offer_id)) is None:
            return f"offer {offer_id.hex()}: its id is not marked used"
    if sorted(held) != state.read_due(reader):
        return "the due queue does not name exactly the held sales"
    return None


def _lists_match(reader: KVReader) -> str | None:
    """Each list's commitment matches its items, and the lists name exactly the open offers,
    each under its kind and its buyer."""
    for index in (state.OFFERS_BY_KIND, state.OFFERS_BY_BUYER):
        broken = index.check(reader)
        if broken is not None:
            return broken
    offers = state.read_offers(reader)
    expected = {
        state.OFFERS_BY_KIND: sorted(kind_owner(o.kind) + oid for oid, o in offers),
        state.OFFERS_BY_BUYER: sorted(o.buyer + oid for oid, o in offers),
    }
    for index, items in expected.items():
        listed = [key[len(index.index_prefix) :] for key, _ in reader.iterate(index.index_prefix)]
        if listed != items:
            return f"the list under {index.index_prefix!r} does not match the offers"
    return None
