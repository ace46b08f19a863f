"""Market state: open offers (listed by kind and by buyer), each offer's sales, the queue of held
payments by the time they fall due, used offer ids, and each account's market record.

market/params                                   -> CBOR MarketParams
market/o/<offer id 32>                          -> CBOR Offer (absent: never posted, or closed)
market/s/<offer id 32><object id 32>            -> CBOR Sale: the object settled under the offer
market/due/<payable_at u64 BE><offer id 32><object id 32> -> 0x01: a held payment falls due then
market/used/<offer id 32>                       -> 0x01: the id was posted (ids are never reused)
market/acct/<address 20>                        -> CBOR Record of the account's sales and disputes
market/kli/<kind, NUL-padded to 16><offer id>, market/klc/<kind padded>  -> offers by kind
market/bli/<buyer 20><offer id>, market/blc/<buyer 20>                    -> offers by buyer

The market account holds every open offer's escrow: budget - paid x price.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import InvalidGenesisError, MarketOfferNotFoundError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListIndex
from voxpop.chain.module_accounts import MARKET, module_address
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.bounds import MAX_DURATION_SECONDS, param_int
from voxpop.chain.modules.market.messages import MAX_OBJECTS
from voxpop.chain.modules.services.state import MAX_KIND_LEN, kind_owner

NAME = MARKET
MODULE_ADDRESS = module_address(MARKET)
PREFIX = b"market/"
PARAMS_KEY = b"market/params"
OFFER_PREFIX = b"market/o/"
SALE_PREFIX = b"market/s/"
DUE_PREFIX = b"market/due/"
USED_PREFIX = b"market/used/"
RECORD_PREFIX = b"market/acct/"
ID_LEN = 32
ADDRESS_LEN = 20
TIME_LEN = 8
BPS = 10_000
_PRESENT = b"\x01"

HELD = "held"  # settled; paid to the seller once its dispute window ends
PAID = "paid"
DISPUTED = "disputed"  # the buyer refused it in the window: its price stayed in the escrow
SALE_STATUSES = (HELD, PAID, DISPUTED)

OFFERS_BY_KIND = ListIndex(
    index_prefix=b"market/kli/",
    commit_prefix=b"market/klc/",
    owner_len=MAX_KIND_LEN,
    id_len=ID_LEN,
    max_items=1_000,
)
OFFERS_BY_BUYER = ListIndex(
    index_prefix=b"market/bli/",
    commit_prefix=b"market/blc/",
    owner_len=ADDRESS_LEN,
    id_len=ID_LEN,
    max_items=256,
)


@dataclass(frozen=True, slots=True)
class MarketParams:
    # How long a settled object's payment is held, in which its buyer may dispute it (0: paid
    # at once, no disputes)
    dispute_seconds: int = 86_400
    # After an offer's last grant may end (expires + access_seconds), how long sellers have to
    # settle before the buyer may close it
    settle_seconds: int = 86_400
    max_objects_per_offer: int = 1_000
    max_offer_seconds: int = 90 * 86_400  # how far ahead an offer may expire
    max_access_seconds: int = 365 * 86_400
    # Disputes an offer allows, in basis points of its max_objects (at least one when > 0)
    max_dispute_bps: int = 1_000
    # Held payments paid per block at most (the rest the next block): bounded begin-block work
    max_payouts_per_block: int = 256

    @classmethod
    def from_value(cls, value: Any) -> MarketParams:
        """Params from genesis, state or governance, each within bounds. Raises
        InvalidGenesisError."""
        names = set(MarketParams.__dataclass_fields__)
        if not isinstance(value, dict) or set(value) != names:
            raise InvalidGenesisError(f"market params need exactly {sorted(names)}")
        month = 30 * 86_400
        return cls(
            param_int(NAME, "dispute_seconds", value["dispute_seconds"], 0, month),
            param_int(NAME, "settle_seconds", value["settle_seconds"], 0, month),
            param_int(
                NAME, "max_objects_per_offer", value["max_objects_per_offer"], 1, MAX_OBJECTS
            ),
            param_int(
                NAME, "max_offer_seconds", value["max_offer_seconds"], 1, MAX_DURATION_SECONDS
            ),
            param_int(
                NAME, "max_access_seconds", value["max_access_seconds"], 1, MAX_DURATION_SECONDS
            ),
            param_int(NAME, "max_dispute_bps", value["max_dispute_bps"], 0, BPS),
            param_int(NAME, "max_payouts_per_block", value["max_payouts_per_block"], 1, 4_096),
        )

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in MarketParams.__dataclass_fields__}


OFFER_FIELDS = (
    "buyer",
    "kind",
    "language",
    "min_seconds",
    "max_seconds",
    "purpose",
    "price",
    "access_seconds",
    "max_objects",
    "expires",
    "closes_at",
    "posted_at",
    "paid",
    "held",
    "disputed",
)


@dataclass(frozen=True, slots=True)
class Offer:
    buyer: bytes
    kind: str
    language: str
    min_seconds: int
    max_seconds: int
    purpose: str
    price: int  # uvox per object
    access_seconds: int
    max_objects: int
    expires: int  # unix seconds: sellers' agents make no grant for it after this
    closes_at: int  # expires + access_seconds + settle_seconds: no Settle from then, Close may
    posted_at: int  # block time
    paid: int  # objects paid to sellers
    held: int  # objects settled, their payment held in the dispute window
    disputed: int  # objects whose payment the buyer refused

    @property
    def budget(self) -> int:
        return self.price * self.max_objects

    @property
    def escrow(self) -> int:
        """What the market account holds for the offer: everything not yet paid out."""
        return self.price * (self.max_objects - self.paid)

    @property
    def settled(self) -> int:
        """Objects that take a share of the budget: paid or held."""
        return self.paid + self.held

    def grant_ends_by(self) -> int:
        """The latest a grant this offer pays for may expire."""
        return self.expires + self.access_seconds

    def dispute_limit(self, params: MarketParams) -> int:
        if params.max_dispute_bps == 0:
            return 0
        return max(1, self.max_objects * params.max_dispute_bps // BPS)

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in OFFER_FIELDS}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Offer:
        return cls(*(value[name] for name in OFFER_FIELDS))


SALE_FIELDS = ("seller", "grant_id", "status", "settled_at", "payable_at")


@dataclass(frozen=True, slots=True)
class Sale:
    seller: bytes
    grant_id: bytes
    status: str  # held | paid | disputed
    settled_at: int  # block time of the Settle
    payable_at: int  # settled_at + dispute_seconds

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SALE_FIELDS}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Sale:
        return cls(*(value[name] for name in SALE_FIELDS))


RECORD_FIELDS = ("sold", "bought", "disputes_made", "disputes_against")


@dataclass(frozen=True, slots=True)
class Record:
    """An account's market record, public so owners' policies can weigh buyers (and buyers
    sellers): objects sold and bought (paid), disputes it made as a buyer, disputes against it
    as a seller. It outlives the offers."""

    sold: int = 0
    bought: int = 0
    disputes_made: int = 0
    disputes_against: int = 0

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RECORD_FIELDS}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Record:
        return cls(*(value[name] for name in RECORD_FIELDS))


# --- keys -------------------------------------------------------------------------------------


def u64(n: int) -> bytes:
    return n.to_bytes(TIME_LEN, "big")


def offer_key(offer_id: bytes) -> bytes:
    return OFFER_PREFIX + offer_id


def sale_key(offer_id: bytes, object_id: bytes) -> bytes:
    return SALE_PREFIX + offer_id + object_id


def due_key(payable_at: int, offer_id: bytes, object_id: bytes) -> bytes:
    return DUE_PREFIX + u64(payable_at) + offer_id + object_id


def used_key(offer_id: bytes) -> bytes:
    return USED_PREFIX + offer_id


def record_key(address: bytes) -> bytes:
    return RECORD_PREFIX + address


# --- params -----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> MarketParams:
    return MarketParams.from_value(decode_state(raw))


def get_params(ctx: Context) -> MarketParams:
    raw = ctx.get(PARAMS_KEY)
    return decode_params(raw) if raw else MarketParams()


def set_params(ctx: Context, params: MarketParams) -> None:
    ctx.set(PARAMS_KEY, encode(params.to_value()))


def read_params(reader: KVReader) -> MarketParams:
    raw = reader.get(PARAMS_KEY)
    return decode_params(raw) if raw else MarketParams()


# --- offers -----------------------------------------------------------------------------------


def decode_offer(raw: bytes) -> Offer:
    """The value of `/market/offer`."""
    return Offer.from_value(decode_state(raw))


def decode_sale(raw: bytes) -> Sale:
    """The value of `/market/sale`."""
    return Sale.from_value(decode_state(raw))


def decode_record(raw: bytes) -> Record:
    """The value of `/market/record`."""
    return Record.from_value(decode_state(raw))


def find_offer(state: KVReader | Context, offer_id: bytes) -> Offer | None:
    """The open offer `offer_id`, or None (for other modules: consent may check a grant's
    offer)."""
    raw = state.get(offer_key(offer_id))
    return decode_offer(raw) if raw else None


def get_offer(ctx: Context, offer_id: bytes) -> Offer:
    """The open offer `offer_id`. Raises MarketOfferNotFoundError."""
    offer = find_offer(ctx, offer_id)
    # Verify the offer is open (closed ones are gone)
    if offer is None:
        raise MarketOfferNotFoundError(f"no open offer {offer_id.hex()}")
    return offer


def set_offer(ctx: Context, offer_id: bytes, offer: Offer) -> None:
    ctx.set(offer_key(offer_id), encode(offer.to_value()))


def is_used(ctx: Context, offer_id: bytes) -> bool:
    return ctx.get(used_key(offer_id)) is not None


def create_offer(ctx: Context, offer_id: bytes, offer: Offer) -> None:
    """Store and list a new offer, mark its id used, and move its budget from the buyer into the
    market account. Raises ListFullError, InsufficientFundsError."""
    set_offer(ctx, offer_id, offer)
    ctx.set(used_key(offer_id), _PRESENT)
    OFFERS_BY_KIND.add(ctx, kind_owner(offer.kind), offer_id)
    OFFERS_BY_BUYER.add(ctx, offer.buyer, offer_id)
    bank.move(ctx, offer.buyer, MODULE_ADDRESS, offer.budget)


def end_offer(ctx: Context, offer_id: bytes, offer: Offer) -> int:
    """Return the escrow left to the buyer, and remove the offer, its sales and list entries
    (its id stays used); return the refund. The caller checked nothing is held."""
    refund = offer.escrow
    bank.move(ctx, MODULE_ADDRESS, offer.buyer, refund)
    sales = [key for key, _ in ctx.iterate(SALE_PREFIX + offer_id)]
    for key in sales:
        ctx.delete(key)
    ctx.delete(offer_key(offer_id))
    OFFERS_BY_KIND.remove(ctx, kind_owner(offer.kind), offer_id)
    OFFERS_BY_BUYER.remove(ctx, offer.buyer, offer_id)
    return refund


# --- sales ------------------------------------------------------------------------------------


def find_sale(state: KVReader | Context, offer_id: bytes, object_id: bytes) -> Sale | None:
    raw = state.get(sale_key(offer_id, object_id))
    return decode_sale(raw) if raw else None


def set_sale(ctx: Context, offer_id: bytes, object_id: bytes, sale: Sale) -> None:
    ctx.set(sale_key(offer_id, object_id), encode(sale.to_value()))


def get_record(state: KVReader | Context, address: bytes) -> Record:
    raw = state.get(record_key(address))
    return decode_record(raw) if raw else Record()


def set_record(ctx: Context, address: bytes, record: Record) -> None:
    ctx.set(record_key(address), encode(record.to_value()))


def bump_record(ctx: Context, address: bytes, **deltas: int) -> None:
    record = get_record(ctx, address)
    set_record(
        ctx, address, replace(record, **{k: getattr(record, k) + v for k, v in deltas.items()})
    )


def pay_sale(ctx: Context, offer_id: bytes, offer: Offer, object_id: bytes, sale: Sale) -> Offer:
    """Pay the seller the offer's price for the object, from the escrow; return the offer."""
    bank.move(ctx, MODULE_ADDRESS, sale.seller, offer.price)
    set_sale(ctx, offer_id, object_id, replace(sale, status=PAID))
    bump_record(ctx, sale.seller, sold=1)
    bump_record(ctx, offer.buyer, bought=1)
    return replace(offer, paid=offer.paid + 1)


def settle_object(
    ctx: Context, offer_id: bytes, offer: Offer, object_id: bytes, sale: Sale
) -> Offer:
    """Record the object's sale: paid at once when there is no dispute window, else held until
    `sale.payable_at` (queued). Returns the offer with its counts moved (not yet stored)."""
    if sale.payable_at <= sale.settled_at:
        return pay_sale(ctx, offer_id, offer, object_id, sale)
    set_sale(ctx, offer_id, object_id, sale)
    ctx.set(due_key(sale.payable_at, offer_id, object_id), _PRESENT)
    return replace(offer, held=offer.held + 1)


def dispute_sale(
    ctx: Context, offer_id: bytes, offer: Offer, object_id: bytes, sale: Sale
) -> Offer:
    """The buyer refuses a held payment: it stays in the escrow (and returns at Close), the
    object cannot be settled under the offer again. Returns the offer (not yet stored)."""
    ctx.delete(due_key(sale.payable_at, offer_id, object_id))
    set_sale(ctx, offer_id, object_id, replace(sale, status=DISPUTED))
    bump_record(ctx, offer.buyer, disputes_made=1)
    bump_record(ctx, sale.seller, disputes_against=1)
    return replace(offer, held=offer.held - 1, disputed=offer.disputed + 1)


def pay_due(ctx: Context, now: int, limit: int) -> list[tuple[bytes, bytes, bytes]]:
    """Pay at most `limit` held payments whose window ended by `now`, oldest first; return
    (offer id, object id, seller) of each."""
    due: list[bytes] = []
    for key, _ in ctx.iterate(DUE_PREFIX):
        if len(due) >= limit or int.from_bytes(key[len(DUE_PREFIX) :][:TIME_LEN], "big") > now:
            break
        due.append(key)
    paid = []
    for key in due:
        rest = key[len(DUE_PREFIX) + TIME_LEN :]
        offer_id, object_id = rest[:ID_LEN], rest[ID_LEN:]
        ctx.delete(key)
        offer = get_offer(ctx, offer_id)
        sale = find_sale(ctx, offer_id, object_id)
        assert sale is not None and sale.status == HELD, "a queued payment without its sale"
        offer = pay_sale(ctx, offer_id, offer, object_id, sale)
        set_offer(ctx, offer_id, replace(offer, held=offer.held - 1))
        paid.append((offer_id, object_id, sale.seller))
    return paid


# --- unmetered reads for queries, genesis and invariants --------------------------------------


def read_offers(reader: KVReader) -> list[tuple[bytes, Offer]]:
    start = len(OFFER_PREFIX)
    return [(key[start:], decode_offer(raw)) for key, raw in reader.iterate(OFFER_PREFIX)]


def read_sales(reader: KVReader) -> list[tuple[bytes, bytes, Sale]]:
    start = len(SALE_PREFIX)
    return [
        (key[start:][:ID_LEN], key[start:][ID_LEN:], decode_sale(raw))
        for key, raw in reader.iterate(SALE_PREFIX)
    ]


def read_due(reader: KVReader) -> list[tuple[int, bytes, bytes]]:
    start = len(DUE_PREFIX)
    out = []
    for key, _ in reader.iterate(DUE_PREFIX):
        rest = key[start:]
        out.append(
            (int.from_bytes(rest[:TIME_LEN], "big"), rest[TIME_LEN:][:ID_LEN], rest[-ID_LEN:])
        )
    return out


def read_used(reader: KVReader) -> list[bytes]:
    return [key[len(USED_PREFIX) :] for key, _ in reader.iterate(USED_PREFIX)]


def read_records(reader: KVReader) -> list[tuple[bytes, Record]]:
    start = len(RECORD_PREFIX)
    return [(key[start:], decode_record(raw)) for key, raw in reader.iterate(RECORD_PREFIX)]
