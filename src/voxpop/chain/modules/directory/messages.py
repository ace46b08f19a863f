"""Key directory messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.fields import ADDRESS, SECP256K1_KEY, X25519_KEY, Doc, UintKind
from voxpop.chain.module import Msg

VERSION = UintKind(1)
NEXT = Doc("the current version + 1")


@dataclass(frozen=True, slots=True)
class MsgPublishKeys(Msg):
    """Publish `owner`'s encryption keys as its next version (a rotation, from the second on).

    Naming the version makes a publish a compare-and-set: two rotations sent at once cannot both
    land, and a client knows which version its keys became (it derives them for that version).
    """

    TYPE = "directory/Publish"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    version: Annotated[int, VERSION, NEXT]
    x25519: Annotated[bytes, X25519_KEY, Doc("for sealed boxes")]
    secp256k1: Annotated[bytes, SECP256K1_KEY, Doc("for Umbral threshold re-encryption")]


@dataclass(frozen=True, slots=True)
class MsgRevokeKeys(Msg):
    """Tell everyone to stop encrypting to `owner`: its next version holds no keys."""

    TYPE = "directory/Revoke"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    version: Annotated[int, VERSION, NEXT]
