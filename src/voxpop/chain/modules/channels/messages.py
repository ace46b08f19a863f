"""Channels messages: open, top up, claim, close, settle, collect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import SelfChannelError
from voxpop.chain.fields import ADDRESS, AMOUNT, HASH, PUBKEY, SIGNATURE, Doc, ListKind, TupleKind
from voxpop.chain.module import Msg

# The most vouchers one Claim may carry, whatever the params say (the param may set fewer)
MAX_VOUCHERS = 64
CHANNEL_ID = HASH  # 32 bytes, derived by the chain (crypto/vouchers.py derive_channel_id)
VOUCHER = TupleKind(CHANNEL_ID, AMOUNT, SIGNATURE, names=("channel_id", "amount", "signature"))


@dataclass(frozen=True, slots=True)
class MsgOpen(Msg):
    """Open a channel from `payer` to `payee`, moving `deposit` into the channels account."""

    TYPE = "channels/Open"
    SIGNER = "payer"
    payer: Annotated[bytes, ADDRESS]
    payee: Annotated[bytes, ADDRESS]
    voucher_key: Annotated[bytes, PUBKEY, Doc("Ed25519 public key that signs the vouchers")]
    deposit: Annotated[int, AMOUNT]

    def validate(self) -> None:
        # Verify the channel pays another account
        if self.payer == self.payee:
            raise SelfChannelError("a channel's payer and payee must differ")


@dataclass(frozen=True, slots=True)
class MsgTopUp(Msg):
    """Add `amount` to an open channel's deposit."""

    TYPE = "channels/TopUp"
    SIGNER = "payer"
    payer: Annotated[bytes, ADDRESS]
    channel_id: Annotated[bytes, CHANNEL_ID]
    amount: Annotated[int, AMOUNT]


@dataclass(frozen=True, slots=True)
class MsgClaim(Msg):
    """Draw on channels paying `payee`: each voucher pays its amount minus what was claimed."""

    TYPE = "channels/Claim"
    SIGNER = "payee"
    payee: Annotated[bytes, ADDRESS]
    vouchers: Annotated[
        tuple[tuple[bytes, int, bytes], ...],
        ListKind(VOUCHER, min_items=1, max_items=MAX_VOUCHERS),
        Doc("cumulative amounts signed by each channel's voucher key"),
    ]


@dataclass(frozen=True, slots=True)
class MsgClose(Msg):
    """The payee ends a channel at once: the unclaimed deposit goes back to the payer."""

    TYPE = "channels/Close"
    SIGNER = "payee"
    payee: Annotated[bytes, ADDRESS]
    channel_id: Annotated[bytes, CHANNEL_ID]


@dataclass(frozen=True, slots=True)
class MsgSettle(Msg):
    """The payer starts the settle window; the payee may claim until it ends."""

    TYPE = "channels/Settle"
    SIGNER = "payer"
    payer: Annotated[bytes, ADDRESS]
    channel_id: Annotated[bytes, CHANNEL_ID]


@dataclass(frozen=True, slots=True)
class MsgCollect(Msg):
    """After the settle window, the payer takes back the unclaimed deposit; the channel ends."""

    TYPE = "channels/Collect"
    SIGNER = "payer"
    payer: Annotated[bytes, ADDRESS]
    channel_id: Annotated[bytes, CHANNEL_ID]
