"""Htlc transitions: lock, claim, refund; offer, take, cancel.

A lock's uvox leave the htlc account once, by a claim with the preimage before the timeout or a
refund from the timeout on; a settled lock keeps its record (claimed ones with the preimage).
"""

from __future__ import annotations

import hashlib

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    BlockedRecipientError,
    HtlcBadTimeoutError,
    HtlcExpiredError,
    HtlcLockExistsError,
    HtlcNotExpiredError,
    HtlcNotOffererError,
    HtlcOfferExpiredError,
    HtlcOfferTakenError,
    HtlcSelfLockError,
    HtlcSettledError,
    HtlcWrongPreimageError,
)
from voxpop.chain.module_accounts import MODULE_ADDRESSES
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.htlc import state
from voxpop.chain.modules.htlc.messages import (
    MsgCancel,
    MsgClaim,
    MsgLock,
    MsgOffer,
    MsgRefund,
    MsgTake,
)


def process_lock(ctx: Context, msg: MsgLock) -> None:
    now = ctx.block.time_unix
    # Verify the recipient is an account a key holds
    if msg.recipient in MODULE_ADDRESSES:
        raise BlockedRecipientError("a lock cannot pay a module account")
    # Verify the timeout is after this block and within the params' longest lock
    longest = state.get_params(ctx).max_lock_seconds
    if not now < msg.timeout <= now + longest:
        raise HtlcBadTimeoutError(
            f"timeout {msg.timeout} must be after block time {now} and at most {longest} s later"
        )
    # Verify the id was never used (a settled lock's secret is public: never lock under it again)
    lock_id = state.compute_lock_id(msg.sender, msg.recipient, msg.hashlock)
    if state.find_lock(ctx, lock_id) is not None:
        raise HtlcLockExistsError(f"lock {lock_id.hex()} exists: use a new secret")
    lock = state.Lock(
        sender=msg.sender,
        recipient=msg.recipient,
        amount=msg.amount,
        hashlock=msg.hashlock,
        timeout=msg.timeout,
        status=state.OPEN,
        preimage=b"",
        locked_at=now,
    )
    state.create_lock(ctx, lock_id, lock)
    ctx.emit(
        "htlc_lock",
        lock_id=lock_id.hex(),
        sender=addr_text(msg.sender),
        recipient=addr_text(msg.recipient),
        amount=str(msg.amount),
        hashlock=msg.hashlock.hex(),
        timeout=str(msg.timeout),
    )


def process_claim(ctx: Context, msg: MsgClaim) -> None:
    lock = state.get_lock(ctx, msg.lock_id)
    # Verify the lock is still open, and its timeout has not passed
    if not lock.is_open:
        raise HtlcSettledError(f"lock {msg.lock_id.hex()} was {state.STATUS_NAMES[lock.status]}")
    if ctx.block.time_unix >= lock.timeout:
        raise HtlcExpiredError(f"the lock timed out at {lock.timeout}: only a refund remains")
    # Verify the preimage hashes to the hashlock
    if hashlib.sha256(msg.preimage).digest() != lock.hashlock:
        raise HtlcWrongPreimageError("the preimage does not hash to the lock's hashlock")
    state.settle_lock(ctx, msg.lock_id, lock, state.CLAIMED, msg.preimage)
    ctx.emit(
        "htlc_claim",
        lock_id=msg.lock_id.hex(),
        recipient=addr_text(lock.recipient),
        amount=str(lock.amount),
        preimage=msg.preimage.hex(),
    )


def process_refund(ctx: Context, msg: MsgRefund) -> None:
    lock = state.get_lock(ctx, msg.lock_id)
    # Verify the lock is still open, and its timeout has come
    if not lock.is_open:
        raise HtlcSettledError(f"lock {msg.lock_id.hex()} was {state.STATUS_NAMES[lock.status]}")
    # (check_tx sees the last block's time, and a quiet chain makes no block until a tx comes:
    # a refund due by the next block's time must reach the mempool, so the block decides)
    if ctx.block.time_unix < lock.timeout and not ctx.is_check:
        raise HtlcNotExpiredError(f"the lock can be refunded from {lock.timeout}")
    state.settle_lock(ctx, msg.lock_id, lock, state.REFUNDED, b"")
    ctx.emit(
        "htlc_refund",
        lock_id=msg.lock_id.hex(),
        sender=addr_text(lock.sender),
        amount=str(lock.amount),
    )


def process_offer(ctx: Context, msg: MsgOffer) -> None:
    now = ctx.block.time_unix
    # Verify the offer can still be taken after this block, and for no longer than a lock lasts
    longest = state.get_params(ctx).max_lock_seconds
    if not now < msg.expires_at <= now + longest:
        raise HtlcBadTimeoutError(f"expires_at must be after {now} and at most {longest} s later")
    offer_id = state.next_offer_id(ctx, msg.offerer)
    offer = state.Offer(
        offerer=msg.offerer,
        side=msg.side,
        amount=msg.amount,
        asset=msg.asset,
        asset_amount=msg.asset_amount,
        other_address=msg.other_address,
        hashlock=msg.hashlock,
        offerer_seconds=msg.offerer_seconds,
        taker_seconds=msg.taker_seconds,
        expires_at=msg.expires_at,
        taker=b"",
        taker_address="",
        taken_at=0,
    )
    state.post_offer(ctx, offer_id, offer)
    ctx.emit(
        "htlc_offer",
        offer_id=offer_id.hex(),
        offerer=addr_text(msg.offerer),
        side=msg.side,
        amount=str(msg.amount),
        asset=msg.asset,
        asset_amount=msg.asset_amount,
    )


def process_take(ctx: Context, msg: MsgTake) -> None:
    offer = state.get_offer(ctx, msg.offer_id)
    # Verify the offer is untaken, unexpired, and another account's
    if offer.is_taken:
        raise HtlcOfferTakenError(f"offer {msg.offer_id.hex()} was taken")
    if ctx.block.time_unix >= offer.expires_at:
        raise HtlcOfferExpiredError(f"the offer expired at {offer.expires_at}")
    if msg.taker == offer.offerer:
        raise HtlcSelfLockError("an offerer cannot take its own offer")
    taken = state.Offer(
        **{
            **offer.to_value(),
            "taker": msg.taker,
            "taker_address": msg.other_address,
            "taken_at": ctx.block.time_unix,
        }
    )
    state.take_offer(ctx, msg.offer_id, taken)
    ctx.emit(
        "htlc_take",
        offer_id=msg.offer_id.hex(),
        offerer=addr_text(offer.offerer),
        taker=addr_text(msg.taker),
    )


def process_cancel(ctx: Context, msg: MsgCancel) -> None:
    offer = state.get_offer(ctx, msg.offer_id)
    # Verify the signer posted the offer
    if offer.offerer != msg.offerer:
        raise HtlcNotOffererError("only the offerer can cancel an offer")
    state.delete_offer(ctx, msg.offer_id, offer)
    ctx.emit("htlc_cancel", offer_id=msg.offer_id.hex(), offerer=addr_text(offer.offerer))
