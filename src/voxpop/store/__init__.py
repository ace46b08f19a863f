"""voxpop.store: the chain state as a versioned, authenticated key-value store in LMDB.

`MerkleStore` is imported on first use, so importing the pure parts (`voxpop.store.proof`,
as the client SDK does) never imports lmdb.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voxpop.store.changes import MAX_KEY_SIZE, MAX_VALUE_SIZE
from voxpop.store.errors import ProofError, StoreError, StoreLockedError, VersionError
from voxpop.store.hashing import EMPTY_HASH, EMPTY_ROOT
from voxpop.store.proof import Proof, ProofLeaf, verify_proof

if TYPE_CHECKING:
    from voxpop.store.merkle_store import MerkleStore

__all__ = [
    "EMPTY_HASH",
    "EMPTY_ROOT",
    "MAX_KEY_SIZE",
    "MAX_VALUE_SIZE",
    "MerkleStore",
    "Proof",
    "ProofError",
    "ProofLeaf",
    "StoreError",
    "StoreLockedError",
    "VersionError",
    "verify_proof",
]


def __getattr__(name: str) -> Any:
    if name == "MerkleStore":
        from voxpop.store.merkle_store import MerkleStore

        return MerkleStore
    raise AttributeError(f"module 'voxpop.store' has no attribute {name!r}")
