"""Beacon state: the seed every module draws its randomness from.

beacon/seed              -> 32 bytes: the current seed (folded once per block with a beacon entry)

The seed starts at sha256(b"voxpop/beacon/genesis" || chain_id) and moves with every block that
carries the validators' vote extensions (docs/protocol/beacon.md).
"""

from __future__ import annotations

import hashlib

from voxpop.chain.kv import KVReader

PREFIX = b"beacon/"
SEED_KEY = b"beacon/seed"
# The app's own record of the chain id (voxpop.chain.app.CHAIN_ID_KEY), read only for a chain
# that began before this module existed and so has no stored seed yet
_APP_CHAIN_ID_KEY = b"app/chain_id"
GENESIS_DOMAIN = b"voxpop/beacon/genesis"
SEED_DOMAIN = b"voxpop/beacon/seed"


def genesis_seed(chain_id: str) -> bytes:
    return hashlib.sha256(GENESIS_DOMAIN + chain_id.encode()).digest()


def epoch_seed(reader: KVReader) -> bytes:
    """The current 32-byte seed (a Context or any state reader)."""
    raw = reader.get(SEED_KEY)
    if raw is not None:
        return raw
    chain_id = reader.get(_APP_CHAIN_ID_KEY) or b""
    return genesis_seed(chain_id.decode())
