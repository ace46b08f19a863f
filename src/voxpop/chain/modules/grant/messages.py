"""Grant messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import UnauthorizedError
from voxpop.chain.fields import ADDRESS, AMOUNT, HASH, PUBKEY, SIGNATURE, Doc, UintKind
from voxpop.chain.module import Msg
from voxpop.crypto.keys import address_from_pubkey


@dataclass(frozen=True, slots=True)
class MsgClaimGrant(Msg):
    """Claim the sign-up grant for `claimant` with a registrar's attestation of a unique identity.

    `identity_hash` is a hash the registrar computes from a person's or device's identity (for
    example a salted hash of a verified phone number or a device's hardware key); the chain never
    sees the identity itself.
    """

    TYPE = "grant/Claim"
    SIGNER = "claimant"
    claimant: Annotated[bytes, ADDRESS]
    registrar: Annotated[bytes, PUBKEY, Doc("the registrar's Ed25519 public key")]
    identity_hash: Annotated[bytes, HASH, Doc("the registrar's hash of the identity")]
    expiry: Annotated[int, UintKind(doc="unix seconds; the attestation is void after it")]
    signature: Annotated[bytes, SIGNATURE, Doc("the registrar's attestation")]


@dataclass(frozen=True, slots=True)
class MsgPostBond(Msg):
    """Add `amount` of the sender's uvox to a registrar's bond (anyone may: the registrar, its
    operator, a sponsor). The bond is what the registrar forfeits to the grant pool if
    governance removes it for attesting made-up identities."""

    TYPE = "grant/PostBond"
    SIGNER = "sender"
    sender: Annotated[bytes, ADDRESS]
    registrar: Annotated[bytes, PUBKEY, Doc("the registrar's Ed25519 public key")]
    amount: Annotated[int, AMOUNT]


@dataclass(frozen=True, slots=True)
class MsgWithdrawBond(Msg):
    """Take `amount` of a registrar's bond back to the registrar's own account. While the
    registrar is listed only what exceeds grant's `registrar_bond` may leave; once it is not
    listed (removed without forfeiture, or never listed), all of it."""

    TYPE = "grant/WithdrawBond"
    SIGNER = "account"
    account: Annotated[bytes, ADDRESS, Doc("the registrar's own account: its key's address")]
    registrar: Annotated[bytes, PUBKEY, Doc("the registrar's Ed25519 public key")]
    amount: Annotated[int, AMOUNT]

    def validate(self) -> None:
        # Verify the registrar's own key signs: its account is the address of that key
        if self.account != address_from_pubkey(self.registrar):
            raise UnauthorizedError("only the registrar's own account may withdraw its bond")
