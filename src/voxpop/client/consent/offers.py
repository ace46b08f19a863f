"""The buyer's side of the market: post an offer (its whole budget escrowed), close it (the rest
returns), and collect what it bought (`collect`: every grant made for the offer, through the
grant's privacy nodes, into a directory with a manifest)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from voxpop.client.consent.chainview import grants_of_grantee
from voxpop.client.consent.errors import ConsentClientError
from voxpop.client.consent.fetch import Ask, Buyer, FetchedObject
from voxpop.client.consent.grants import check_tx
from voxpop.client.sync import VoxClient
from voxpop.crypto.keys import PrivateKey

POST_GAS = 200_000
CLOSE_GAS = 200_000


@dataclass(frozen=True, slots=True)
class OfferRequest:
    kind: str
    language: str
    min_seconds: int
    max_seconds: int
    purpose: str
    price: int  # uvox per object
    access_seconds: int
    max_objects: int
    expires: int  # unix seconds


def post_offer(vox: VoxClient, buyer: PrivateKey, req: OfferRequest) -> tuple[bytes, str]:
    """market/Post with budget = price x max_objects. Returns (offer id, tx hash)."""
    offer_id = os.urandom(32)
    msg = (
        "market/Post",
        {
            "buyer": buyer.public_key.address,
            "offer_id": offer_id,
            "kind": req.kind,
            "language": req.language,
            "min_seconds": req.min_seconds,
            "max_seconds": req.max_seconds,
            "purpose": req.purpose,
            "price": req.price,
            "access_seconds": req.access_seconds,
            "max_objects": req.max_objects,
            "budget": req.price * req.max_objects,
            "expires": req.expires,
        },
    )
    result = vox.execute(buyer, [msg], gas_limit=POST_GAS, mode="commit")
    check_tx(result, "market/Post")
    return offer_id, result.tx_hash.hex()


def close_offer(vox: VoxClient, buyer: PrivateKey, offer_id: bytes) -> str:
    msg = ("market/Close", {"buyer": buyer.public_key.address, "offer_id": offer_id})
    result = vox.execute(buyer, [msg], gas_limit=CLOSE_GAS, mode="commit")
    check_tx(result, "market/Close")
    return str(result.tx_hash.hex())


def collect(
    vox: VoxClient, buyer: PrivateKey, offer_id: bytes, out: Path, ask: Ask
) -> tuple[list[FetchedObject], dict[str, str]]:
    """Every object of every grant made for the offer to this buyer, decrypted into `out`."""
    grants = [
        (gid, g)
        for gid, g in grants_of_grantee(vox, buyer.public_key.address)
        if g.offer_id == offer_id
    ]
    if not grants:
        raise ConsentClientError(f"no grant was made for offer {offer_id.hex()} yet", "no_grant")
    with Buyer(vox, buyer, ask) as b:
        return b.fetch_all(grants, out)
