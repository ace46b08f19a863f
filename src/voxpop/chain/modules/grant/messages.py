"""Grant messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.fields import ADDRESS, HASH, PUBKEY, SIGNATURE, Doc, UintKind
from voxpop.chain.module import Msg


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
