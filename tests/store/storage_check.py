"""Checks of the store's on-disk invariants, reading its databases directly.

- every retained version's tree is well formed and its hashes recompute to its root;
- each chunk record holds exactly the entries its root reaches;
- the node database holds exactly the records some retained version reaches (pruning neither
  leaks records nor deletes needed ones).
"""

from __future__ import annotations

from hashlib import sha256
from typing import Any

from voxpop.store import MerkleStore
from voxpop.store.hashing import EMPTY_HASH
from voxpop.store.nodes import (
    KIND_EMPTY,
    KIND_INTERNAL,
    KIND_LEAF,
    Ref,
    check_chunk,
    decode_entry,
    decode_leaf,
    decode_root,
    encode_node_key,
    get_chunk_entry,
)


def _bit(key_hash: bytes, depth: int) -> int:
    return (key_hash[depth // 8] >> (7 - depth % 8)) & 1


class _Walker:
    def __init__(self, txn: Any, nodes: Any) -> None:
        self.get = txn.cursor(db=nodes).get
        self.reached: set[bytes] = set()

    def subtree(self, ref: Ref, depth: int, path: int) -> bytes:
        """Check the subtree `ref` at (depth, path); return its recomputed hash."""
        if ref[2] == KIND_EMPTY:
            assert ref[0] == EMPTY_HASH
            return EMPTY_HASH
        key = encode_node_key(ref[1], depth, path)
        record = self.get(key)
        assert record is not None, f"missing record at depth {depth}"
        self.reached.add(key)
        if ref[2] == KIND_LEAF:
            key_hash, value_hash, raw_key, value = decode_leaf(record)
            assert sha256(raw_key).digest() == key_hash
            assert sha256(value).digest() == value_hash
            # The leaf lies on its own path.
            assert all(_bit(key_hash, d) == (path >> (depth - 1 - d)) & 1 for d in range(depth))
            return sha256(b"\x00" + key_hash + value_hash).digest()
        assert ref[2] == KIND_INTERNAL and depth % 4 == 0
        bitmap = check_chunk(record)
        visited: set[int] = set()
        node_hash = self._chunk_node(record, bitmap, 1, depth, path, visited)
        assert bitmap == sum(1 << index for index in visited), "chunk holds unreachable entries"
        return node_hash

    def _chunk_node(
        self, record: bytes, bitmap: int, index: int, depth: int, path: int, visited: set[int]
    ) -> bytes:
        visited.add(index)
        left, right = decode_entry(get_chunk_entry(record, bitmap, index))
        # An internal node has two non-empty children, or one internal one.
        assert left[2] != KIND_EMPTY or right[2] == KIND_INTERNAL
        assert right[2] != KIND_EMPTY or left[2] == KIND_INTERNAL
        hashes = []
        for bit, child in ((0, left), (1, right)):
            child_depth = depth + 1
            child_path = path << 1 | bit
            if child[2] == KIND_INTERNAL and child_depth % 4:
                child_hash = self._chunk_node(
                    record, bitmap, index << 1 | bit, child_depth, child_path, visited
                )
            else:
                child_hash = self.subtree(child, child_depth, child_path)
            assert child_hash == child[0], f"stale child hash at depth {child_depth}"
            hashes.append(child_hash)
        return sha256(b"\x01" + hashes[0] + hashes[1]).digest()


def check_storage(store: MerkleStore) -> None:
    """Assert the invariants above for every retained version."""
    internals: Any = store
    with internals._env.begin() as txn:
        walker = _Walker(txn, internals._nodes)
        roots = [
            (int.from_bytes(key, "big"), decode_root(value))
            for key, value in txn.cursor(db=internals._versions)
        ]
        for _, root in roots:
            assert walker.subtree(root, 0, 0) == root[0]
        stored = {key for key, _ in txn.cursor(db=internals._nodes)}
    assert stored == walker.reached, (
        f"{len(stored - walker.reached)} unreachable records, "
        f"{len(walker.reached - stored)} missing"
    )


def collect_record_keys(store: MerkleStore, version: int) -> set[bytes]:
    """The keys of every record `version`'s tree reaches."""
    internals: Any = store
    with internals._env.begin() as txn:
        record = txn.get(version.to_bytes(8, "big"), db=internals._versions)
        walker = _Walker(txn, internals._nodes)
        walker.subtree(decode_root(record), 0, 0)
    return walker.reached
