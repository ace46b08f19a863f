"""What the storage node reads from the chain and what its txs cost: the storage module's records,
decoded with the module's own decoders (one encoding, declared once), and the gas and size
budgets of its Confirm and Prove txs."""

from __future__ import annotations

from voxpop.chain.modules.storage.state import (
    ACTIVE,
    PENDING,
    REPAIR,
    Challenges,
    Deal,
    Placement,
    decode_challenges,
    decode_deal,
    decode_params,
    decode_provider,
)
from voxpop.chain.modules.storage.state import Provider as ProviderRecord
from voxpop.chain.modules.storage.state import StorageParams as Params

__all__ = [
    "ACTIVE",
    "PENDING",
    "REPAIR",
    "Challenges",
    "Deal",
    "Params",
    "Placement",
    "ProviderRecord",
    "confirm_gas",
    "decode_challenges",
    "decode_deal",
    "decode_params",
    "decode_placement_id",
    "decode_provider",
    "proof_size",
    "prove_gas",
]

OBJECT_ID_SIZE = 32
# A tx is at most the auth module's max_tx_bytes (32 KiB by default): proofs go in txs of at most
# this many bytes of leaves and paths (as proof_size counts them), the rest of the tx fits in the
# margin (measured: 288 bytes of signature and framing, and proof_size is ~10 bytes a proof
# short). With the default 1 KiB leaves one epoch's 16 answers take one tx even for a 1 GiB shard
# (28,288 bytes with 20-step paths).
PROVE_TX_BUDGET = 30 * 1024
TX_BASE_GAS = 150_000
GAS_PER_TX_BYTE = 12  # the chain charges 10 per tx byte; the rest covers the proof's reads
GAS_PER_PROOF = 20_000
GAS_PER_PLACEMENT = 15_000


def decode_placement_id(pid: bytes) -> tuple[bytes, int]:
    """(object id, shard index) of a placement list item's id (object id 32 || shard u8)."""
    return pid[:OBJECT_ID_SIZE], pid[OBJECT_ID_SIZE]


def proof_size(leaf: bytes, path: tuple[bytes, ...]) -> int:
    """About the bytes one proof adds to a Prove tx."""
    return OBJECT_ID_SIZE + len(leaf) + 33 * len(path) + 24


def prove_gas(proofs: int, size: int) -> int:
    return TX_BASE_GAS + GAS_PER_TX_BYTE * size + GAS_PER_PROOF * proofs


def confirm_gas(placements: int) -> int:
    return TX_BASE_GAS + GAS_PER_PLACEMENT * placements
