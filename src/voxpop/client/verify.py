"""Check what a node says instead of trusting it: block headers against a trusted validator key,
state entries against the header's app hash.

Solo mode: the one validator signs each header (voxpop.node.header.header_sign_bytes) and
`header.app_hash` is the state root after that block, so a query answered "at height H" is checked
against block H. Every function raises ProofVerificationError on any mismatch.
"""

from __future__ import annotations

from collections.abc import Collection

from voxpop.chain.errors import ChainError
from voxpop.chain.registry import default_modules, query_key
from voxpop.client.errors import ProofVerificationError
from voxpop.crypto.keys import verify_signature
from voxpop.node.header import block_hash, header_sign_bytes
from voxpop.node.service import BlockRecord
from voxpop.store.errors import ProofError
from voxpop.store.proof import Proof, verify_proof


def verify_block(
    block: BlockRecord,
    *,
    height: int,
    chain_id: str,
    trusted_keys: Collection[bytes],
) -> None:
    """Verify `block` is the block at `height` of `chain_id`, signed by a trusted validator key.

    Raises ProofVerificationError.
    """
    header = block.header
    # Verify it is the block asked for, on the chain we think we talk to
    if header.height != height:
        raise ProofVerificationError(f"asked for block {height}, got block {header.height}")
    if header.chain_id != chain_id:
        raise ProofVerificationError(f"block is for chain {header.chain_id!r}, not {chain_id!r}")
    # Verify the block hash is the hash of this header
    if block.hash != block_hash(header):
        raise ProofVerificationError(f"block {height}: hash does not match its header")
    # Verify the signer is a validator we trust
    if block.signer_pub_key not in trusted_keys:
        raise ProofVerificationError(
            f"block {height} is signed by {block.signer_pub_key.hex()[:16]}..., "
            "which is not a trusted validator key"
        )
    # Verify the signature over the header
    if not verify_signature(block.signer_pub_key, header_sign_bytes(header), block.signature):
        raise ProofVerificationError(f"block {height}: the header signature does not verify")


def verify_entry(app_hash: bytes, key: bytes, value: bytes, proof_bytes: bytes) -> None:
    """Verify that under state root `app_hash`, `key` maps to `value` (absent when empty).

    Raises ProofVerificationError.
    """
    # Verify the proof is a well-formed canonical encoding
    try:
        proof = Proof.decode(proof_bytes)
    except ProofError as exc:
        raise ProofVerificationError(f"malformed proof for key {key.hex()}: {exc}") from None
    # Verify the value (or its absence) against the root. Modules never store an empty value,
    # so an empty one is checked as an absence first.
    if value:
        ok = verify_proof(app_hash, key, value, proof)
    else:
        ok = verify_proof(app_hash, key, None, proof) or verify_proof(app_hash, key, b"", proof)
    if not ok:
        raise ProofVerificationError(f"the proof for key {key.hex()} does not match the app hash")


def expected_query_key(path: str, data: bytes) -> bytes:
    """The state key a query reads, computed locally (as the app does) so a node cannot answer a
    query with a valid proof of some other key. Raises ProofVerificationError for unknown paths."""
    try:
        return query_key(default_modules(), path, data)
    except ChainError as exc:
        raise ProofVerificationError(f"cannot verify query {path!r}: {exc}") from None
