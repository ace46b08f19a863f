"""The solo node's block header: its signed bytes, its hash and the tx Merkle root.

Kept apart from the block store so clients can verify headers without LMDB.
"""

from __future__ import annotations

import hashlib

from voxpop.chain.encoding import encode
from voxpop.node.service import BlockHeader

HEADER_DOMAIN = b"voxpop/solo-header/v1\n"


def header_fields(h: BlockHeader) -> list[object]:
    """The header as a list in its fixed field order: what is signed, hashed and stored."""
    return [
        h.chain_id,
        h.height,
        h.time_unix,
        h.last_block_hash,
        h.data_hash,
        h.app_hash,
        h.proposer,
        h.num_txs,
    ]


def header_sign_bytes(h: BlockHeader) -> bytes:
    return HEADER_DOMAIN + encode(header_fields(h))


def block_hash(h: BlockHeader) -> bytes:
    return hashlib.sha256(header_sign_bytes(h)).digest()


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 Merkle root over the tx hashes (the header's data_hash)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]
    while len(level) > 1:
        nxt = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]
