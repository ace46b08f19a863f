"""Market state read from the chain, proven: offers by kind (the list proven complete, so an
agent cannot be hidden a better offer), one offer, one sale, and counted accesses."""

from __future__ import annotations

from voxpop.chain.errors import ChainError
from voxpop.chain.modules.market.state import Offer, Sale, decode_offer, decode_sale
from voxpop.client.errors import NotFoundError, ProtocolError
from voxpop.client.sync import VoxClient

OFFERS_PATH = "/market/offers"
BY_BUYER_PATH = "/market/by_buyer"
OFFER_PATH = "/market/offer"
SALE_PATH = "/market/sale"
OBJECT_ACCESSES_PATH = "/consent/object_accesses"


def _offer(offer_id: bytes, raw: bytes) -> Offer:
    try:
        return decode_offer(raw)
    except (ChainError, KeyError, TypeError, ValueError):
        raise ProtocolError(f"malformed offer {offer_id.hex()}") from None


def offers_of_kind(vox: VoxClient, kind: str) -> list[tuple[bytes, Offer]]:
    """(offer id, offer) of every open offer of `kind`, proven complete."""
    try:
        listed = vox.query_list(OFFERS_PATH, kind.encode(), prove=True)
    except NotFoundError:
        return []
    return [(item.id, _offer(item.id, item.value)) for item in listed.items]


def offers_of_buyer(vox: VoxClient, buyer: bytes) -> list[tuple[bytes, Offer]]:
    try:
        listed = vox.query_list(BY_BUYER_PATH, buyer, prove=True)
    except NotFoundError:
        return []
    return [(item.id, _offer(item.id, item.value)) for item in listed.items]


def fetch_offer(vox: VoxClient, offer_id: bytes) -> Offer | None:
    try:
        result = vox.query(OFFER_PATH, offer_id, prove=True)
    except NotFoundError:
        return None
    return _offer(offer_id, result.value) if result.value else None


def fetch_sale(vox: VoxClient, offer_id: bytes, object_id: bytes) -> Sale | None:
    try:
        result = vox.query(SALE_PATH, offer_id + object_id, prove=True)
    except NotFoundError:
        return None
    if not result.value:
        return None
    try:
        return decode_sale(result.value)
    except (ChainError, KeyError, TypeError, ValueError):
        raise ProtocolError(f"malformed sale {offer_id.hex()}/{object_id.hex()}") from None


def counted_accesses(vox: VoxClient, grant_id: bytes, object_id: bytes) -> int:
    """Counted accesses (m answers to one request of the grantee) of an object under a grant."""
    try:
        result = vox.query(OBJECT_ACCESSES_PATH, grant_id + object_id, prove=True)
    except NotFoundError:
        return 0
    return int.from_bytes(result.value, "big") if result.value else 0
