"""Proven lists: every item of a list query checked, and the list checked complete.

A list query (`/<module>/<list>`, e.g. `/staking/delegations_by_delegator`) is answered with

    key    = the list's commitment key            proof = the commitment's proof
    value  = CBOR {"commitment": raw or null, "items": [[id, state key, value, proof], ...]}

(see chain/listing.py). The client recomputes the commitment's count and RFC 6962 root from the
ids it was given, checks each item's state key itself, and verifies every proof against the same
app hash: an item dropped, added, altered or taken from elsewhere fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voxpop.chain.encoding import decode_canonical
from voxpop.chain.errors import ChainError
from voxpop.chain.listing import decode_commitment, merkle_root
from voxpop.chain.registry import default_modules, list_route
from voxpop.client._core import (
    Flow,
    HttpRequest,
    Trust,
    call,
    check_fresh,
    parse,
    parse_query,
    verified_app_hash_flow,
)
from voxpop.client.errors import ProofVerificationError
from voxpop.client.verify import verify_entry


@dataclass(frozen=True, slots=True)
class ListItem:
    id: bytes
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class ProvenList:
    path: str
    owner: bytes
    height: int
    items: tuple[ListItem, ...]
    verified: bool


def parse_list(path: str, value: bytes) -> tuple[bytes | None, list[ListItem], list[bytes]]:
    """The commitment, the items and their proofs from a list answer's value (unverified).

    Raises ProofVerificationError if the answer is malformed."""
    try:
        doc: Any = decode_canonical(value)
        commitment = doc["commitment"]
        items, proofs = [], []
        for item_id, key, item_value, proof in doc["items"]:
            items.append(ListItem(bytes(item_id), bytes(key), bytes(item_value or b"")))
            proofs.append(bytes(proof))
    except (ChainError, KeyError, TypeError, ValueError):
        raise ProofVerificationError(f"malformed answer to list {path!r}") from None
    if set(doc) != {"commitment", "items"} or not isinstance(commitment, bytes | None):
        raise ProofVerificationError(f"malformed answer to list {path!r}")
    return commitment, items, proofs


def verify_list(
    app_hash: bytes,
    path: str,
    owner: bytes,
    key: bytes,
    value: bytes,
    proof: bytes,
) -> list[ListItem]:
    """Verify a list answer against `app_hash`; return its items. Raises ProofVerificationError."""
    route = list_route(default_modules(), path)
    if route is None:
        raise ProofVerificationError(f"{path!r} is not a list this client knows")
    # Verify the answer is for this owner's commitment
    try:
        expected = route.index.commitment_key(route.owner(owner))
    except ChainError as exc:
        raise ProofVerificationError(f"cannot verify list {path!r}: {exc.message}") from None
    if key != expected:
        raise ProofVerificationError("the node answered with another list's commitment")
    commitment, items, proofs = parse_list(path, value)
    # Verify the commitment against the state root
    verify_entry(app_hash, key, commitment or b"", proof)
    try:
        count, root = decode_commitment(commitment)
    except (ValueError, TypeError):
        raise ProofVerificationError("the proven commitment is malformed") from None
    # Verify the ids are the committed list: ascending, as many, with the same root
    ids = [item.id for item in items]
    if ids != sorted(set(ids)) or len(ids) != count or merkle_root(ids) != root:
        raise ProofVerificationError(
            f"the list's items do not match its commitment ({len(ids)} given, {count} committed)"
        )
    # Verify each item is the state entry its id names, and present
    for item, item_proof in zip(items, proofs, strict=True):
        if item.key != route.item_state_key(owner, item.id):
            raise ProofVerificationError(f"item {item.id.hex()} is proven for another key")
        if not item.value:
            raise ProofVerificationError(f"item {item.id.hex()} is absent from the state")
        verify_entry(app_hash, item.key, item.value, item_proof)
    return items


def list_flow(trust: Trust, path: str, owner: bytes, prove: bool = True) -> Flow[ProvenList]:
    """A list query at the latest height; with prove, every item and the list's completeness are
    verified against a header signed by a trusted validator, or ProofVerificationError."""
    params = {"path": path, "data": owner.hex(), "prove": "true" if prove else "false"}
    body = yield from call(HttpRequest("GET", "/v1/query", params=params))
    result = parse(parse_query, body, "list answer")
    if not prove:
        _, items, _ = parse_list(path, result.value)
        return ProvenList(path, owner, result.height, tuple(items), verified=False)
    check_fresh(trust, result.height)
    app_hash = yield from verified_app_hash_flow(trust, result.height)
    items = verify_list(app_hash, path, owner, result.key, result.value, result.proof)
    return ProvenList(path, owner, result.height, tuple(items), verified=True)
