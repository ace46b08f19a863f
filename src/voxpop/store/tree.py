"""One commit's batch update of the versioned sparse Merkle tree.

The change set is sorted by key hash and applied in a single descent: each subtree that holds
changes is visited once, and each node on the way is rewritten once, after both of its children
are final. A subtree without changes is never read. This is what keeps a 2,000-key commit over a
million-key tree fast in Python; the same routine builds a genesis state bottom-up from nothing.

Shape rules (they make the root depend only on the key/value set, not on history):
- a leaf sits at the shallowest depth where its key-hash prefix is unique;
- an internal node has at least two leaves below it, so a subtree left with one leaf after
  deletes collapses into that leaf, which moves up ("lift");
- an empty subtree hashes to EMPTY_HASH and is not stored.

Internal nodes are stored in four-level chunks (nodes.py). While descending, each call carries
the chunk record its node was read from (`old`) and the entries rewritten so far in the chunk
that replaces it (`new`); when a chunk's root is rewritten, the new chunk is written whole, with
the entries of untouched subtrees taken from the old record.

A subtree holding a single change (the common case below the top dozen levels) is walked down
in a loop rather than by recursion: `_update_one`.

Database access goes through the callables the store hands in; this module imports no database.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from hashlib import sha256

from voxpop.store.errors import StoreError
from voxpop.store.hashing import MAX_DEPTH
from voxpop.store.nodes import (
    CHUNK_HEADER_SIZE,
    EMPTY_REF,
    ENTRY_SIZE,
    KIND_EMPTY,
    KIND_INTERNAL,
    KIND_LEAF,
    KIND_PENDING,
    NewChunk,
    OldChunk,
    Ref,
    check_chunk,
    decode_entry,
    encode_entry,
    encode_node_key,
    get_chunk_entry,
    merge_chunk,
)

# (leaf hash, leaf record) for an insert or update; (b"", b"") for a delete.
Entry = tuple[bytes, bytes]
DELETE: Entry = (b"", b"")
_NO_CHUNK: OldChunk = (b"", 0)

# Writes are handed to the database in chunks, so a genesis build does not hold every node.
_FLUSH_EVERY = 50_000


class TreeBatch:
    """Applies one version's changes. Collects the record keys it supersedes in `stale`."""

    def __init__(
        self,
        version: int,
        read_record: Callable[[bytes], bytes | None],
        write_records: Callable[[list[tuple[bytes, bytes]]], object],
    ) -> None:
        self.version = version
        self.stale: list[bytes] = []
        self._read_record = read_record
        self._write_records = write_records
        self._writes: list[tuple[bytes, bytes]] = []
        self._paths: list[int] = []
        self._entries: list[Entry] = []

    def apply(self, root: Ref, paths: list[int], entries: list[Entry]) -> Ref:
        """The new root after applying `entries`, keyed by `paths` (key hashes as integers,
        strictly ascending). Writes every new record before returning."""
        self._paths = paths
        self._entries = entries
        new_root = root
        if paths:
            new_root = self._update(0, 0, root, 0, len(paths), _NO_CHUNK, {})
        if new_root[2] == KIND_PENDING:
            new_root = self._place(0, 0, new_root)
        self._write_records(self._writes)
        self._writes = []
        return new_root

    def _read(self, key: bytes) -> bytes:
        record = self._read_record(key)
        if record is None:
            raise StoreError(f"corrupt store: missing record {key.hex()}")
        return record

    def _read_chunk(self, key: bytes) -> OldChunk:
        record = self._read(key)
        return (record, check_chunk(record))

    def _write(self, key: bytes, record: bytes) -> None:
        writes = self._writes
        writes.append((key, record))
        if len(writes) >= _FLUSH_EVERY:
            self._write_records(writes)
            self._writes = []

    def _update(
        self, depth: int, path: int, ref: Ref, lo: int, hi: int, old: OldChunk, new: NewChunk
    ) -> Ref:
        """Apply changes[lo:hi], all under the subtree at (depth, path) that `ref` points to.
        Returns `ref` itself when nothing changed, so callers can skip rewriting parents."""
        kind = ref[2]
        if kind == KIND_LEAF:
            return self._merge_leaf(depth, path, ref, lo, hi, old, new)
        if kind != KIND_INTERNAL:
            return self._insert_into_empty(depth, path, ref, lo, hi, old, new)
        if hi - lo == 1:
            return self._update_one(depth, path, ref, lo, old, new)
        rel = depth & 3
        if rel == 0:
            # A chunk root: read its chunk, and start the one that will replace it.
            chunk_key = encode_node_key(ref[1], depth, path)
            old = self._read_chunk(chunk_key)
            new = {}
            index = 1
        else:
            index = (1 << rel) | (path & ((1 << rel) - 1))
        left, right = decode_entry(get_chunk_entry(old[0], old[1], index))
        # Changes are sorted, so those going right start at the first path with bit `depth` set.
        mid = bisect_left(self._paths, ((path << 1) | 1) << (255 - depth), lo, hi)
        child = depth + 1
        new_left = self._update(child, path << 1, left, lo, mid, old, new) if lo < mid else left
        new_right = (
            self._update(child, path << 1 | 1, right, mid, hi, old, new) if mid < hi else right
        )
        if new_left is left and new_right is right:
            return ref
        if rel == 0:
            self.stale.append(chunk_key)
        return self._join(depth, path, new_left, new_right, old, new)

    def _update_one(
        self, depth: int, path: int, ref: Ref, at: int, old: OldChunk, new: NewChunk
    ) -> Ref:
        """_update for the single change changes[at] under the internal node `ref`: follow its
        path down to the leaf or empty subtree where it ends, apply it there, then rewrite the
        nodes passed on the way back up."""
        target = self._paths[at]
        read_record = self._read_record
        # Per level passed: (depth, path, index in its chunk, entry and its offset in the chunk
        # record, went right, old chunk, new chunk, chunk key if the node is its chunk's root)
        trail: list[tuple[int, int, int, bytes, int, int, OldChunk, NewChunk, bytes]] = []
        node_version = ref[1]
        record, bitmap = old
        rel = depth & 3
        index = (1 << rel) | (path & ((1 << rel) - 1))
        while True:
            chunk_key = b""
            if not depth & 3:
                chunk_key = encode_node_key(node_version, depth, path)
                chunk = read_record(chunk_key)
                if chunk is None:
                    raise StoreError(f"corrupt store: missing record {chunk_key.hex()}")
                record, bitmap = chunk, check_chunk(chunk)
                old = (record, bitmap)
                new = {}
                index = 1
            if not bitmap >> index & 1:
                raise StoreError(f"corrupt store: chunk lacks node {index}")
            offset = CHUNK_HEADER_SIZE + ENTRY_SIZE * (bitmap & ((1 << index) - 1)).bit_count()
            entry = record[offset : offset + ENTRY_SIZE]
            went_right = target >> (255 - depth) & 1
            trail.append((depth, path, index, entry, offset, went_right, old, new, chunk_key))
            depth += 1
            path = path << 1 | went_right
            index = index << 1 | went_right
            kind = entry[0] >> 2 if went_right else entry[0] & 3
            if kind != KIND_INTERNAL:
                break
            if not depth & 3:
                node_version = int.from_bytes(entry[73:81] if went_right else entry[65:73], "big")
        if went_right:
            bottom: Ref = (entry[33:65], int.from_bytes(entry[73:81], "big"), kind, b"")
        else:
            bottom = (entry[1:33], int.from_bytes(entry[65:73], "big"), kind, b"")
        if kind == KIND_LEAF:
            result = self._merge_leaf(depth, path, bottom, at, at + 1, old, new)
        else:
            result = self._insert_into_empty(depth, path, bottom, at, at + 1, old, new)
        if result is bottom:
            return ref

        version = self.version
        version_bytes = version.to_bytes(8, "big")
        stale = self.stale
        write = self._write
        level = len(trail)
        # Above this depth no level's shape changed: see the same-shape loop below
        changed_from = MAX_DEPTH + 1
        while level:
            depth, path, index, entry, _, went_right, old, new, chunk_key = trail[level - 1]
            kinds = entry[0]
            kind = result[2]
            old_kind = kinds >> 2 if went_right else kinds & 3
            sibling_kind = kinds & 3 if went_right else kinds >> 2
            if kind == KIND_PENDING and old_kind == KIND_LEAF and sibling_kind != KIND_EMPTY:
                # An updated value: the leaf stays where it was.
                result = self._place(depth + 1, path << 1 | went_right, result)
                kind = KIND_LEAF
            if kind == old_kind and kind != KIND_PENDING:
                break  # the same shape from this level up
            # The shape changed here (insert or delete): the general rules apply.
            level -= 1
            changed_from = depth
            if chunk_key:
                stale.append(chunk_key)
            left, right = decode_entry(entry)
            if went_right:
                result = self._join(depth, path, left, result, old, new)
            else:
                result = self._join(depth, path, result, right, old, new)
        if not level:
            return result
        # Same shape from here up: only the child's hash and version change in each entry. A
        # chunk whose every level is such is rewritten in place (`patched`, what merge_chunk
        # gives for it); the first chunk, or one where the shape changed, through `new`.
        child_hash = result[0]
        first_root = trail[0][0]
        patched: bytearray | None = None
        while level:
            level -= 1
            depth, path, index, entry, offset, went_right, old, new, chunk_key = trail[level]
            if went_right:
                new_entry = b"".join((entry[:33], child_hash, entry[65:73], version_bytes))
                child_hash = sha256(b"\x01" + entry[1:33] + child_hash).digest()
            else:
                new_entry = b"".join(
                    (entry[:1], child_hash, entry[33:65], version_bytes, entry[73:81])
                )
                child_hash = sha256(b"\x01" + child_hash + entry[33:65]).digest()
            if changed_from <= (depth | 3) or depth - (depth & 3) < first_root:
                new[index] = new_entry
                if chunk_key:
                    stale.append(chunk_key)
                    write(encode_node_key(version, depth, path), merge_chunk(old, new))
                continue
            if patched is None:
                patched = bytearray(old[0])
            patched[offset : offset + ENTRY_SIZE] = new_entry
            if chunk_key:
                stale.append(chunk_key)
                write(encode_node_key(version, depth, path), bytes(patched))
                patched = None
        return (child_hash, version, KIND_INTERNAL, b"")

    def _insert_into_empty(
        self, depth: int, path: int, ref: Ref, lo: int, hi: int, old: OldChunk, new: NewChunk
    ) -> Ref:
        entries = self._entries
        if all(entries[i][0] for i in range(lo, hi)):
            return self._build(depth, path, self._paths, entries, lo, hi, old, new)
        # Deleting keys that are absent changes nothing.
        kept = [i for i in range(lo, hi) if entries[i][0]]
        if not kept:
            return ref
        paths = self._paths
        kept_paths = [paths[i] for i in kept]
        kept_entries = [entries[i] for i in kept]
        return self._build(depth, path, kept_paths, kept_entries, 0, len(kept), old, new)

    def _merge_leaf(
        self, depth: int, path: int, ref: Ref, lo: int, hi: int, old: OldChunk, new: NewChunk
    ) -> Ref:
        """Apply changes[lo:hi] to a subtree that is a single existing leaf."""
        key = encode_node_key(ref[1], depth, path)
        record = self._read(key)
        old_path = int.from_bytes(record[1:33], "big")
        paths = self._paths
        entries = self._entries
        if hi - lo == 1 and paths[lo] == old_path and entries[lo][0]:
            # The common case, a new value for this very key.
            if entries[lo][0] == ref[0]:
                return ref
            self.stale.append(key)
            return (entries[lo][0], 0, KIND_PENDING, entries[lo][1])
        at = bisect_left(paths, old_path, lo, hi)
        replaced = at < hi and paths[at] == old_path
        merged_paths: list[int] = []
        merged_entries: list[Entry] = []
        for index in range(lo, hi):
            if index == at and not replaced:
                merged_paths.append(old_path)
                merged_entries.append((ref[0], record))
            if entries[index][0]:
                merged_paths.append(paths[index])
                merged_entries.append(entries[index])
        if at == hi:
            merged_paths.append(old_path)
            merged_entries.append((ref[0], record))
        if len(merged_paths) == 1 and merged_entries[0][0] == ref[0]:
            # Only the old leaf remains, unchanged (other changes deleted absent keys, or the
            # update wrote the value it already had).
            return ref
        self.stale.append(key)
        if not merged_paths:
            return EMPTY_REF
        return self._build(
            depth, path, merged_paths, merged_entries, 0, len(merged_paths), old, new
        )

    def _build(
        self,
        depth: int,
        path: int,
        paths: list[int],
        entries: list[Entry],
        lo: int,
        hi: int,
        old: OldChunk,
        new: NewChunk,
    ) -> Ref:
        """A fresh subtree holding the leaves entries[lo:hi] (at least one)."""
        if hi - lo == 1:
            leaf_hash, record = entries[lo]
            return (leaf_hash, 0, KIND_PENDING, record)
        if depth >= MAX_DEPTH:
            raise StoreError("two keys have the same SHA-256 hash")
        if depth & 3 == 0:
            new = {}
        mid = bisect_left(paths, ((path << 1) | 1) << (255 - depth), lo, hi)
        child = depth + 1
        left = (
            self._build(child, path << 1, paths, entries, lo, mid, old, new)
            if lo < mid
            else EMPTY_REF
        )
        right = (
            self._build(child, path << 1 | 1, paths, entries, mid, hi, old, new)
            if mid < hi
            else EMPTY_REF
        )
        return self._join(depth, path, left, right, old, new)

    def _join(
        self, depth: int, path: int, left: Ref, right: Ref, old: OldChunk, new: NewChunk
    ) -> Ref:
        """The node at (depth, path) over two final children, stored if it is internal."""
        left_kind = left[2]
        right_kind = right[2]
        child = depth + 1
        # A lone leaf does not need a parent: it moves up until it has a sibling.
        if left_kind == KIND_EMPTY:
            if right_kind == KIND_EMPTY:
                return EMPTY_REF
            if right_kind != KIND_INTERNAL:
                return self._lift(child, path << 1 | 1, right)
        elif right_kind == KIND_EMPTY and left_kind != KIND_INTERNAL:
            return self._lift(child, path << 1, left)
        version = self.version
        if left_kind == KIND_PENDING:
            left = self._place(child, path << 1, left)
        if right_kind == KIND_PENDING:
            right = self._place(child, path << 1 | 1, right)
        rel = depth & 3
        new[(1 << rel) | (path & ((1 << rel) - 1))] = encode_entry(left, right)
        if rel == 0:
            self._write(encode_node_key(version, depth, path), merge_chunk(old, new))
        return (sha256(b"\x01" + left[0] + right[0]).digest(), version, KIND_INTERNAL, b"")

    def _lift(self, depth: int, path: int, ref: Ref) -> Ref:
        """Detach a leaf at (depth, path) so its parent can place it higher up."""
        if ref[2] == KIND_PENDING:
            return ref
        key = encode_node_key(ref[1], depth, path)
        record = self._read(key)
        self.stale.append(key)
        return (ref[0], 0, KIND_PENDING, record)

    def _place(self, depth: int, path: int, ref: Ref) -> Ref:
        """Write a pending leaf at its final position."""
        version = self.version
        self._write(encode_node_key(version, depth, path), ref[3])
        return (ref[0], version, KIND_LEAF, b"")
