"""Grant crypto: a 2-of-3 round trip from kits to a grantee's data key, and every artefact
(kfrag, cfrag, request, answer, object proof) refused when it is another grant's, forged or
malformed."""

from __future__ import annotations

import hashlib

import cbor2
import pytest
from nucypher_core.umbral import SecretKey as UmbralSecretKey

from voxpop.crypto import consent
from voxpop.crypto.consent import ConsentCryptoError
from voxpop.crypto.encryption_keys import derive_encryption_keys
from voxpop.crypto.keys import PrivateKey

GRANT = bytes([7]) * 32
OBJ = bytes([9]) * 32
NONCE = bytes(range(16))
DATA_KEY = bytes(range(32))


def _x25519(n: int) -> tuple[bytes, bytes]:
    keys = derive_encryption_keys(bytes([n]) * 32, 0)
    return keys.x25519_secret, keys.x25519_public


@pytest.fixture(scope="module")
def world() -> dict[str, object]:
    grantee_keys = derive_encryption_keys(bytes([1]) * 32, 0)
    grantee_sk = grantee_keys.umbral_secret_key()
    grantee_pk = bytes(grantee_sk.public_key().to_compressed_bytes())
    keys = consent.new_grant_keys()
    kits = consent.make_kits(keys.delegating_pk, [DATA_KEY])
    kfrags = consent.make_kfrags(keys, grantee_pk, 2, 3)
    return {"sk": grantee_sk, "pk": grantee_pk, "keys": keys, "kit": kits[0], "kfrags": kfrags}


def _verified(world: dict[str, object], i: int) -> object:
    keys = world["keys"]
    assert isinstance(keys, consent.GrantKeys)
    secret, public = _x25519(10 + i)
    kfrags = world["kfrags"]
    assert isinstance(kfrags, list)
    sealed = consent.seal_kfrag(public, kfrags[i])
    return consent.open_kfrag(secret, sealed, keys.delegating_pk, world["pk"], keys.verifying_pk)  # type: ignore[arg-type]


def test_two_of_three_round_trip(world: dict[str, object]) -> None:
    keys = world["keys"]
    assert isinstance(keys, consent.GrantKeys)
    kit = world["kit"]
    assert isinstance(kit, bytes)
    cfrags = [consent.reencrypt(kit, _verified(world, i)) for i in (0, 2)]  # type: ignore[arg-type]
    key = consent.combine_and_open(world["sk"], kit, cfrags, keys.delegating_pk, keys.verifying_pk)  # type: ignore[arg-type]
    assert key == DATA_KEY
    # One fragment is not enough, nor the same one twice
    with pytest.raises(ConsentCryptoError):
        consent.combine_and_open(
            world["sk"], kit, cfrags[:1], keys.delegating_pk, keys.verifying_pk
        )  # type: ignore[arg-type]
    # Another grantee's key cannot open it: the fragments do not verify for its key
    other = UmbralSecretKey.random()
    with pytest.raises(ConsentCryptoError) as err:
        consent.combine_and_open(other, kit, cfrags, keys.delegating_pk, keys.verifying_pk)
    assert err.value.code == "bad_cfrag"


def test_capsule_hash_and_kits(world: dict[str, object]) -> None:
    kit = world["kit"]
    assert isinstance(kit, bytes)
    assert len(consent.capsule_hash(kit)) == 32
    with pytest.raises(ConsentCryptoError) as err:
        consent.capsule_hash(kit + b"\x00")
    assert err.value.code == "bad_kit"
    with pytest.raises(ConsentCryptoError):
        consent.make_kits(b"\x02" + bytes(32), [DATA_KEY])
    with pytest.raises(ConsentCryptoError):
        consent.make_kits(world["keys"].delegating_pk, [b"short"])  # type: ignore[attr-defined]


def test_kfrag_of_another_grant_or_key_refused(world: dict[str, object]) -> None:
    keys = world["keys"]
    assert isinstance(keys, consent.GrantKeys)
    other = consent.new_grant_keys()
    secret, public = _x25519(10)
    kfrags = world["kfrags"]
    assert isinstance(kfrags, list)
    sealed = consent.seal_kfrag(public, kfrags[0])
    with pytest.raises(ConsentCryptoError) as err:
        consent.open_kfrag(secret, sealed, other.delegating_pk, world["pk"], keys.verifying_pk)  # type: ignore[arg-type]
    assert err.value.code == "bad_kfrag"
    wrong_secret, _ = _x25519(11)
    with pytest.raises(ConsentCryptoError):
        consent.open_kfrag(wrong_secret, sealed, keys.delegating_pk, world["pk"], keys.verifying_pk)  # type: ignore[arg-type]
    assert consent.GrantKeys.from_bytes(keys.to_bytes()).delegating_pk == keys.delegating_pk


def test_request_round_trip_and_shared_id() -> None:
    key = PrivateKey(bytes([3]) * 32)
    blob = consent.sign_access_request(key, GRANT, OBJ, NONCE, 1_700_000_000)
    req, pub = consent.open_access_request(blob)
    assert pub == key.public_key.raw and req.grantee == key.public_key.address
    assert (req.grant, req.object, req.nonce, req.time, req.proof) == (
        GRANT,
        OBJ,
        NONCE,
        1_700_000_000,
        None,
    )
    assert consent.request_id(blob) == req.request_id
    # The id is the hash of what the signature covers
    body = cbor2.loads(blob)
    del body["sig"]
    signed = consent.REQUEST_DOMAIN + cbor2.dumps(body, canonical=True)
    assert req.request_id == hashlib.sha256(signed).digest()


@pytest.mark.parametrize(
    "change",
    [
        {"object": bytes(32)},
        {"grant": bytes(32)},
        {"time": 1},
        {"pub": PrivateKey(bytes([4]) * 32).public_key.raw},
    ],
)
def test_request_changed_after_signing_refused(change: dict[str, object]) -> None:
    blob = consent.sign_access_request(PrivateKey(bytes([3]) * 32), GRANT, OBJ, NONCE, 5)
    doc = cbor2.loads(blob)
    doc.update(change)
    with pytest.raises(ConsentCryptoError) as err:
        consent.open_access_request(cbor2.dumps(doc, canonical=True))
    assert err.value.code == "bad_signature"


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\xff",
        cbor2.dumps([1, 2]),
        cbor2.dumps({"v": 1}),
        b"\x00" * (consent.MAX_REQUEST_SIZE + 1),
    ],
)
def test_malformed_request_refused(blob: bytes) -> None:
    with pytest.raises(ConsentCryptoError) as err:
        consent.open_access_request(blob)
    assert err.value.code == "bad_request"


def test_non_canonical_request_refused() -> None:
    blob = consent.sign_access_request(PrivateKey(bytes([3]) * 32), GRANT, OBJ, NONCE, 5)
    doc = cbor2.loads(blob)
    with pytest.raises(ConsentCryptoError) as err:
        consent.open_access_request(cbor2.dumps(dict(reversed(list(doc.items())))))
    assert err.value.code == "bad_request"


def test_answer_round_trip_and_forgery() -> None:
    node = PrivateKey(bytes([5]) * 32)
    rid = bytes([1]) * 32
    blob = consent.sign_answer(node, GRANT, OBJ, rid, b"cfrag", 42)
    ans = consent.verify_answer(blob, node.public_key.raw)
    assert ans.node == node.public_key.address and ans.height == 42
    assert ans.cfrag_hash == hashlib.sha256(b"cfrag").digest()
    with pytest.raises(ConsentCryptoError) as err:
        consent.verify_answer(blob, PrivateKey(bytes([6]) * 32).public_key.raw)
    assert err.value.code == "wrong_node"
    doc = cbor2.loads(blob)
    doc["height"] = 41
    with pytest.raises(ConsentCryptoError) as err:
        consent.open_answer(cbor2.dumps(doc, canonical=True))
    assert err.value.code == "bad_signature"


def test_object_set_proofs() -> None:
    entries = [(bytes([i]) * 32, bytes([i + 1]) * 32, bytes([i + 2]) * 32) for i in range(1, 6)]
    root, count = consent.objects_root(list(reversed(entries)))
    assert count == 5
    for oid, ch, _ in entries:
        proof = consent.objects_proof(entries, oid)
        assert proof.capsule_hash == ch and proof.verify(root, count, oid)
        assert not proof.verify(root, count, bytes(32))
        # A proof rides in a signed request and comes back out whole
        blob = consent.sign_access_request(PrivateKey(bytes([3]) * 32), GRANT, oid, NONCE, 5, proof)
        assert consent.open_access_request(blob)[0].proof == proof
    with pytest.raises(ConsentCryptoError):
        consent.objects_root([*entries, entries[0]])
    with pytest.raises(ConsentCryptoError):
        consent.objects_proof(entries, bytes(32))


def test_content_hash() -> None:
    salt = bytes(32)
    assert consent.content_hash(salt, b"hi") == hashlib.sha256(salt + b"hi").digest()
    with pytest.raises(ConsentCryptoError):
        consent.content_hash(b"short", b"hi")


# The vectors of docs/protocol/consent.md (Ed25519 and CBOR are deterministic; Umbral is not)
VECTOR_REQUEST = (
    "a76176016370756258208a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c6373"
    "6967584036a005f35b87599682bd7d6fc3bba029c59d32b1ed8c00d9c10122ab6b36ee0be76f07153ce7d852"
    "462e34307df30b3a80e63af41d95be029e4fa74a6fcd260d6474696d651a6955b900656772616e7458201111"
    "111111111111111111111111111111111111111111111111111111111111656e6f6e636550000102030405060708"
    "090a0b0c0d0e0f666f626a65637458202222222222222222222222222222222222222222222222222222222222"
    "222222"
)
VECTOR_REQUEST_ID = "29ef2d1b2fcd5abbc592b40e3079b73b6ca03169bb1b7ba00d09bebd84a1a48d"
VECTOR_ANSWER = (
    "a96176016370756258208139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b3946373"
    "6967584027d96da28a93efc14c2bca6fe441de65632732c181c8c8304cd1f5439646459c7c5ddb3fcea775b6"
    "e9bdd8147859d9702d6de08dcc477dfe6203e18e4c5e610e646e6f6465546a3803d5f059902a1c6dafbc9ba4"
    "729212f7caac656772616e74582011111111111111111111111111111111111111111111111111111111111111"
    "11666865696768741904d2666f626a6563745820222222222222222222222222222222222222222222222222"
    "22222222222222226a63667261675f6861736858207bb1ae2c3dc7c2303da21310d3bce7ccd3a3721ade788a"
    "d0012510ec00214acb6a726571756573745f6964582029ef2d1b2fcd5abbc592b40e3079b73b6ca03169bb1b"
    "7ba00d09bebd84a1a48d"
)
VECTOR_ROOT = "e31487707d39853d6f49b8f990c6ae39089bf498eaeae79ef76d8d9616416e74"
VECTOR_PATH = [
    "c12ee06f692ba1cd31060ef3b9522a0bef1f8ef771617627973f8d99f352de1d",
    "9bd64ba5b688291243def902b40e8066ec5ad38f215b4eb41bc18b30bb0c1a91",
]


def test_vectors() -> None:
    grantee, node = PrivateKey(bytes([1]) * 32), PrivateKey(bytes([2]) * 32)
    grant, obj = bytes([0x11]) * 32, bytes([0x22]) * 32
    request = consent.sign_access_request(grantee, grant, obj, bytes(range(16)), 1767225600)
    assert request.hex() == VECTOR_REQUEST
    assert consent.request_id(request).hex() == VECTOR_REQUEST_ID
    answer = consent.sign_answer(node, grant, obj, bytes.fromhex(VECTOR_REQUEST_ID), b"cfrag", 1234)
    assert answer.hex() == VECTOR_ANSWER
    entries = [(bytes([i]) * 32, bytes([0x40 + i]) * 32, bytes([0x80 + i]) * 32) for i in (3, 1, 2)]
    assert consent.objects_root(entries) == (bytes.fromhex(VECTOR_ROOT), 3)
    proof = consent.objects_proof(entries, bytes([2]) * 32)
    assert (proof.index, [p.hex() for p in proof.path]) == (1, VECTOR_PATH)
    assert consent.content_hash(bytes(32), b"hello").hex() == (
        "a41de667c15557cbd8acdd71ef0fef5dc73561374baed8330f8adb0e1424cd62"
    )
