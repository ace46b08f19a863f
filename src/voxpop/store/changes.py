"""A commit's change set: validated, hashed and sorted by key hash for the tree update."""

from __future__ import annotations

from collections.abc import Mapping
from hashlib import sha256
from operator import itemgetter

from voxpop.store.errors import StoreError
from voxpop.store.nodes import encode_leaf
from voxpop.store.tree import DELETE, Entry

MAX_KEY_SIZE = 256
MAX_VALUE_SIZE = 1 << 20
# LMDB's key limit (its compiled default) bounds aux keys.
MAX_AUX_KEY_SIZE = 511


def check_key(key: bytes) -> None:
    """Raises StoreError unless `key` is 1..MAX_KEY_SIZE bytes."""
    if not isinstance(key, bytes):
        raise StoreError(f"key must be bytes, got {type(key).__name__}")
    # Verify the key fits; an empty key cannot be stored in the latest-values table.
    if not 0 < len(key) <= MAX_KEY_SIZE:
        raise StoreError(f"key must be 1..{MAX_KEY_SIZE} bytes, got {len(key)}")


def prepare_changes(changes: Mapping[bytes, bytes | None]) -> tuple[list[int], list[Entry]]:
    """(key hashes as integers, ascending; the matching tree entries, each new leaf built).

    Raises StoreError for an invalid key or value.
    """
    rows: list[tuple[int, Entry]] = []
    for key, value in changes.items():
        check_key(key)
        key_hash = sha256(key).digest()
        if value is None:
            rows.append((int.from_bytes(key_hash, "big"), DELETE))
            continue
        if not isinstance(value, bytes):
            raise StoreError(f"value of {key!r} must be bytes or None")
        if len(value) > MAX_VALUE_SIZE:
            raise StoreError(f"value of {key!r} is {len(value)} bytes, over {MAX_VALUE_SIZE}")
        value_hash = sha256(value).digest()
        leaf_hash = sha256(b"\x00" + key_hash + value_hash).digest()
        record = encode_leaf(key_hash, value_hash, key, value)
        rows.append((int.from_bytes(key_hash, "big"), (leaf_hash, record)))
    rows.sort(key=itemgetter(0))
    return [row[0] for row in rows], [row[1] for row in rows]


def check_aux_row(db: str, key: bytes, value: bytes | None) -> None:
    """Raises StoreError unless the aux row's key and value are storable."""
    if not isinstance(key, bytes) or not 0 < len(key) <= MAX_AUX_KEY_SIZE:
        raise StoreError(f"aux key in {db!r} must be 1..{MAX_AUX_KEY_SIZE} bytes")
    if value is not None and not isinstance(value, bytes):
        raise StoreError(f"aux value in {db!r} must be bytes or None")
