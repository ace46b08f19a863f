"""Consent messages: an owner grants and revokes access to stored objects; privacy nodes record
the accesses they served; anyone reports a node that served a grant no longer live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import ConsentBadObjectsError, ConsentBadThresholdError
from voxpop.chain.fields import (
    ADDRESS,
    HASH,
    SECP256K1_KEY,
    UINT64,
    BytesKind,
    Doc,
    ListKind,
    TextKind,
    TupleKind,
    UintKind,
)
from voxpop.chain.module import Msg
from voxpop.crypto.consent import MAX_ANSWER_SIZE, MAX_REQUEST_SIZE

# Bounds of the declarations, whatever the params say (the params may set less)
MAX_OBJECTS_LISTED = 256
MAX_NODES = 32
MAX_RECORDS = 256
MAX_ACCESSES = 4_096  # also the most access records one grant's list holds
MAX_PURPOSE_LEN = 32

GRANT_ID = HASH  # 32 random bytes chosen by the owner
OBJECT = TupleKind(HASH, HASH, HASH, names=("object_id", "capsule_hash", "content_hash"))
ANSWER = BytesKind(max_length=MAX_ANSWER_SIZE)
REQUEST = BytesKind(max_length=MAX_REQUEST_SIZE)
RECORD = TupleKind(ANSWER, REQUEST, names=("answer", "request"))


@dataclass(frozen=True, slots=True)
class MsgGrant(Msg):
    """Give `grantee` access to objects for a purpose, until `expiry`, at most `max_accesses`
    times, through n privacy nodes of which m must answer each access."""

    TYPE = "consent/Grant"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    grant_id: Annotated[bytes, GRANT_ID, Doc("chosen by the owner, never reused")]
    grantee: Annotated[bytes, ADDRESS]
    purpose: Annotated[str, TextKind(MAX_PURPOSE_LEN), Doc("one of the chain's purposes")]
    expiry: Annotated[int, UINT64, Doc("unix seconds, after the block time")]
    max_accesses: Annotated[int, UintKind(1, MAX_ACCESSES)]
    objects: Annotated[
        tuple[tuple[bytes, bytes, bytes], ...],
        ListKind(OBJECT, max_items=MAX_OBJECTS_LISTED),
        Doc("distinct live deals of the owner; empty when objects_root is set"),
    ]
    objects_root: Annotated[
        bytes,
        BytesKind(max_length=32),
        Doc("empty, or the RFC 6962 root of a committed set (docs/protocol/consent.md)"),
    ]
    object_count: Annotated[int, UINT64, Doc("objects in the set: len(objects) when listed")]
    nodes: Annotated[
        tuple[bytes, ...],
        ListKind(ADDRESS, min_items=1, max_items=MAX_NODES),
        Doc("distinct reencrypt providers"),
    ]
    threshold: Annotated[int, UintKind(1, MAX_NODES), Doc("m: answers an access needs")]
    delegating_pk: Annotated[bytes, SECP256K1_KEY]
    verifying_pk: Annotated[bytes, SECP256K1_KEY]
    offer_id: Annotated[bytes, BytesKind(max_length=32), Doc("empty, or the market offer sold")]

    def validate(self) -> None:
        # Verify 1 <= m <= n
        if self.threshold > len(self.nodes):
            raise ConsentBadThresholdError(
                f"threshold {self.threshold} is above the {len(self.nodes)} nodes"
            )
        # Verify the objects are either listed or committed by root, never both, and counted
        if self.objects:
            if self.objects_root or self.object_count != len(self.objects):
                raise ConsentBadObjectsError(
                    "listed objects need an empty objects_root and object_count = their number"
                )
        elif len(self.objects_root) != 32 or self.object_count < 1:
            raise ConsentBadObjectsError("a grant lists objects or commits to a 32-byte root")
        if len(self.offer_id) not in (0, 32):
            raise ConsentBadObjectsError("offer_id is empty or 32 bytes")


@dataclass(frozen=True, slots=True)
class MsgRevoke(Msg):
    """End a grant at once: from this block on, nodes refuse it and an answer is misuse."""

    TYPE = "consent/Revoke"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    grant_id: Annotated[bytes, GRANT_ID]


@dataclass(frozen=True, slots=True)
class MsgRecord(Msg):
    """A privacy node's answers of the last blocks, each with the access request it answered."""

    TYPE = "consent/Record"
    SIGNER = "node"
    node: Annotated[bytes, ADDRESS]
    records: Annotated[
        tuple[tuple[bytes, bytes], ...],
        ListKind(RECORD, min_items=1, max_items=MAX_RECORDS),
        Doc("signed answer attestation and the grantee's signed request"),
    ]


@dataclass(frozen=True, slots=True)
class MsgReportMisuse(Msg):
    """Show a node's signed answer for a grant expired or revoked at the answer's height (or
    whose height lies): the node's reencrypt stake is slashed, the reporter gets a bounty."""

    TYPE = "consent/ReportMisuse"
    SIGNER = "reporter"
    reporter: Annotated[bytes, ADDRESS]
    answer: Annotated[bytes, ANSWER]
    request: Annotated[bytes, REQUEST]
