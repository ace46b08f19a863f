"""The grants a privacy node holds: per grant its key fragment (opened and verified, in memory
only: on disk it stays sealed to the node's X25519 key), the grant's kits by object, and what it
answered and has not yet recorded on chain.

Delivery body (`PUT /v1/grants/{id}`, owner-signed): canonical CBOR
`{"v": 1, "kfrag": sealed fragment, "kits": [[object_id, kit, sealed salt], ...]}`; a later PUT
of the same grant replaces the earlier one. Format: docs/protocol/consent.md.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cbor2
from nucypher_core.umbral import Capsule, VerifiedKeyFrag

from voxpop.chain.modules.consent.state import Grant
from voxpop.crypto import consent

MAX_GRANT_BODY = 8 * 1024 * 1024  # ~25,000 kits: a larger set is delivered to more grants
MAX_SEALED_SALT = 128
MAX_CACHED_ANSWERS = 4_096  # per grant: a repeated request gets the same answer back


class DeliveryError(Exception):
    """A grant delivery refused: HTTP `status`, stable `code`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class Delivery:
    sealed_kfrag: bytes
    kits: tuple[tuple[bytes, bytes, bytes], ...]  # (object_id, kit, sealed salt)


@dataclass(slots=True)
class HeldGrant:
    grant_id: bytes
    kfrag: VerifiedKeyFrag
    kits: dict[bytes, bytes]  # object_id -> kit
    salts: dict[bytes, bytes]  # object_id -> the salt sealed to the grantee (b"": none)
    capsule_hashes: dict[bytes, bytes]  # object_id -> sha256(capsule), computed once
    capsules: dict[bytes, Capsule]  # object_id -> the kit's capsule, parsed once
    grant: Grant
    height: int  # the height of the proven read of `grant`
    read_at: float  # monotonic seconds of that read
    used_at: float = 0.0
    # Request ids answered and not yet in a grant read: -> 0 while their Record is not sent,
    # then the Record's height (a grant read at that height or later counts them)
    unrecorded: dict[bytes, int] = field(default_factory=dict)
    answers: OrderedDict[bytes, bytes] = field(default_factory=OrderedDict)

    def update(self, grant: Grant, height: int, read_at: float) -> None:
        """A newer proven read of the grant: its count now holds the records landed by then."""
        self.grant, self.height, self.read_at = grant, height, read_at
        for request_id, landed in list(self.unrecorded.items()):
            if 0 < landed <= height:
                del self.unrecorded[request_id]

    def remember(self, request_id: bytes, answer: bytes) -> None:
        self.answers[request_id] = answer
        if len(self.answers) > MAX_CACHED_ANSWERS:
            self.answers.popitem(last=False)


def parse_delivery(body: bytes) -> Delivery:
    """The delivery in `body`. Raises DeliveryError(400 bad_delivery)."""
    try:
        doc: Any = cbor2.loads(body)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError, EOFError):
        raise DeliveryError(400, "bad_delivery", "the body is not CBOR") from None
    # Verify the shape: the version, a sealed fragment, a non-empty list of kits
    if not isinstance(doc, dict) or set(doc) != {"v", "kfrag", "kits"} or doc["v"] != 1:
        raise DeliveryError(400, "bad_delivery", 'a delivery is {"v": 1, "kfrag", "kits"}')
    if type(doc["kfrag"]) is not bytes or not isinstance(doc["kits"], list) or not doc["kits"]:
        raise DeliveryError(400, "bad_delivery", "kfrag is bytes, kits a non-empty list")
    kits = []
    seen: set[bytes] = set()
    for item in doc["kits"]:
        # Verify each kit entry: a 32-byte object id (once), kit bytes, a sealed salt
        if (
            not isinstance(item, list)
            or len(item) != 3
            or not all(type(x) is bytes for x in item)
            or len(item[0]) != consent.ID_SIZE
            or len(item[1]) > consent.MAX_KIT_SIZE
            or len(item[2]) > MAX_SEALED_SALT
        ):
            raise DeliveryError(400, "bad_delivery", "a kit is [object_id 32, kit, sealed salt]")
        if item[0] in seen:
            raise DeliveryError(400, "bad_delivery", "an object's kit is delivered twice")
        seen.add(item[0])
        kits.append((item[0], item[1], item[2]))
    return Delivery(doc["kfrag"], tuple(kits))


def check_kits(delivery: Delivery, grant: Grant) -> dict[bytes, bytes]:
    """object_id -> capsule hash of every kit, each kit checked against the grant: a listed
    grant must list the object with this capsule hash (a root grant's objects are checked per
    request, against the proof the request carries). Raises DeliveryError."""
    listed = {o[0]: o[1] for o in grant.objects}
    hashes = {}
    # Verify the grant can hold this many objects
    if len(delivery.kits) > grant.object_count:
        raise DeliveryError(422, "kit_mismatch", "more kits than the grant has objects")
    for object_id, kit, _ in delivery.kits:
        try:
            capsule_hash = consent.capsule_hash(kit)
        except consent.ConsentCryptoError as exc:
            raise DeliveryError(422, exc.code, f"object {object_id.hex()}: {exc}") from None
        # Verify a listed grant commits to this object with this capsule
        if not grant.objects_root and listed.get(object_id) != capsule_hash:
            raise DeliveryError(
                422, "kit_mismatch", f"the grant does not list object {object_id.hex()} so"
            )
        hashes[object_id] = capsule_hash
    return hashes


class GrantFiles:
    """Deliveries on disk, one file per grant (`<grant hex>.cbor`), written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, grant_id: bytes) -> Path:
        return self.directory / f"{grant_id.hex()}.cbor"

    def write(self, grant_id: bytes, body: bytes) -> None:
        path = self._path(grant_id)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)

    def delete(self, grant_id: bytes) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(grant_id).unlink()

    def all(self) -> list[tuple[bytes, bytes]]:
        """(grant id, body) of every delivery kept, by grant id."""
        out = []
        for path in sorted(self.directory.glob("*.cbor")):
            try:
                grant_id = bytes.fromhex(path.stem)
                out.append((grant_id, path.read_bytes()))
            except (ValueError, OSError):
                continue
        return out
