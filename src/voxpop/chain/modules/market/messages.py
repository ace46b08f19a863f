"""Market messages: a buyer posts and closes offers; a seller settles the objects the buyer
accessed; the buyer disputes a held payment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import InvalidMessageError, MarketBadBudgetError, MarketBadTermsError
from voxpop.chain.fields import (
    ADDRESS,
    AMOUNT,
    HASH,
    MAX_UINT64,
    UINT64,
    BytesKind,
    Doc,
    ListKind,
    TextKind,
    UintKind,
)
from voxpop.chain.module import Msg
from voxpop.chain.modules.bounds import MAX_DURATION_SECONDS
from voxpop.chain.modules.services.state import MAX_KIND_LEN, is_kind, is_language

# Bounds of the declarations, whatever the params say (the params may set less)
MAX_OBJECTS = 4_096  # objects one offer pays for
MAX_SETTLE = 64  # objects one Settle carries
MAX_EVIDENCE = 4_096  # bytes of a dispute's evidence (published, never judged: see the README)
MAX_OBJECT_SECONDS = 86_400  # the length range of what an offer asks for, in seconds
MAX_PURPOSE_LEN = 32
PURPOSE_PATTERN = re.compile(r"[a-z0-9-]{1,32}")  # consent's vocabulary is of this shape

OFFER_ID = HASH  # 32 bytes chosen by the buyer; never reused
OBJECT_ID = HASH  # a storage deal's object id


def is_purpose(text: str) -> bool:
    return PURPOSE_PATTERN.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class MsgPost(Msg):
    """Offer `price` uvox per object for up to `max_objects` objects of a kind, for a purpose:
    `budget` (exactly price x max_objects) moves into the market account."""

    TYPE = "market/Post"
    SIGNER = "buyer"
    buyer: Annotated[bytes, ADDRESS]
    offer_id: Annotated[bytes, OFFER_ID, Doc("random, chosen by the buyer; never reused")]
    kind: Annotated[str, TextKind(MAX_KIND_LEN), Doc("what data, e.g. utterance (a-z 0-9 _ -)")]
    language: Annotated[str, TextKind(16), Doc("e.g. en, pt-br")]
    min_seconds: Annotated[int, UintKind(0, MAX_OBJECT_SECONDS)]
    max_seconds: Annotated[int, UintKind(1, MAX_OBJECT_SECONDS)]
    purpose: Annotated[str, TextKind(MAX_PURPOSE_LEN), Doc("one of consent's purposes")]
    price: Annotated[int, AMOUNT, Doc("uvox per object")]
    access_seconds: Annotated[
        int, UintKind(1, MAX_DURATION_SECONDS), Doc("how long a seller's grant may last")
    ]
    max_objects: Annotated[int, UintKind(1, MAX_OBJECTS)]
    budget: Annotated[int, AMOUNT, Doc("exactly price x max_objects")]
    expires: Annotated[int, UINT64, Doc("unix seconds: no new sales after it")]

    def validate(self) -> None:
        # Verify the kind, language and purpose are names of the shapes the chain lists
        if not is_kind(self.kind) or not is_language(self.language):
            raise MarketBadTermsError("kind and language must be 1 to 16 of a-z 0-9 _ -")
        if not is_purpose(self.purpose):
            raise MarketBadTermsError("purpose must be 1 to 32 of a-z 0-9 -")
        # Verify a length range that holds something
        if self.min_seconds > self.max_seconds:
            raise MarketBadTermsError("min_seconds is above max_seconds")
        # Verify the budget pays every object, exactly (no offer with too little escrow)
        if self.price * self.max_objects > MAX_UINT64:
            raise MarketBadBudgetError("price x max_objects does not fit 64 bits")
        if self.budget != self.price * self.max_objects:
            raise MarketBadBudgetError(
                f"budget must be price x max_objects = {self.price * self.max_objects}"
            )


@dataclass(frozen=True, slots=True)
class MsgClose(Msg):
    """End an offer whose time for settlements is over: the rest of its escrow returns."""

    TYPE = "market/Close"
    SIGNER = "buyer"
    buyer: Annotated[bytes, ADDRESS]
    offer_id: Annotated[bytes, OFFER_ID]


@dataclass(frozen=True, slots=True)
class MsgSettle(Msg):
    """The seller (the grant's owner) is paid `price` once per object whose access by the
    buyer under `grant_id` was counted by consent; held for `dispute_seconds` first."""

    TYPE = "market/Settle"
    SIGNER = "seller"
    seller: Annotated[bytes, ADDRESS]
    offer_id: Annotated[bytes, OFFER_ID]
    grant_id: Annotated[bytes, HASH, Doc("a consent grant made for this offer")]
    object_ids: Annotated[
        tuple[bytes, ...], ListKind(OBJECT_ID, min_items=1, max_items=MAX_SETTLE), Doc("distinct")
    ]

    def validate(self) -> None:
        # Verify each object once
        if len(set(self.object_ids)) != len(self.object_ids):
            raise InvalidMessageError("object_ids must be distinct")


@dataclass(frozen=True, slots=True)
class MsgDispute(Msg):
    """The buyer refuses an object's held payment (it returns to the escrow), publishing why."""

    TYPE = "market/Dispute"
    SIGNER = "buyer"
    buyer: Annotated[bytes, ADDRESS]
    offer_id: Annotated[bytes, OFFER_ID]
    object_id: Annotated[bytes, OBJECT_ID]
    evidence: Annotated[
        bytes, BytesKind(max_length=MAX_EVIDENCE), Doc("published in the event's hash; not judged")
    ]
