"""Grant messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from voxpop.chain.module import Msg, field_address, field_bytes, field_uint, require_fields


@dataclass(frozen=True, slots=True)
class MsgClaimGrant(Msg):
    """Claim the sign-up grant for `claimant` with a registrar's attestation of a unique identity.

    `identity_hash` is a hash the registrar computes from a person's or device's identity (for
    example a salted hash of a verified phone number or a device's hardware key); the chain never
    sees the identity itself.
    """

    TYPE = "grant/Claim"
    claimant: bytes
    registrar: bytes  # the registrar's Ed25519 public key
    identity_hash: bytes
    expiry: int  # unix seconds; the attestation is void after it
    signature: bytes

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        require_fields(value, "claimant", "registrar", "identity_hash", "expiry", "signature")
        return cls(
            claimant=field_address(value, "claimant"),
            registrar=field_bytes(value, "registrar", 32),
            identity_hash=field_bytes(value, "identity_hash", 32),
            expiry=field_uint(value, "expiry"),
            signature=field_bytes(value, "signature", 64),
        )

    def to_value(self) -> dict[str, Any]:
        return {
            "claimant": self.claimant,
            "registrar": self.registrar,
            "identity_hash": self.identity_hash,
            "expiry": self.expiry,
            "signature": self.signature,
        }

    def signers(self) -> tuple[bytes, ...]:
        return (self.claimant,)
