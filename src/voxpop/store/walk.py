"""Reading one version of the tree: following a key's path from the root."""

from __future__ import annotations

from collections.abc import Callable

from voxpop.store.errors import StoreError
from voxpop.store.nodes import (
    KIND_INTERNAL,
    KIND_LEAF,
    Ref,
    check_chunk,
    decode_leaf,
    encode_node_key,
    get_chunk_entry,
)

# (key hash, value hash, key, value)
Leaf = tuple[bytes, bytes, bytes, bytes]


def walk_path(
    read_record: Callable[[bytes], bytes | None], root: Ref, key_hash: bytes
) -> tuple[list[bytes], Leaf | None]:
    """Follow `key_hash` down from `root`: the sibling hashes passed (from the root down), and
    the leaf where the path ends, or None if it ends at an empty subtree.

    Raises StoreError if a record is missing or malformed.
    """
    path = int.from_bytes(key_hash, "big")
    siblings: list[bytes] = []
    kind = root[2]
    version = root[1]
    depth = 0
    record = b""
    bitmap = 0
    while kind == KIND_INTERNAL:
        rel = depth & 3
        prefix = path >> (256 - depth)
        if rel == 0:
            chunk = read_record(encode_node_key(version, depth, prefix))
            if chunk is None:
                raise StoreError("corrupt store: missing chunk")
            record = chunk
            bitmap = check_chunk(record)
        entry = get_chunk_entry(record, bitmap, (1 << rel) | (prefix & ((1 << rel) - 1)))
        # Entry layout (nodes.py): kinds | left hash | right hash | left version | right version
        if path >> (255 - depth) & 1:
            siblings.append(entry[1:33])
            kind = entry[0] >> 2
            version_bytes = entry[73:81]
        else:
            siblings.append(entry[33:65])
            kind = entry[0] & 3
            version_bytes = entry[65:73]
        depth += 1
        if kind != KIND_INTERNAL or depth & 3 == 0:
            version = int.from_bytes(version_bytes, "big")
    if kind != KIND_LEAF:
        return siblings, None
    leaf = read_record(encode_node_key(version, depth, path >> (256 - depth)))
    if leaf is None:
        raise StoreError("corrupt store: missing leaf")
    return siblings, decode_leaf(leaf)
