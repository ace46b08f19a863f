"""How the tree is laid out as database records (docs/protocol/state-tree.md, "Storage").

The tree is binary, but it is stored in chunks of four levels: the internal nodes at depths
4k .. 4k+3 below one internal node at depth 4k share one record, like a Jellyfish node with 16
children. A key's path then costs about depth/4 records to read, rewrite and later prune,
instead of one per level. Leaves are records of their own.

Records are stored under a node key: (version that wrote it, depth, path), where the path is
the first `depth` bits of the key hash as an integer. A key names a position, not content, and
a record never changes once written, so any retained version can be read while later ones are
committed, and pruning a record superseded before the oldest retained version is safe.

    node key      version u64 | path bits, a 1 bit, zero padding       (depth // 8 + 1 bytes)
    leaf record   0x00 | key hash (32) | value hash (32) | key length u16 | key | value
    chunk record  0x02 | bitmap u16 | one 81-byte entry per set bit, in bit order
    chunk entry   child kinds (left + 4 * right) | left hash | right hash
                  | left version u64 | right version u64
    root record   kind | hash (32) | version u64                (one per committed version)

In a chunk, the node at relative depth r (0..3) and relative path p has index 2**r + p (a heap
layout: children of i are 2i and 2i+1) and bitmap bit i. A child version is meaningful for
children stored elsewhere (leaves, and chunk roots at the next multiple of 4); a child inside
the same chunk is found in the record that holds its parent.

In memory a node reference ("ref") is the tuple (hash, version, kind, pending leaf record).
"""

from __future__ import annotations

from voxpop.store.errors import StoreError
from voxpop.store.hashing import EMPTY_HASH, HASH_SIZE

KIND_EMPTY = 0
KIND_LEAF = 1
KIND_INTERNAL = 2
# A leaf built or moved by the current commit whose final depth is not yet known; never stored.
KIND_PENDING = 3

Ref = tuple[bytes, int, int, bytes]
EMPTY_REF: Ref = (EMPTY_HASH, 0, KIND_EMPTY, b"")
# A chunk as read: (record, bitmap); and a chunk being rewritten: its new entries by index.
OldChunk = tuple[bytes, int]
NewChunk = dict[int, bytes]

CHUNK_LEVELS = 4
LEAF_TAG = 0x00
CHUNK_TAG = 0x02
ENTRY_SIZE = 1 + 2 * HASH_SIZE + 16
CHUNK_HEADER_SIZE = 3
_LEAF_HEADER = 1 + 2 * HASH_SIZE + 2
_ROOT_SIZE = 1 + HASH_SIZE + 8


def encode_node_key(version: int, depth: int, path: int) -> bytes:
    """version u64, then the path bits followed by a single 1 bit, zero-padded to whole bytes.

    The marker bit makes the encoding unambiguous without a depth field, and it sorts a
    version's records in tree order (left subtree, node, right subtree), so a subtree written
    by one commit is stored, and later pruned, as a contiguous run of pages.
    """
    size = (depth >> 3) + 1
    marked = ((path << 1) | 1) << ((size << 3) - depth - 1)
    return ((version << (size << 3)) | marked).to_bytes(8 + size, "big")


def compute_chunk_index(depth: int, path: int) -> int:
    """The heap index, in its chunk, of the internal node at (depth, path)."""
    rel = depth & 3
    return (1 << rel) | (path & ((1 << rel) - 1))


def encode_leaf(key_hash: bytes, value_hash: bytes, key: bytes, value: bytes) -> bytes:
    return b"".join((b"\x00", key_hash, value_hash, len(key).to_bytes(2, "big"), key, value))


def decode_leaf(record: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """(key hash, value hash, key, value). Raises StoreError if the record is not a leaf."""
    if len(record) < _LEAF_HEADER or record[0] != LEAF_TAG:
        raise StoreError("corrupt store: expected a leaf record")
    key_end = _LEAF_HEADER + int.from_bytes(record[_LEAF_HEADER - 2 : _LEAF_HEADER], "big")
    return record[1:33], record[33:65], record[_LEAF_HEADER:key_end], record[key_end:]


def encode_entry(left: Ref, right: Ref) -> bytes:
    return b"".join(
        (
            bytes((left[2] | right[2] << 2,)),
            left[0],
            right[0],
            left[1].to_bytes(8, "big"),
            right[1].to_bytes(8, "big"),
        )
    )


def decode_entry(entry: bytes) -> tuple[Ref, Ref]:
    """The (left, right) child refs of a chunk entry."""
    kinds = entry[0]
    return (
        (entry[1:33], int.from_bytes(entry[65:73], "big"), kinds & 3, b""),
        (entry[33:65], int.from_bytes(entry[73:81], "big"), kinds >> 2, b""),
    )


def encode_chunk(entries: dict[int, bytes]) -> bytes:
    bitmap = 0
    for index in entries:
        bitmap |= 1 << index
    return b"".join((b"\x02", bitmap.to_bytes(2, "big"), *(entries[i] for i in sorted(entries))))


def merge_chunk(old: OldChunk, new: NewChunk) -> bytes:
    """The record of a rewritten chunk: the `new` entries (by index) over the `old` chunk,
    keeping exactly the entries the chunk root still reaches."""
    record, bitmap = old
    if bitmap:
        # Same nodes present, each with the same child kinds: overwrite entries in place.
        merged = bytearray(record)
        for index, entry in new.items():
            if not bitmap >> index & 1:
                break
            offset = CHUNK_HEADER_SIZE + ENTRY_SIZE * (bitmap & ((1 << index) - 1)).bit_count()
            if merged[offset] != entry[0]:
                break
            merged[offset : offset + ENTRY_SIZE] = entry
        else:
            return bytes(merged)
    # The shape changed: collect what the root reaches, from new entries, else old ones.
    reached: dict[int, bytes] = {}
    pending = [1]
    while pending:
        index = pending.pop()
        entry = new.get(index) or get_chunk_entry(record, bitmap, index)
        reached[index] = entry
        if index < 8:
            if entry[0] & 3 == KIND_INTERNAL:
                pending.append(index << 1)
            if entry[0] >> 2 == KIND_INTERNAL:
                pending.append(index << 1 | 1)
    return encode_chunk(reached)


def check_chunk(record: bytes) -> int:
    """The bitmap of a chunk record. Raises StoreError if the record is not a valid chunk."""
    if len(record) < CHUNK_HEADER_SIZE or record[0] != CHUNK_TAG:
        raise StoreError("corrupt store: expected a chunk record")
    bitmap = int.from_bytes(record[1:3], "big")
    # Verify index 1 (the chunk root) is present and the entries fill the record exactly.
    if (
        not bitmap & 2
        or bitmap & 1
        or len(record) != CHUNK_HEADER_SIZE + ENTRY_SIZE * bitmap.bit_count()
    ):
        raise StoreError("corrupt store: malformed chunk record")
    return bitmap


def get_chunk_entry(record: bytes, bitmap: int, index: int) -> bytes:
    """Entry `index` of a chunk. Raises StoreError if the chunk does not hold it."""
    if not bitmap >> index & 1:
        raise StoreError(f"corrupt store: chunk lacks node {index}")
    start = CHUNK_HEADER_SIZE + ENTRY_SIZE * (bitmap & ((1 << index) - 1)).bit_count()
    return record[start : start + ENTRY_SIZE]


def encode_root(ref: Ref) -> bytes:
    return bytes((ref[2],)) + ref[0] + ref[1].to_bytes(8, "big")


def decode_root(record: bytes) -> Ref:
    if len(record) != _ROOT_SIZE or record[0] > KIND_INTERNAL:
        raise StoreError("corrupt store: bad root record")
    return (record[1:33], int.from_bytes(record[33:41], "big"), record[0], b"")
