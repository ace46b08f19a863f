"""Proof and header verification against a real state tree and real signed headers: what is
true verifies, and every tampering is rejected with ProofVerificationError."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from voxpop.chain.encoding import encode, encode_uint
from voxpop.chain.modules.auth.state import account_key
from voxpop.chain.modules.bank.state import balance_key
from voxpop.client import ProofVerificationError, expected_query_key, verify_block, verify_entry
from voxpop.crypto import PrivateKey
from voxpop.node.blockstore import block_hash, header_sign_bytes
from voxpop.node.service import BlockHeader, BlockRecord
from voxpop.store import MerkleStore

VALIDATOR = PrivateKey(bytes([9]) * 32)
OTHER = PrivateKey(bytes([10]) * 32)
ADDR = bytes(range(20))
MISSING = bytes([0xEE]) * 20
CHAIN = "voxpop-test"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MerkleStore]:
    s = MerkleStore(tmp_path / "state")
    changes: dict[bytes, bytes | None] = {
        balance_key(ADDR): encode_uint(1_500_000),
        account_key(ADDR): encode([3, VALIDATOR.public_key.raw]),
    }
    changes.update({balance_key(bytes([i]) * 20): encode_uint(i + 1) for i in range(1, 40)})
    s.commit(1, changes)
    yield s
    s.close()


def signed_block(app_hash: bytes, key: PrivateKey = VALIDATOR, height: int = 1) -> BlockRecord:
    header = BlockHeader(
        chain_id=CHAIN,
        height=height,
        time_unix=1_700_000_000,
        last_block_hash=b"",
        data_hash=bytes(32),
        app_hash=app_hash,
        proposer=bytes(20),
        num_txs=0,
    )
    return BlockRecord(
        header=header,
        hash=block_hash(header),
        txs=(),
        results=(),
        signature=key.sign(header_sign_bytes(header)),
        signer_pub_key=key.public_key.raw,
    )


TRUSTED = frozenset({VALIDATOR.public_key.raw})

# --- headers ----------------------------------------------------------------------------------


def test_verify_block() -> None:
    verify_block(signed_block(bytes(32)), height=1, chain_id=CHAIN, trusted_keys=TRUSTED)


@pytest.mark.parametrize(
    "field",
    ["chain_id", "height", "time_unix", "data_hash", "app_hash", "proposer", "num_txs"],
)
def test_invalid_block_tampered_header_field(field: str) -> None:
    block = signed_block(bytes(32))
    value = getattr(block.header, field)
    changed: object
    if isinstance(value, bytes):
        changed = bytes([value[0] ^ 1]) + value[1:]
    elif isinstance(value, int):
        changed = value + 1
    else:
        changed = value + "x"
    header = dataclasses.replace(block.header, **{field: changed})
    # Keep the hash consistent with the forged header, so only the signature can catch it
    forged = dataclasses.replace(block, header=header, hash=block_hash(header))
    with pytest.raises(ProofVerificationError):
        verify_block(forged, height=1, chain_id=CHAIN, trusted_keys=TRUSTED)


def test_invalid_block_hash_not_of_header() -> None:
    block = signed_block(bytes(32))
    forged = dataclasses.replace(block, hash=bytes(32))
    with pytest.raises(ProofVerificationError, match="hash"):
        verify_block(forged, height=1, chain_id=CHAIN, trusted_keys=TRUSTED)


def test_invalid_block_untrusted_signer() -> None:
    block = signed_block(bytes(32), key=OTHER)
    with pytest.raises(ProofVerificationError, match="not a trusted validator"):
        verify_block(block, height=1, chain_id=CHAIN, trusted_keys=TRUSTED)


def test_invalid_block_signature_by_other_key_claiming_trusted() -> None:
    block = signed_block(bytes(32), key=OTHER)
    forged = dataclasses.replace(block, signer_pub_key=VALIDATOR.public_key.raw)
    with pytest.raises(ProofVerificationError, match="signature"):
        verify_block(forged, height=1, chain_id=CHAIN, trusted_keys=TRUSTED)


def test_invalid_block_wrong_height_or_chain() -> None:
    block = signed_block(bytes(32), height=2)
    with pytest.raises(ProofVerificationError, match="asked for block 1"):
        verify_block(block, height=1, chain_id=CHAIN, trusted_keys=TRUSTED)
    with pytest.raises(ProofVerificationError, match="chain"):
        verify_block(block, height=2, chain_id="other-chain", trusted_keys=TRUSTED)


def test_invalid_block_bad_signature_bytes() -> None:
    block = signed_block(bytes(32))
    for signature in (b"", bytes(64), block.signature[:-1] + bytes([block.signature[-1] ^ 1])):
        forged = dataclasses.replace(block, signature=signature)
        with pytest.raises(ProofVerificationError):
            verify_block(forged, height=1, chain_id=CHAIN, trusted_keys=TRUSTED)


# --- state entries ----------------------------------------------------------------------------


def test_verify_entry_present_and_absent(store: MerkleStore) -> None:
    root = store.root_hash()
    for key in (balance_key(ADDR), account_key(ADDR), balance_key(MISSING)):
        value, proof = store.get_with_proof(key)
        verify_entry(root, key, value or b"", proof.encode())


def test_invalid_entry_wrong_value(store: MerkleStore) -> None:
    key = balance_key(ADDR)
    _, proof = store.get_with_proof(key)
    with pytest.raises(ProofVerificationError):
        verify_entry(store.root_hash(), key, encode_uint(1_500_001), proof.encode())
    # Claiming the key is absent, with its membership proof
    with pytest.raises(ProofVerificationError):
        verify_entry(store.root_hash(), key, b"", proof.encode())


def test_invalid_entry_present_key_claimed_absent_with_other_proof(store: MerkleStore) -> None:
    _, absent_proof = store.get_with_proof(balance_key(MISSING))
    with pytest.raises(ProofVerificationError):
        verify_entry(store.root_hash(), balance_key(ADDR), b"", absent_proof.encode())


def test_invalid_entry_proof_of_other_key(store: MerkleStore) -> None:
    other = balance_key(bytes([5]) * 20)
    value, proof = store.get_with_proof(other)
    assert value is not None
    with pytest.raises(ProofVerificationError):
        verify_entry(store.root_hash(), balance_key(ADDR), value, proof.encode())


def test_invalid_entry_wrong_root(store: MerkleStore) -> None:
    key = balance_key(ADDR)
    value, proof = store.get_with_proof(key)
    assert value is not None
    root = store.root_hash()
    with pytest.raises(ProofVerificationError):
        verify_entry(bytes([root[0] ^ 1]) + root[1:], key, value, proof.encode())


@pytest.mark.parametrize("key", [balance_key(ADDR), balance_key(MISSING)])
def test_invalid_entry_every_flipped_bit(store: MerkleStore, key: bytes) -> None:
    value, proof = store.get_with_proof(key)
    encoded = proof.encode()
    root = store.root_hash()
    for i in range(len(encoded)):
        for bit in (0, 3, 7):
            tampered = bytearray(encoded)
            tampered[i] ^= 1 << bit
            with pytest.raises(ProofVerificationError):
                verify_entry(root, key, value or b"", bytes(tampered))


@pytest.mark.parametrize("junk", [b"", b"\x00", b"\xff" * 10, b"\x00\x00\x01"])
def test_invalid_entry_malformed_proof(store: MerkleStore, junk: bytes) -> None:
    value, _ = store.get_with_proof(balance_key(ADDR))
    with pytest.raises(ProofVerificationError):
        verify_entry(store.root_hash(), balance_key(ADDR), value or b"", junk)


def test_invalid_entry_truncated_or_extended(store: MerkleStore) -> None:
    value, proof = store.get_with_proof(balance_key(ADDR))
    encoded = proof.encode()
    for tampered in (encoded[:-1], encoded + b"\x00", encoded[:3]):
        with pytest.raises(ProofVerificationError):
            verify_entry(store.root_hash(), balance_key(ADDR), value or b"", tampered)


# --- query keys -------------------------------------------------------------------------------


def test_expected_query_key() -> None:
    assert expected_query_key("/bank/balance", ADDR) == balance_key(ADDR)
    assert expected_query_key("/auth/account", ADDR) == account_key(ADDR)
    assert expected_query_key("/bank/supply", b"") == b"bank/supply"
    assert expected_query_key("/store", b"raw/key") == b"raw/key"


@pytest.mark.parametrize(
    ("path", "data"),
    [("/bank/balance", b"short"), ("/nope/thing", b""), ("/bank", b""), ("", b"")],
)
def test_invalid_expected_query_key(path: str, data: bytes) -> None:
    with pytest.raises(ProofVerificationError):
        expected_query_key(path, data)
