"""Settings messages: rotate the owner's settings key, write and delete encrypted records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import (
    InvalidSettingsCiphertextError,
    SettingsDuplicateRecipientError,
    SettingsOwnerNotRecipientError,
)
from voxpop.chain.fields import ADDRESS, HASH, BytesKind, Doc, ListKind, TupleKind, UintKind
from voxpop.chain.module import Msg
from voxpop.crypto import settings as fmt
from voxpop.crypto.sealed import ENVELOPE_FORMAT, ENVELOPE_OVERHEAD

MAX_RECIPIENTS = 16
# The largest ciphertext a message may carry; the chain's `max_record_bytes` param is the limit
# that applies (at most this, so that a Put always fits in a tx)
MAX_CIPHERTEXT_BYTES = 24_576
# A wrap is a sealed envelope of the two keys: always this long
WRAP_BYTES = ENVELOPE_OVERHEAD + fmt.WRAPPED_KEYS_SIZE
EPOCH = UintKind(1, fmt.MAX_EPOCH)
VERSION = UintKind(1)
WRAP = TupleKind(ADDRESS, BytesKind(WRAP_BYTES), names=("recipient", "sealed"))


@dataclass(frozen=True, slots=True)
class MsgRotate(Msg):
    """Start the owner's next key epoch: a new settings key (the naming key stays), wrapped to
    each recipient's published X25519 key. Only the owner: never runs under authz."""

    TYPE = "settings/Rotate"
    SIGNER = "owner"
    DELEGABLE = False
    owner: Annotated[bytes, ADDRESS]
    epoch: Annotated[int, EPOCH, Doc("the current epoch + 1 (the first is 1)")]
    wraps: Annotated[
        tuple[tuple[bytes, bytes], ...],
        ListKind(WRAP, min_items=1, max_items=MAX_RECIPIENTS),
        Doc("sealed envelope of settings key ‖ naming key to each recipient, the owner included"),
    ]

    def validate(self) -> None:
        recipients = [recipient for recipient, _ in self.wraps]
        # Verify each recipient appears once, the owner among them
        if len(set(recipients)) != len(recipients):
            raise SettingsDuplicateRecipientError("a recipient appears twice in the wraps")
        if self.owner not in recipients:
            raise SettingsOwnerNotRecipientError("the wraps must include the owner")
        # Verify each wrap is a sealed envelope (format 1) of exactly two keys
        for _, sealed in self.wraps:
            if sealed[0] != ENVELOPE_FORMAT:
                raise InvalidSettingsCiphertextError("a wrap must be a sealed envelope (format 1)")


@dataclass(frozen=True, slots=True)
class MsgPut(Msg):
    """Write the next version of one of the owner's encrypted records."""

    TYPE = "settings/Put"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    record_id: Annotated[bytes, HASH, Doc("HMAC-SHA256(naming key, name)")]
    version: Annotated[int, VERSION, Doc("the stored version + 1 (the first is 1)")]
    epoch: Annotated[int, EPOCH, Doc("the owner's current key epoch")]
    ciphertext: Annotated[
        bytes,
        BytesKind(max_length=MAX_CIPHERTEXT_BYTES),
        Doc("0x01 ‖ nonce ‖ XChaCha20-Poly1305 (docs/protocol/settings.md)"),
    ]

    def validate(self) -> None:
        # Verify the format byte and room for a nonce and a tag (the rest only keys can tell)
        if len(self.ciphertext) < fmt.OVERHEAD or self.ciphertext[0] != fmt.FORMAT:
            raise InvalidSettingsCiphertextError("ciphertext must be in settings format 1")


@dataclass(frozen=True, slots=True)
class MsgDelete(Msg):
    """Delete one of the owner's records."""

    TYPE = "settings/Delete"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    record_id: Annotated[bytes, HASH]
