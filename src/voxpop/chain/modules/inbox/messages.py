"""Inbox messages: post a sealed message to an owner's inbox, delete messages from it.

Both name the owner as their signer: an agent posts (the devices' "email" skill calls) wrapped in
`authz/Exec` under the owner's grant; the owner reads and deletes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import InvalidMessageError
from voxpop.chain.fields import ADDRESS, UINT64, BytesKind, Doc, ListKind, UintKind
from voxpop.chain.module import Msg

# The longest ciphertext any message may carry, whatever the params say (they may set less)
MAX_MESSAGE_BYTES = 16_384
MAX_DELETE_IDS = 64
MESSAGE_ID = UintKind(1)  # ids count from 1, per owner


@dataclass(frozen=True, slots=True)
class MsgPost(Msg):
    """Add a message to `owner`'s inbox, under the owner's next message id."""

    TYPE = "inbox/Post"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    ciphertext: Annotated[
        bytes,
        BytesKind(max_length=MAX_MESSAGE_BYTES),
        Doc("a sealed box to the owner's X25519 directory key"),
    ]
    expires_at: Annotated[
        int, UINT64, Doc("block time (unix s) it is deleted at; 0 = the longest the chain keeps")
    ]

    def validate(self) -> None:
        # Verify there is something to keep
        if not self.ciphertext:
            raise InvalidMessageError("ciphertext must not be empty")


@dataclass(frozen=True, slots=True)
class MsgDeleteMessages(Msg):
    """Delete messages from `owner`'s inbox, all or none."""

    TYPE = "inbox/Delete"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    ids: Annotated[
        tuple[int, ...],
        ListKind(MESSAGE_ID, min_items=1, max_items=MAX_DELETE_IDS),
        Doc("distinct message ids"),
    ]

    def validate(self) -> None:
        # Verify each id once
        if len(set(self.ids)) != len(self.ids):
            raise InvalidMessageError("ids must be distinct")
