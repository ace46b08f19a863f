"""Market transitions: post, close, settle, dispute; and the begin-block payout of held payments.

A failing handler's writes are all dropped (the app runs each message on a branch), so a Settle
with one object not accessed pays nothing.
"""

from __future__ import annotations

from hashlib import sha256

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    MarketAlreadySettledError,
    MarketBadTermsError,
    MarketDisputeLimitError,
    MarketGrantMismatchError,
    MarketGrantNotFoundError,
    MarketNotAccessedError,
    MarketNotHeldError,
    MarketOfferEndedError,
    MarketOfferExistsError,
    MarketOfferFullError,
    MarketOfferOpenError,
    MarketPaymentsHeldError,
    MarketWrongBuyerError,
)
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.consent import state as consent
from voxpop.chain.modules.market import state
from voxpop.chain.modules.market.messages import MsgClose, MsgDispute, MsgPost, MsgSettle


def process_post(ctx: Context, msg: MsgPost) -> None:
    params = state.get_params(ctx)
    now = ctx.block.time_unix
    # Verify the id was never used (a closed offer's grants must not settle against a new one)
    if state.is_used(ctx, msg.offer_id):
        raise MarketOfferExistsError(f"offer {msg.offer_id.hex()} was already posted")
    # Verify the offer is within the chain's bounds: its size, its expiry and its access term
    if msg.max_objects > params.max_objects_per_offer:
        raise MarketBadTermsError(f"an offer pays for at most {params.max_objects_per_offer}")
    if not now < msg.expires <= now + params.max_offer_seconds:
        raise MarketBadTermsError(
            f"expires must be after the block time and within {params.max_offer_seconds} s"
        )
    if msg.access_seconds > params.max_access_seconds:
        raise MarketBadTermsError(f"access_seconds is at most {params.max_access_seconds}")
    # Verify the purpose is one consent grants for (governance keeps the vocabulary)
    if msg.purpose not in consent.read_params(ctx).purposes:
        raise MarketBadTermsError("the purpose is not in consent's vocabulary")
    offer = state.Offer(
        buyer=msg.buyer,
        kind=msg.kind,
        language=msg.language,
        min_seconds=msg.min_seconds,
        max_seconds=msg.max_seconds,
        purpose=msg.purpose,
        price=msg.price,
        access_seconds=msg.access_seconds,
        max_objects=msg.max_objects,
        expires=msg.expires,
        closes_at=msg.expires + msg.access_seconds + params.settle_seconds,
        posted_at=now,
        paid=0,
        held=0,
        disputed=0,
    )
    state.create_offer(ctx, msg.offer_id, offer)
    ctx.emit(
        "market_post",
        offer_id=msg.offer_id.hex(),
        buyer=addr_text(msg.buyer),
        kind=msg.kind,
        purpose=msg.purpose,
        price=str(msg.price),
        budget=str(msg.budget),
        expires=str(msg.expires),
        closes_at=str(offer.closes_at),
    )


def process_close(ctx: Context, msg: MsgClose) -> None:
    offer = state.get_offer(ctx, msg.offer_id)
    # Verify the signer is the buyer
    if offer.buyer != msg.buyer:
        raise MarketWrongBuyerError("only the offer's buyer can close it")
    # Verify sellers have had their time to settle: the last grant's accesses may come until
    # expires + access_seconds, and a seller settles after the access is recorded (closing
    # earlier would let a buyer read and leave unpaid)
    if ctx.block.time_unix < offer.closes_at:
        raise MarketOfferOpenError(f"the offer takes settlements until {offer.closes_at}")
    # Verify no payment is still held in its dispute window (each falls due by itself)
    if offer.held:
        raise MarketPaymentsHeldError(f"{offer.held} payments are still held")
    refund = state.end_offer(ctx, msg.offer_id, offer)
    ctx.emit(
        "market_close",
        offer_id=msg.offer_id.hex(),
        buyer=addr_text(offer.buyer),
        paid=str(offer.paid),
        disputed=str(offer.disputed),
        refund=str(refund),
    )


def process_settle(ctx: Context, msg: MsgSettle) -> None:
    offer = state.get_offer(ctx, msg.offer_id)
    now = ctx.block.time_unix
    # Verify the offer still takes settlements
    if now >= offer.closes_at:
        raise MarketOfferEndedError(f"the offer took settlements until {offer.closes_at}")
    grant = consent.get_grant(ctx, msg.grant_id)
    # Verify the grant exists
    if grant is None:
        raise MarketGrantNotFoundError(f"no grant {msg.grant_id.hex()}")
    # Verify it is a sale under this offer: made for it, by the signer, to the offer's buyer, for
    # the offer's purpose, lasting no longer than the offer lets a grant last
    if grant.offer_id != msg.offer_id:
        raise MarketGrantMismatchError("the grant was not made for this offer")
    if grant.owner != msg.seller or grant.grantee != offer.buyer:
        raise MarketGrantMismatchError("the grant is not the signer's to the offer's buyer")
    if grant.purpose != offer.purpose:
        raise MarketGrantMismatchError("the grant's purpose is not the offer's")
    if grant.expiry > offer.grant_ends_by():
        raise MarketGrantMismatchError(f"the grant lasts past the offer's {offer.grant_ends_by()}")
    payable_at = now + state.get_params(ctx).dispute_seconds
    for i, object_id in enumerate(msg.object_ids):
        where = f"object_ids[{i}]"
        # Verify the object is not settled under this offer yet (one price per object)
        if state.find_sale(ctx, msg.offer_id, object_id) is not None:
            raise MarketAlreadySettledError(f"{where} was already settled under this offer")
        # Verify consent counted the buyer's access to it under the grant: the buyer's own
        # signed request answered by m distinct operators' nodes (a seller and some nodes alone
        # cannot make one)
        if consent.counted_accesses_of(ctx, msg.grant_id, object_id) < 1:
            raise MarketNotAccessedError(f"{where}: no counted access by the buyer")
        # Verify the budget has room for it
        if offer.settled >= offer.max_objects:
            raise MarketOfferFullError(f"the offer pays for {offer.max_objects} objects")
        sale = state.Sale(msg.seller, msg.grant_id, state.HELD, now, payable_at)
        offer = state.settle_object(ctx, msg.offer_id, offer, object_id, sale)
        ctx.emit(
            "market_settle",
            offer_id=msg.offer_id.hex(),
            object_id=object_id.hex(),
            seller=addr_text(msg.seller),
            price=str(offer.price),
            payable_at=str(payable_at),
        )
    state.set_offer(ctx, msg.offer_id, offer)


def process_dispute(ctx: Context, msg: MsgDispute) -> None:
    offer = state.get_offer(ctx, msg.offer_id)
    # Verify the signer is the buyer
    if offer.buyer != msg.buyer:
        raise MarketWrongBuyerError("only the offer's buyer can dispute its sales")
    sale = state.find_sale(ctx, msg.offer_id, msg.object_id)
    # Verify the object's payment is held and its window still open
    if sale is None or sale.status != state.HELD or ctx.block.time_unix >= sale.payable_at:
        raise MarketNotHeldError("the object's payment is not held in a dispute window")
    # Verify the offer allows another dispute (bounds what a buyer can take back unpaid)
    limit = offer.dispute_limit(state.get_params(ctx))
    if offer.disputed >= limit:
        raise MarketDisputeLimitError(f"the offer allows {limit} disputes")
    offer = state.dispute_sale(ctx, msg.offer_id, offer, msg.object_id, sale)
    state.set_offer(ctx, msg.offer_id, offer)
    ctx.emit(
        "market_dispute",
        offer_id=msg.offer_id.hex(),
        object_id=msg.object_id.hex(),
        seller=addr_text(sale.seller),
        evidence_hash=sha256(msg.evidence).hexdigest(),
    )


def process_block(ctx: Context) -> None:
    """Pay the held payments whose dispute window is over (at most max_payouts_per_block)."""
    params = state.get_params(ctx)
    for offer_id, object_id, seller in state.pay_due(
        ctx, ctx.block.time_unix, params.max_payouts_per_block
    ):
        ctx.emit(
            "market_paid",
            offer_id=offer_id.hex(),
            object_id=object_id.hex(),
            seller=addr_text(seller),
        )
