"""Beacon state: the seed every module draws its randomness from, and what checks its inputs.

beacon/seed                    -> 32 bytes: the current seed (moved by every block's beacon entry)
beacon/from                    -> u64 BE: the first height whose votes carry extensions (absent:
                                  vote extensions are off, the seed stays at its genesis value)
beacon/key/<consensus addr 20> -> 32 bytes: the Ed25519 key of every validator the chain has had
                                  (the genesis set and every later update), to check its proofs

The seed starts at sha256(b"voxpop/beacon/genesis" || chain_id); each block with an entry folds
the VRF outputs of the validators' extensions into it (docs/protocol/beacon.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.context import Context
from voxpop.chain.kv import KVReader

PREFIX = b"beacon/"
SEED_KEY = b"beacon/seed"
FROM_KEY = b"beacon/from"
KEY_PREFIX = b"beacon/key/"
ADDRESS_LEN = 20
# The app's own record of the chain id (voxpop.chain.app.CHAIN_ID_KEY), read only for a chain
# that began before this module existed and so has no stored seed yet
_APP_CHAIN_ID_KEY = b"app/chain_id"
GENESIS_DOMAIN = b"voxpop/beacon/genesis"
SEED_DOMAIN = b"voxpop/beacon/seed"
VRF_DOMAIN = b"voxpop/beacon/v1"


def genesis_seed(chain_id: str) -> bytes:
    return hashlib.sha256(GENESIS_DOMAIN + chain_id.encode()).digest()


def epoch_seed(reader: KVReader) -> bytes:
    """The current 32-byte seed (a Context or any state reader)."""
    raw = reader.get(SEED_KEY)
    if raw is not None:
        return raw
    chain_id = reader.get(_APP_CHAIN_ID_KEY) or b""
    return genesis_seed(chain_id.decode())


def vrf_input(chain_id: str, height: int) -> bytes:
    """What each validator's extension proves at `height`: one value per key, chain and height."""
    return VRF_DOMAIN + chain_id.encode() + height.to_bytes(8, "big")


def next_seed(previous: bytes, outputs: Sequence[tuple[bytes, bytes]]) -> bytes:
    """The seed after a block whose entry gives these (address, VRF output) pairs."""
    digest = hashlib.sha256(SEED_DOMAIN + previous)
    for address, output in sorted(outputs):
        digest.update(address + output)
    return digest.digest()


def fold(ctx: Context, outputs: Sequence[tuple[bytes, bytes]]) -> bytes:
    seed = next_seed(epoch_seed(ctx), outputs)
    ctx.set(SEED_KEY, seed)
    return seed


def init(ctx: Context, chain_id: str) -> None:
    ctx.set(SEED_KEY, genesis_seed(chain_id))


def set_extensions_from(ctx: Context, enable_height: int, initial_height: int) -> None:
    """Record CometBFT's vote_extensions_enable_height (0: off) as the first height whose votes
    carry extensions (a chain's first block has no previous votes)."""
    if enable_height > 0:
        ctx.set(FROM_KEY, max(enable_height, initial_height).to_bytes(8, "big"))


def entry_required(reader: KVReader, height: int) -> bool:
    """Whether the block at `height` must carry a beacon entry: the votes of `height - 1` had
    extensions."""
    raw = reader.get(FROM_KEY)
    return raw is not None and height - 1 >= int.from_bytes(raw, "big")


def extensions_on(reader: KVReader, height: int) -> bool:
    """Whether the votes of `height` carry extensions."""
    return entry_required(reader, height + 1)


def consensus_address(pub_key: bytes) -> bytes:
    return hashlib.sha256(pub_key).digest()[:ADDRESS_LEN]


def record_keys(ctx: Context, updates: Iterable[ValidatorUpdate]) -> None:
    """Remember the key of every validator that joins or changes power. Kept after it leaves:
    its last votes are checked after its removal, and a validator set is small."""
    for update in updates:
        ctx.set(KEY_PREFIX + consensus_address(update.pub_key_ed25519), update.pub_key_ed25519)


def validator_key(reader: KVReader, address: bytes) -> bytes | None:
    return reader.get(KEY_PREFIX + address)
