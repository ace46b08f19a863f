"""Htlc messages: lock, claim, refund; post, take and cancel a swap offer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import HtlcBadOfferError, HtlcSelfLockError
from voxpop.chain.fields import ADDRESS, AMOUNT, HASH, UINT64, BytesKind, Doc, TextKind, UintKind
from voxpop.chain.module import Msg

# Exactly 32 bytes on every leg: a longer preimage could claim here and never fit Bitcoin's script
PREIMAGE = BytesKind(32)
LOCK_ID = HASH  # sha256(sender ‖ recipient ‖ hashlock): the client computes it from the terms
OFFER_ID = HASH
SIDES = ("sell", "buy")  # sell: the offerer gives uvox; buy: the offerer gives the other asset
ASSETS = ("ETH", "BTC")
MAX_ASSET_AMOUNT_DIGITS = 40  # wei exceed 64 bits: the other asset's amount is decimal text
MAX_OTHER_ADDRESS = 128
MAX_SWAP_SECONDS = 30 * 86_400
SECONDS = UintKind(1, MAX_SWAP_SECONDS, doc=f"seconds, 1..{MAX_SWAP_SECONDS}")


@dataclass(frozen=True, slots=True)
class MsgLock(Msg):
    """Lock `amount` uvox of `sender` for `recipient` under `hashlock` until block time
    `timeout`: the recipient takes it with the preimage before then, the sender after."""

    TYPE = "htlc/Lock"
    SIGNER = "sender"
    sender: Annotated[bytes, ADDRESS]
    recipient: Annotated[bytes, ADDRESS]
    amount: Annotated[int, AMOUNT]
    hashlock: Annotated[bytes, HASH, Doc("sha256 of the 32-byte secret")]
    timeout: Annotated[int, UINT64, Doc("block time (unix s) the refund opens at")]

    def validate(self) -> None:
        # Verify the lock pays another account
        if self.sender == self.recipient:
            raise HtlcSelfLockError("a lock's sender and recipient must differ")


@dataclass(frozen=True, slots=True)
class MsgClaim(Msg):
    """Pay a lock to its recipient with the preimage, before its timeout (anyone may send it;
    the preimage becomes public in the event and the lock's record)."""

    TYPE = "htlc/Claim"
    SIGNER = "claimer"
    claimer: Annotated[bytes, ADDRESS]
    lock_id: Annotated[bytes, LOCK_ID]
    preimage: Annotated[bytes, PREIMAGE, Doc("the secret, exactly 32 bytes")]


@dataclass(frozen=True, slots=True)
class MsgRefund(Msg):
    """Return a lock to its sender, at or after its timeout (anyone may send it)."""

    TYPE = "htlc/Refund"
    SIGNER = "claimer"
    claimer: Annotated[bytes, ADDRESS]
    lock_id: Annotated[bytes, LOCK_ID]


@dataclass(frozen=True, slots=True)
class MsgOffer(Msg):
    """Post a swap offer: uvox for another chain's asset, under the offerer's hashlock. Nothing
    is locked yet: the offerer locks first, on the chain with the longer timeout, once taken."""

    TYPE = "htlc/Offer"
    SIGNER = "offerer"
    offerer: Annotated[bytes, ADDRESS]
    side: Annotated[str, TextKind(4), Doc("sell (the offerer gives uvox) or buy")]
    amount: Annotated[int, AMOUNT]
    asset: Annotated[str, TextKind(8), Doc("the other chain's asset: ETH or BTC")]
    asset_amount: Annotated[
        str, TextKind(MAX_ASSET_AMOUNT_DIGITS), Doc("in its smallest unit (wei, sat), decimal")
    ]
    other_address: Annotated[
        str, TextKind(MAX_OTHER_ADDRESS), Doc("the offerer's address on the other chain")
    ]
    hashlock: Annotated[bytes, HASH, Doc("sha256 of the offerer's 32-byte secret")]
    offerer_seconds: Annotated[int, SECONDS, Doc("the offerer's lock lasts this long")]
    taker_seconds: Annotated[int, SECONDS, Doc("the taker's lock lasts this long (shorter)")]
    expires_at: Annotated[int, UINT64, Doc("block time the offer can no longer be taken")]

    def validate(self) -> None:
        # Verify a known side and asset, a decimal amount, and the offerer locking longer
        if self.side not in SIDES:
            raise HtlcBadOfferError("side must be sell or buy")
        if self.asset not in ASSETS:
            raise HtlcBadOfferError(f"asset must be one of {', '.join(ASSETS)}")
        digits = self.asset_amount
        if not digits.isascii() or not digits.isdigit() or digits.startswith("0"):
            raise HtlcBadOfferError("asset_amount must be a positive decimal integer")
        if not self.other_address:
            raise HtlcBadOfferError("other_address must not be empty")
        if self.taker_seconds >= self.offerer_seconds:
            raise HtlcBadOfferError("the offerer's lock must last longer than the taker's")


@dataclass(frozen=True, slots=True)
class MsgTake(Msg):
    """Take an open offer: the taker names its own address on the other chain."""

    TYPE = "htlc/Take"
    SIGNER = "taker"
    taker: Annotated[bytes, ADDRESS]
    offer_id: Annotated[bytes, OFFER_ID]
    other_address: Annotated[
        str, TextKind(MAX_OTHER_ADDRESS), Doc("the taker's address on the other chain")
    ]

    def validate(self) -> None:
        # Verify an address to lock for (or refund to) on the other chain
        if not self.other_address:
            raise HtlcBadOfferError("other_address must not be empty")


@dataclass(frozen=True, slots=True)
class MsgCancel(Msg):
    """Withdraw an offer (taken or not): its offerer will not lock."""

    TYPE = "htlc/Cancel"
    SIGNER = "offerer"
    offerer: Annotated[bytes, ADDRESS]
    offer_id: Annotated[bytes, OFFER_ID]
