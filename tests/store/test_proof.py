"""Proofs: membership and absence verify; anything tampered with does not; the encoding is
canonical and decoding rejects malformed input."""

from __future__ import annotations

import subprocess
import sys
from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.store.test_tree import keys_sharing_prefix
from voxpop.store import EMPTY_HASH, MerkleStore, Proof, ProofError, ProofLeaf, verify_proof
from voxpop.store.proof import MAX_PROOF_SIZE

KEYS = [b"acct-%d" % i for i in range(400)]


@pytest.fixture
def filled(store: MerkleStore) -> MerkleStore:
    store.commit(1, {key: b"v1-" + key for key in KEYS})
    store.commit(2, {key: b"v2-" + key for key in KEYS[::3]})
    return store


def proof_bytes(store: MerkleStore, key: bytes) -> bytes:
    return store.get_with_proof(key)[1].encode()


def test_membership_proofs(filled: MerkleStore) -> None:
    root = filled.root_hash()
    for key in KEYS:
        value, proof = filled.get_with_proof(key)
        assert value == filled.get(key)
        assert verify_proof(root, key, value, proof)
        assert verify_proof(root, key, value, Proof.decode(proof.encode()))


def test_absence_proofs(filled: MerkleStore) -> None:
    root = filled.root_hash()
    ended_at_leaf = ended_empty = 0
    for n in range(300):
        key = b"absent-%d" % n
        value, proof = filled.get_with_proof(key)
        assert value is None
        assert verify_proof(root, key, None, proof)
        assert not verify_proof(root, key, b"", proof)
        if proof.leaf is None:
            ended_empty += 1
        else:
            ended_at_leaf += 1
    # Both kinds of absence occur.
    assert ended_at_leaf and ended_empty


def test_proofs_at_old_versions(filled: MerkleStore) -> None:
    old_root = filled.root_hash(1)
    key = KEYS[0]
    value, proof = filled.get_with_proof(key, 1)
    assert value == b"v1-" + key
    assert verify_proof(old_root, key, value, proof)
    assert not verify_proof(filled.root_hash(), key, value, proof)


def test_proofs_in_tiny_trees(store: MerkleStore) -> None:
    # Empty tree: absence with no siblings.
    value, proof = store.get_with_proof(b"a")
    assert (value, proof) == (None, Proof(()))
    assert verify_proof(bytes(32), b"a", None, proof)
    # One leaf at the root: its key is present with no siblings; others end at that leaf.
    root = store.commit(1, {b"a": b"1"})
    assert store.get_with_proof(b"a") == (b"1", Proof(()))
    value, proof = store.get_with_proof(b"b")
    assert value is None and proof.leaf is not None and proof.siblings == ()
    assert verify_proof(root, b"b", None, proof)


def test_deep_proofs(store: MerkleStore) -> None:
    deep = keys_sharing_prefix(14, 3)
    root = store.commit(1, {key: b"x" for key in deep})
    for key in deep:
        value, proof = store.get_with_proof(key)
        assert len(proof.siblings) >= 15
        assert sum(s != EMPTY_HASH for s in proof.siblings) <= 2
        assert len(proof.encode()) < 3 + 4 + 3 * 32
        assert verify_proof(root, key, value, Proof.decode(proof.encode()))


def test_invalid_wrong_value_key_or_root(filled: MerkleStore) -> None:
    root = filled.root_hash()
    key, other = KEYS[5], KEYS[6]
    value, proof = filled.get_with_proof(key)
    assert value is not None
    assert not verify_proof(root, key, value + b"!", proof)
    assert not verify_proof(root, key, None, proof)
    assert not verify_proof(root, other, value, proof)
    assert not verify_proof(filled.root_hash(1), key, value, proof)
    assert not verify_proof(root[:31], key, value, proof)


def test_invalid_absence_claims(filled: MerkleStore) -> None:
    root = filled.root_hash()
    key = KEYS[9]
    absent_value, absent_proof = filled.get_with_proof(b"nobody")
    assert absent_value is None
    # A present key cannot be proven absent with another key's proof...
    assert not verify_proof(root, key, None, absent_proof)
    # ...nor with its own path cut short at its own leaf.
    value, proof = filled.get_with_proof(key)
    own_leaf = ProofLeaf(sha256(key).digest(), sha256(value or b"").digest())
    assert not verify_proof(root, key, None, Proof(proof.siblings, own_leaf))
    # An absence proof's leaf must lie on the key's path.
    if absent_proof.leaf is not None:
        moved = ProofLeaf(sha256(KEYS[0]).digest(), absent_proof.leaf.value_hash)
        assert not verify_proof(root, b"nobody", None, Proof(absent_proof.siblings, moved))


def test_invalid_every_flipped_bit(filled: MerkleStore) -> None:
    root = filled.root_hash()
    cases = [(KEYS[1], filled.get(KEYS[1])), (b"absent-1", None), (b"absent-2", None)]
    for key, value in cases:
        encoded = proof_bytes(filled, key)
        for bit in range(len(encoded) * 8):
            tampered = bytearray(encoded)
            tampered[bit // 8] ^= 1 << (bit % 8)
            try:
                proof = Proof.decode(bytes(tampered))
            except ProofError:
                continue
            assert not verify_proof(root, key, value, proof), f"bit {bit} of {key!r}"


@pytest.fixture(scope="module")
def fixed_proofs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[bytes, bytes, bytes]]:
    """(key, value, encoded proof) for some keys of a fixed tree, and its root first."""
    with MerkleStore(tmp_path_factory.mktemp("fixed")) as store:
        root = store.commit(1, {key: b"v-" + key for key in KEYS})
        return (
            [(root, b"", b"")]
            + [(key, b"v-" + key, proof_bytes(store, key)) for key in KEYS[:10]]
            + [(key, b"", proof_bytes(store, key)) for key in (b"x1", b"x2", b"x3")]
        )


@settings(max_examples=200, deadline=None)
@given(case=st.integers(1, 13), bits=st.lists(st.integers(0, 10**6), min_size=1, max_size=6))
def test_invalid_random_bit_flips(
    fixed_proofs: list[tuple[bytes, bytes, bytes]], case: int, bits: list[int]
) -> None:
    root = fixed_proofs[0][0]
    key, value, encoded = fixed_proofs[case]
    tampered = bytearray(encoded)
    for bit in bits:
        tampered[(bit // 8) % len(tampered)] ^= 1 << (bit % 8)
    if bytes(tampered) == encoded:
        return
    try:
        proof = Proof.decode(bytes(tampered))
    except ProofError:
        return
    assert not verify_proof(root, key, value or None, proof)


def test_invalid_truncated_or_extended(filled: MerkleStore) -> None:
    for key in (KEYS[3], b"absent-9"):
        encoded = proof_bytes(filled, key)
        for size in range(len(encoded)):
            with pytest.raises(ProofError):
                Proof.decode(encoded[:size])
        with pytest.raises(ProofError):
            Proof.decode(encoded + b"\x00")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02\x00\x00",  # reserved flag bit
        b"\x00\x01\x01",  # depth 257
        b"\x00\x00\x01\x40",  # padding bit set in the bitmap
        b"\x00\x00\x01\x80" + bytes(32),  # a listed sibling that is the empty hash
        b"\x00\x00\x00" + bytes(MAX_PROOF_SIZE),  # oversized
        b"\x01\x00\x00" + bytes(63),  # truncated leaf
    ],
)
def test_invalid_malformed_encodings(data: bytes) -> None:
    with pytest.raises(ProofError):
        Proof.decode(data)


@given(
    st.lists(st.one_of(st.just(EMPTY_HASH), st.binary(min_size=32, max_size=32)), max_size=256),
    st.none() | st.tuples(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32)),
)
def test_encoding_round_trips(siblings: list[bytes], leaf: tuple[bytes, bytes] | None) -> None:
    proof = Proof(tuple(siblings), ProofLeaf(*leaf) if leaf else None)
    encoded = proof.encode()
    assert len(encoded) <= MAX_PROOF_SIZE
    assert Proof.decode(encoded) == proof
    # One encoding per proof: re-encoding what was decoded gives the same bytes.
    assert Proof.decode(encoded).encode() == encoded


def test_invalid_proof_fields_fail_to_encode() -> None:
    with pytest.raises(ProofError):
        Proof((b"short",)).encode()
    with pytest.raises(ProofError):
        Proof((EMPTY_HASH,) * 257).encode()
    with pytest.raises(ProofError):
        Proof((), ProofLeaf(b"x", EMPTY_HASH)).encode()


def test_proof_module_does_not_import_lmdb() -> None:
    code = (
        "import sys; import voxpop.store.proof, voxpop.store; "
        "assert 'lmdb' not in sys.modules, 'lmdb imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
