"""Devices messages: request a pairing, claim it, update and remove a device.

Each names the owner as its signer: an agent sends RequestPairing and Update wrapped in
`authz/Exec` under the owner's grant, so revoking the grant stops it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import InvalidMessageError
from voxpop.chain.fields import ADDRESS, BytesKind, Doc
from voxpop.chain.module import Msg
from voxpop.crypto.pairing import PAIRING_ID_SIZE, SALT_SIZE

# The longest blob any message may carry, whatever the params say (`max_blob_bytes` may set less)
MAX_BLOB_BYTES = 8_192
DEVICE_ID = BytesKind(PAIRING_ID_SIZE)  # a device's id is the id of the request it was paired by
SALT = BytesKind(SALT_SIZE)
BLOB = BytesKind(max_length=MAX_BLOB_BYTES)
BLOB_DOC = "the device's name, platform and versions, encrypted (docs/protocol/settings.md)"


def check_blob(blob: bytes) -> None:
    # Verify a blob is there: a device is never described by nothing (removed ones keep none)
    if not blob:
        raise InvalidMessageError("blob must not be empty")


@dataclass(frozen=True, slots=True)
class MsgRequestPairing(Msg):
    """Publish a pairing request for `owner`: a device spoke a code, and the request is keyed by
    sha256(domain ‖ salt ‖ code) (crypto/pairing.py). Only `owner` can claim it, before it
    expires."""

    TYPE = "devices/RequestPairing"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    agent: Annotated[bytes, ADDRESS, Doc("the agent serving the device")]
    pairing_id: Annotated[bytes, DEVICE_ID, Doc("sha256(domain ‖ salt ‖ code)")]
    salt: Annotated[bytes, SALT, Doc("random, fresh for each request")]
    blob: Annotated[bytes, BLOB, Doc(BLOB_DOC)]

    def validate(self) -> None:
        check_blob(self.blob)


@dataclass(frozen=True, slots=True)
class MsgClaimDevice(Msg):
    """The owner claims its pending request: the device is paired, with id `pairing_id`."""

    TYPE = "devices/Claim"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    pairing_id: Annotated[bytes, DEVICE_ID]


@dataclass(frozen=True, slots=True)
class MsgUpdateDevice(Msg):
    """Replace an active device's encrypted blob (a rename, a version report)."""

    TYPE = "devices/Update"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    device_id: Annotated[bytes, DEVICE_ID]
    blob: Annotated[bytes, BLOB, Doc(BLOB_DOC)]

    def validate(self) -> None:
        check_blob(self.blob)


@dataclass(frozen=True, slots=True)
class MsgRemoveDevice(Msg):
    """Remove a device for good: its record stays, without its blob, so its id is never reused."""

    TYPE = "devices/Remove"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    device_id: Annotated[bytes, DEVICE_ID]
