"""The test vector of docs/protocol/state-tree.md: hashes, root and proof encodings."""

from __future__ import annotations

from pathlib import Path

from voxpop.store import MerkleStore, Proof, verify_proof

STATE = {b"alice": b"100", b"bob": b"250", b"carol": b"7"}
ROOT = "973afc726375a2f326e36025b339ef8933b8bb43da8e2a46bd49dc8960ad8f4c"
BOB_PROOF = "00000180b7dd5e289559575b1e3bb9f3f2cc4042f1a4750be0d3242e1d223f78319efc28"
DAVE_PROOF = (
    "010002c0"
    "86a9d88f51490ff8bcff472ccd45652defed660ce4c69ee10b6f1bf8b055f15b"
    "e88595db6e2373140c77336108e543dd79e1c6420dff08568b120417c8af88b5"
    "4c26d9074c27d89ede59270c0ac14b71e071b15239519f75474b2f3ba63481f5"
    "7902699be42c8a8e46fbbb4501726517e86b22c56a189f7625a6da49081b2451"
)
ROOT_WITHOUT_BOB = "2678a672e18948aee46a0f6ad7fa07631f80f26e5fe5c3f5076e120ed0ed350e"
SPEC = Path(__file__).parents[2] / "docs" / "protocol" / "state-tree.md"


def test_vector_root_and_proofs(store: MerkleStore) -> None:
    root = store.commit(1, STATE)
    assert root.hex() == ROOT
    assert store.get_with_proof(b"bob")[1].encode().hex() == BOB_PROOF
    assert store.get_with_proof(b"dave")[1].encode().hex() == DAVE_PROOF
    assert verify_proof(root, b"bob", b"250", Proof.decode(bytes.fromhex(BOB_PROOF)))
    assert verify_proof(root, b"dave", None, Proof.decode(bytes.fromhex(DAVE_PROOF)))
    without_bob = store.commit(2, {b"bob": None})
    assert without_bob.hex() == ROOT_WITHOUT_BOB
    assert store.get_with_proof(b"bob")[1].encode().hex() == BOB_PROOF
    assert verify_proof(without_bob, b"bob", None, Proof.decode(bytes.fromhex(BOB_PROOF)))


def test_vector_is_the_one_documented() -> None:
    spec = "".join(SPEC.read_text().split())
    for value in (ROOT, BOB_PROOF, DAVE_PROOF, ROOT_WITHOUT_BOB):
        assert value in spec
