"""The cryptography of access grants (consent): kits, key fragments, access requests, answers.

Per grant the owner makes a fresh Umbral delegating key and a signing key (`new_grant_keys`),
re-encapsulates each granted object's data key under the delegating public key (a *grant kit*:
a nucypher-core MessageKit; the grant commits to `capsule_hash = sha256(capsule)` per object)
and splits a re-encryption key to the grantee's Umbral key into n key fragments, threshold m,
each sealed to one privacy node's X25519 directory key. The owner's own header key is never
shared: a grantee colluding with every node opens only the kits of the grant.

A grantee asks m nodes with ONE signed access request (it names no node, so the m answers share
its `request_id`); each node answers with its capsule fragment and a signed attestation; the
grantee verifies the fragments and opens the kit (`combine_and_open`).

Formats (canonical CBOR, Ed25519 by account keys) and test vectors: docs/protocol/consent.md.
Everything here is deterministic given its inputs except the key and nonce generators, so the
chain may call the `open_*` and `verify_*` functions.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cbor2
import nacl.utils
from nucypher_core import MessageKit
from nucypher_core.umbral import (
    Capsule,
    CapsuleFrag,
    KeyFrag,
    Signer,
    VerifiedCapsuleFrag,
    VerifiedKeyFrag,
    generate_kfrags,
)
from nucypher_core.umbral import PublicKey as UmbralPublicKey
from nucypher_core.umbral import SecretKey as UmbralSecretKey
from nucypher_core.umbral import reencrypt as _umbral_reencrypt

from voxpop.crypto import merkle
from voxpop.crypto.errors import CryptoError
from voxpop.crypto.keys import (
    ADDRESS_SIZE,
    PUBLIC_KEY_SIZE,
    SIGNATURE_SIZE,
    PrivateKey,
    address_from_pubkey,
    verify_signature,
)
from voxpop.crypto.sealed import SealedBoxError, open_sealed, seal_to

VERSION = 1
REQUEST_DOMAIN = b"voxpop/access-request/v1"
ANSWER_DOMAIN = b"voxpop/access-answer/v1"
ID_SIZE = 32
NONCE_SIZE = 16
SALT_SIZE = 32
HASH_SIZE = 32
UMBRAL_KEY_SIZE = 33
LEAF_SIZE = ID_SIZE + 2 * HASH_SIZE  # object_id || capsule_hash || content_hash
DATA_KEY_SIZE = 32
# Bounds keep a hostile blob from costing a parse: a request with a path of 40 hashes (a set of
# 2^40 objects) is under 2 KiB, an answer a few hundred bytes, a kit under 300 bytes
MAX_REQUEST_SIZE = 4096
MAX_ANSWER_SIZE = 1024
MAX_KIT_SIZE = 1024
MAX_CFRAG_SIZE = 1024
MAX_PATH = 40
_MAX_INT = (1 << 63) - 1

_REQUEST_FIELDS = frozenset({"v", "grant", "object", "nonce", "time", "pub", "sig"})
_PROOF_FIELDS = frozenset({"index", "capsule_hash", "content_hash", "path"})
_ANSWER_FIELDS = frozenset(
    {"v", "grant", "object", "request_id", "cfrag_hash", "node", "height", "pub", "sig"}
)


class ConsentCryptoError(CryptoError):
    """A grant artefact that does not parse or verify. `code`: bad_key, bad_kit, bad_kfrag,
    bad_cfrag, bad_request, bad_answer, bad_signature, bad_proof, wrong_node."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# --- grant keys, kits, key fragments ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GrantKeys:
    """The secrets of one grant: the delegating key (kits are encapsulated to its public key)
    and the key that signs the key fragments. Holds secrets: never log it; the owner may drop it
    once the fragments are out (a new fragment set needs it, so agents keep it with the grant)."""

    delegating_sk: UmbralSecretKey
    signing_sk: UmbralSecretKey

    @property
    def delegating_pk(self) -> bytes:
        return bytes(self.delegating_sk.public_key().to_compressed_bytes())

    @property
    def verifying_pk(self) -> bytes:
        return bytes(self.signing_sk.public_key().to_compressed_bytes())

    def to_bytes(self) -> bytes:
        """64 bytes (delegating || signing secret, big-endian scalars) for the owner's store."""
        return bytes(self.delegating_sk.to_be_bytes()) + bytes(self.signing_sk.to_be_bytes())

    @classmethod
    def from_bytes(cls, raw: bytes) -> GrantKeys:
        if len(raw) != 64:
            raise ConsentCryptoError("bad_key", "grant keys are 64 bytes")
        try:
            return cls(
                UmbralSecretKey.from_be_bytes(raw[:32]), UmbralSecretKey.from_be_bytes(raw[32:])
            )
        except (ValueError, TypeError):
            raise ConsentCryptoError("bad_key", "not two secp256k1 secret keys") from None

    def __repr__(self) -> str:
        return f"GrantKeys(delegating_pk={self.delegating_pk.hex()})"


def new_grant_keys() -> GrantKeys:
    """Fresh random keys for one grant."""
    return GrantKeys(UmbralSecretKey.random(), UmbralSecretKey.random())


def umbral_public(raw: bytes) -> UmbralPublicKey:
    """The Umbral public key of 33 SEC1-compressed bytes. Raises ConsentCryptoError(bad_key)."""
    try:
        key = UmbralPublicKey.from_compressed_bytes(bytes(raw))
    except (ValueError, TypeError):
        raise ConsentCryptoError("bad_key", "not a secp256k1 public key") from None
    # Verify the one canonical encoding (the chain stores these bytes)
    if len(raw) != UMBRAL_KEY_SIZE or bytes(key.to_compressed_bytes()) != bytes(raw):
        raise ConsentCryptoError("bad_key", "not a canonical 33-byte compressed key")
    return key


def make_kits(delegating_pk: bytes, data_keys: Sequence[bytes]) -> list[bytes]:
    """One grant kit (MessageKit bytes) per data key, encapsulated to the grant's key."""
    public = umbral_public(delegating_pk)
    out = []
    for key in data_keys:
        if len(key) != DATA_KEY_SIZE:
            raise ConsentCryptoError("bad_key", f"a data key is {DATA_KEY_SIZE} bytes")
        out.append(bytes(MessageKit(public, bytes(key), None)))
    return out


def parse_kit(kit: bytes) -> MessageKit:
    """The MessageKit in `kit`. Raises ConsentCryptoError(bad_kit)."""
    # Verify the size before parsing
    if len(kit) > MAX_KIT_SIZE:
        raise ConsentCryptoError("bad_kit", f"a kit is at most {MAX_KIT_SIZE} bytes")
    try:
        parsed = MessageKit.from_bytes(bytes(kit))
    except (ValueError, TypeError):
        raise ConsentCryptoError("bad_kit", "not a MessageKit") from None
    # Verify canonical bytes: the capsule hash must name one kit
    if bytes(parsed) != bytes(kit):
        raise ConsentCryptoError("bad_kit", "not a canonical MessageKit")
    return parsed


def capsule_hash(kit: bytes) -> bytes:
    """sha256 of the kit's capsule: what the grant commits to per object."""
    return hashlib.sha256(bytes(parse_kit(kit).capsule)).digest()


def new_salt() -> bytes:
    return nacl.utils.random(SALT_SIZE)


def content_hash(salt: bytes, plaintext: bytes) -> bytes:
    """sha256(salt32 || plaintext): the grant's commitment to what an object holds. The salt
    keeps a guessable plaintext (a short utterance) from being confirmed from the chain."""
    if len(salt) != SALT_SIZE:
        raise ConsentCryptoError("bad_key", f"a salt is {SALT_SIZE} bytes")
    h = hashlib.sha256(salt)
    h.update(plaintext)
    return h.digest()


def make_kfrags(keys: GrantKeys, receiving_pk: bytes, threshold: int, shares: int) -> list[bytes]:
    """n = `shares` key fragments (bytes) re-encrypting the grant's kits to `receiving_pk` (the
    grantee's Umbral key from the key directory), any `threshold` of which suffice. They sign the
    delegating and receiving keys, so a node can check a fragment belongs to this grant."""
    if not 1 <= threshold <= shares:
        raise ConsentCryptoError("bad_kfrag", "need 1 <= threshold <= shares")
    frags = _generate_kfrags(keys, umbral_public(receiving_pk), threshold, shares)
    return [bytes(f) for f in frags]


def _generate_kfrags(
    keys: GrantKeys, receiving: UmbralPublicKey, threshold: int, shares: int
) -> list[VerifiedKeyFrag]:
    return list(
        generate_kfrags(
            keys.delegating_sk, receiving, Signer(keys.signing_sk), threshold, shares, True, True
        )
    )


def seal_kfrag(node_x25519_pk: bytes, kfrag: bytes) -> bytes:
    """A key fragment sealed to one node's X25519 directory key (a plain sealed box: the node
    opens it with its current key; a node that rotates keys is re-sent its fragments)."""
    return seal_to(node_x25519_pk, kfrag)


def open_kfrag(
    node_x25519_sk: bytes,
    sealed: bytes,
    delegating_pk: bytes,
    receiving_pk: bytes,
    verifying_pk: bytes,
) -> VerifiedKeyFrag:
    """The node's fragment, opened and verified against the grant's keys (so an owner cannot
    hand a node a fragment of another grant). Raises ConsentCryptoError(bad_kfrag)."""
    try:
        raw = open_sealed(node_x25519_sk, sealed)
    except SealedBoxError:
        raise ConsentCryptoError("bad_kfrag", "the fragment does not open with this key") from None
    return verify_kfrag(raw, delegating_pk, receiving_pk, verifying_pk)


def verify_kfrag(
    raw: bytes, delegating_pk: bytes, receiving_pk: bytes, verifying_pk: bytes
) -> VerifiedKeyFrag:
    """A fragment checked against the grant's keys. Raises ConsentCryptoError(bad_kfrag)."""
    try:
        frag = KeyFrag.from_bytes(bytes(raw))
    except (ValueError, TypeError):
        raise ConsentCryptoError("bad_kfrag", "not a key fragment") from None
    keys = umbral_public(verifying_pk), umbral_public(delegating_pk), umbral_public(receiving_pk)
    try:
        return frag.verify(*keys)
    except Exception:  # nucypher-core raises ValueError or its VerificationError
        raise ConsentCryptoError("bad_kfrag", "the fragment is not the grant's") from None


def reencrypt(kit: bytes, kfrag: VerifiedKeyFrag) -> bytes:
    """The node's capsule fragment (VerifiedCapsuleFrag bytes) for a kit."""
    return reencrypt_capsule(parse_kit(kit).capsule, kfrag)


def reencrypt_capsule(capsule: Capsule, kfrag: VerifiedKeyFrag) -> bytes:
    """The same for a capsule already parsed (a node parses each kit once)."""
    return bytes(_umbral_reencrypt(capsule, kfrag))


def combine_and_open(
    grantee_umbral_sk: UmbralSecretKey,
    kit: bytes,
    cfrags: Sequence[bytes],
    delegating_pk: bytes,
    verifying_pk: bytes,
) -> bytes:
    """The data key in a kit, from `threshold` capsule fragments of distinct nodes. Each
    fragment is verified against the capsule and the grant's keys first, so a bad node is
    named by its fragment, not discovered by a failed decryption.
    Raises ConsentCryptoError(bad_cfrag, bad_kit)."""
    message = parse_kit(kit)
    delegating = umbral_public(delegating_pk)
    verifying = umbral_public(verifying_pk)
    receiving = grantee_umbral_sk.public_key()
    verified = [verify_cfrag(c, message.capsule, verifying, delegating, receiving) for c in cfrags]
    try:
        key = bytes(message.decrypt_reencrypted(grantee_umbral_sk, delegating, verified))
    except (ValueError, TypeError, RuntimeError):
        raise ConsentCryptoError(
            "bad_cfrag", "the fragments do not open the kit (too few, or repeated)"
        ) from None
    if len(key) != DATA_KEY_SIZE:
        raise ConsentCryptoError("bad_kit", "the kit does not hold a data key")
    return key


def verify_cfrag(
    raw: bytes,
    capsule: Capsule,
    verifying: UmbralPublicKey,
    delegating: UmbralPublicKey,
    receiving: UmbralPublicKey,
) -> VerifiedCapsuleFrag:
    """A capsule fragment checked against its capsule and the grant's keys."""
    if len(raw) > MAX_CFRAG_SIZE:
        raise ConsentCryptoError("bad_cfrag", f"a fragment is at most {MAX_CFRAG_SIZE} bytes")
    try:
        return CapsuleFrag.from_bytes(bytes(raw)).verify(capsule, verifying, delegating, receiving)
    except Exception:  # nucypher-core raises ValueError or VerificationError
        raise ConsentCryptoError("bad_cfrag", "a fragment does not verify") from None


# --- committed object sets -------------------------------------------------------------------


def object_leaf(object_id: bytes, capsule_hash_: bytes, content_hash_: bytes) -> bytes:
    """The 96-byte leaf of one object in a committed set."""
    if (
        len(object_id) != ID_SIZE
        or len(capsule_hash_) != HASH_SIZE
        or len(content_hash_) != HASH_SIZE
    ):
        raise ConsentCryptoError("bad_proof", "a leaf is three 32-byte values")
    return bytes(object_id) + bytes(capsule_hash_) + bytes(content_hash_)


def sorted_leaves(entries: Sequence[tuple[bytes, bytes, bytes]]) -> list[bytes]:
    """The leaves of a set, sorted by object id; repeated ids are refused."""
    leaves = sorted(object_leaf(*e) for e in entries)
    for a, b in itertools.pairwise(leaves):
        if a[:ID_SIZE] == b[:ID_SIZE]:
            raise ConsentCryptoError("bad_proof", "an object is listed twice")
    return leaves


def objects_root(entries: Sequence[tuple[bytes, bytes, bytes]]) -> tuple[bytes, int]:
    """(root, count): the RFC 6962 root over the sorted 96-byte leaves (voxpop.crypto.merkle,
    leaf_size 96 over their concatenation: one leaf per object)."""
    if not entries:
        raise ConsentCryptoError("bad_proof", "an object set is not empty")
    leaves = sorted_leaves(entries)
    return merkle.merkle_root(b"".join(leaves), LEAF_SIZE), len(leaves)


def objects_proof(entries: Sequence[tuple[bytes, bytes, bytes]], object_id: bytes) -> ObjectProof:
    """The proof that `object_id` is in the set, for an access request."""
    leaves = sorted_leaves(entries)
    for index, leaf in enumerate(leaves):
        if leaf[:ID_SIZE] == object_id:
            path = merkle.merkle_path(b"".join(leaves), LEAF_SIZE, index)
            return ObjectProof(
                index, leaf[ID_SIZE : ID_SIZE + HASH_SIZE], leaf[ID_SIZE + HASH_SIZE :], tuple(path)
            )
    raise ConsentCryptoError("bad_proof", "the object is not in the set")


@dataclass(frozen=True, slots=True)
class ObjectProof:
    """Where an object sits in a committed set, with its commitments and audit path."""

    index: int
    capsule_hash: bytes
    content_hash: bytes
    path: tuple[bytes, ...]

    def verify(self, root: bytes, count: int, object_id: bytes) -> bool:
        """True if the object's leaf is leaf `index` of the `count`-leaf set; never raises."""
        if len(object_id) != ID_SIZE or len(self.capsule_hash) != HASH_SIZE:
            return False
        if len(self.content_hash) != HASH_SIZE:
            return False
        leaf = bytes(object_id) + self.capsule_hash + self.content_hash
        return merkle.verify_path(root, leaf, self.index, count, list(self.path))


# --- access requests ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """A grantee's signed request for one object of a grant. `proof` is present when the grant
    commits to its objects by root. `request_id` is shared by the m nodes asked."""

    grant: bytes
    object: bytes
    nonce: bytes
    time: int
    pub: bytes
    proof: ObjectProof | None
    request_id: bytes

    @property
    def grantee(self) -> bytes:
        """The signer's 20-byte account address."""
        return address_from_pubkey(self.pub)


def _request_body(
    grant: bytes, object_id: bytes, nonce: bytes, time: int, pub: bytes, proof: ObjectProof | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "v": VERSION,
        "grant": bytes(grant),
        "object": bytes(object_id),
        "nonce": bytes(nonce),
        "time": time,
        "pub": bytes(pub),
    }
    if proof is not None:
        body["proof"] = {
            "index": proof.index,
            "capsule_hash": proof.capsule_hash,
            "content_hash": proof.content_hash,
            "path": list(proof.path),
        }
    return body


def _signed(domain: bytes, body: dict[str, Any]) -> bytes:
    return domain + cbor2.dumps(body, canonical=True)


def sign_access_request(
    key: PrivateKey,
    grant: bytes,
    object_id: bytes,
    nonce: bytes,
    time: int,
    proof: ObjectProof | None = None,
) -> bytes:
    """The signed request (canonical CBOR). It names no node: the grantee sends the same bytes
    to each of the m nodes it asks, so their answers share one request_id."""
    _check_size(grant, ID_SIZE, "grant", "bad_request")
    _check_size(object_id, ID_SIZE, "object", "bad_request")
    _check_size(nonce, NONCE_SIZE, "nonce", "bad_request")
    if not 0 <= time <= _MAX_INT:
        raise ConsentCryptoError("bad_request", "time is unix seconds")
    body = _request_body(grant, object_id, nonce, time, key.public_key.raw, proof)
    body["sig"] = key.sign(_signed(REQUEST_DOMAIN, body))
    return cbor2.dumps(body, canonical=True)


def new_nonce() -> bytes:
    return nacl.utils.random(NONCE_SIZE)


def open_access_request(blob: bytes) -> tuple[AccessRequest, bytes]:
    """(the request, the signer's 32-byte public key), its signature verified.
    Raises ConsentCryptoError(bad_request, bad_signature)."""
    doc = _load(blob, MAX_REQUEST_SIZE, "bad_request")
    # Verify the shape: the known fields (proof optional), each of its type and size
    keys = set(doc)
    if keys - {"proof"} != _REQUEST_FIELDS:
        raise ConsentCryptoError("bad_request", f"a request is a map of {sorted(_REQUEST_FIELDS)}")
    if doc["v"] != VERSION:
        raise ConsentCryptoError("bad_request", f"request version {doc['v']!r} is not known")
    for name, size in (("grant", ID_SIZE), ("object", ID_SIZE), ("nonce", NONCE_SIZE)):
        _check_size(doc[name], size, name, "bad_request")
    _check_size(doc["pub"], PUBLIC_KEY_SIZE, "pub", "bad_request")
    _check_size(doc["sig"], SIGNATURE_SIZE, "sig", "bad_request")
    _check_int(doc["time"], "time", "bad_request")
    proof = _parse_proof(doc["proof"]) if "proof" in doc else None
    # Verify the canonical encoding: one request, one request_id
    if cbor2.dumps(doc, canonical=True) != bytes(blob):
        raise ConsentCryptoError("bad_request", "the request is not in canonical CBOR")
    sig = doc.pop("sig")
    signed = _signed(REQUEST_DOMAIN, doc)
    # Verify the grantee's signature over everything else
    if not verify_signature(doc["pub"], signed, sig):
        raise ConsentCryptoError("bad_signature", "the request's signature does not verify")
    request = AccessRequest(
        grant=doc["grant"],
        object=doc["object"],
        nonce=doc["nonce"],
        time=doc["time"],
        pub=doc["pub"],
        proof=proof,
        request_id=hashlib.sha256(signed).digest(),
    )
    return request, doc["pub"]


def request_id(blob: bytes) -> bytes:
    """sha256 of the bytes the request's signature covers (domain + CBOR without `sig`): a
    re-encoded or re-signed copy of one request keeps its id. Raises like open_access_request."""
    return open_access_request(blob)[0].request_id


def _parse_proof(raw: Any) -> ObjectProof:
    # Verify the proof's shape
    if not isinstance(raw, dict) or set(raw) != _PROOF_FIELDS:
        raise ConsentCryptoError("bad_request", f"a proof is a map of {sorted(_PROOF_FIELDS)}")
    _check_int(raw["index"], "index", "bad_request")
    _check_size(raw["capsule_hash"], HASH_SIZE, "capsule_hash", "bad_request")
    _check_size(raw["content_hash"], HASH_SIZE, "content_hash", "bad_request")
    path = raw["path"]
    if not isinstance(path, list) or len(path) > MAX_PATH:
        raise ConsentCryptoError("bad_request", f"a path is a list of at most {MAX_PATH} hashes")
    for p in path:
        _check_size(p, HASH_SIZE, "path", "bad_request")
    return ObjectProof(raw["index"], raw["capsule_hash"], raw["content_hash"], tuple(path))


# --- answers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """A node's signed attestation that it re-encrypted `object` of `grant` for a request, at
    chain height `height` (the height of the state it checked the grant against)."""

    grant: bytes
    object: bytes
    request_id: bytes
    cfrag_hash: bytes
    node: bytes
    height: int
    pub: bytes


def sign_answer(
    key: PrivateKey,
    grant: bytes,
    object_id: bytes,
    request_id_: bytes,
    cfrag: bytes,
    height: int,
) -> bytes:
    """The node's attestation (canonical CBOR) for the capsule fragment `cfrag`."""
    _check_size(request_id_, HASH_SIZE, "request_id", "bad_answer")
    if not 0 <= height <= _MAX_INT:
        raise ConsentCryptoError("bad_answer", "a height is a non-negative integer")
    body: dict[str, Any] = {
        "v": VERSION,
        "grant": bytes(grant),
        "object": bytes(object_id),
        "request_id": bytes(request_id_),
        "cfrag_hash": hashlib.sha256(cfrag).digest(),
        "node": key.public_key.address,
        "height": height,
        "pub": key.public_key.raw,
    }
    body["sig"] = key.sign(_signed(ANSWER_DOMAIN, body))
    return cbor2.dumps(body, canonical=True)


def open_answer(blob: bytes) -> Answer:
    """The attestation, its signature by its own `pub` (whose address is `node`) verified.
    Raises ConsentCryptoError(bad_answer, bad_signature)."""
    doc = _load(blob, MAX_ANSWER_SIZE, "bad_answer")
    # Verify the shape: exactly the known fields, each of its type and size
    if set(doc) != _ANSWER_FIELDS:
        raise ConsentCryptoError("bad_answer", f"an answer is a map of {sorted(_ANSWER_FIELDS)}")
    if doc["v"] != VERSION:
        raise ConsentCryptoError("bad_answer", f"answer version {doc['v']!r} is not known")
    for name in ("grant", "object", "request_id", "cfrag_hash"):
        _check_size(doc[name], ID_SIZE, name, "bad_answer")
    _check_size(doc["node"], ADDRESS_SIZE, "node", "bad_answer")
    _check_size(doc["pub"], PUBLIC_KEY_SIZE, "pub", "bad_answer")
    _check_size(doc["sig"], SIGNATURE_SIZE, "sig", "bad_answer")
    _check_int(doc["height"], "height", "bad_answer")
    # Verify the canonical encoding (one answer, one set of bytes to record)
    if cbor2.dumps(doc, canonical=True) != bytes(blob):
        raise ConsentCryptoError("bad_answer", "the answer is not in canonical CBOR")
    # Verify the node field names the signing key
    if address_from_pubkey(doc["pub"]) != doc["node"]:
        raise ConsentCryptoError("wrong_node", "the answer's node is not its signer")
    sig = doc.pop("sig")
    # Verify the node's signature over everything else
    if not verify_signature(doc["pub"], _signed(ANSWER_DOMAIN, doc), sig):
        raise ConsentCryptoError("bad_signature", "the answer's signature does not verify")
    return Answer(
        doc["grant"],
        doc["object"],
        doc["request_id"],
        doc["cfrag_hash"],
        doc["node"],
        doc["height"],
        doc["pub"],
    )


def verify_answer(blob: bytes, node_pubkey: bytes | None = None) -> Answer:
    """open_answer, and (given) that the signer is `node_pubkey`. Raises ConsentCryptoError."""
    answer = open_answer(blob)
    # Verify the expected node signed it
    if node_pubkey is not None and bytes(node_pubkey) != answer.pub:
        raise ConsentCryptoError("wrong_node", "the answer is signed by another node")
    return answer


# --- helpers --------------------------------------------------------------------------------


def _load(blob: bytes, limit: int, code: str) -> dict[Any, Any]:
    # Verify the size before parsing
    if not isinstance(blob, bytes | bytearray) or len(blob) > limit:
        raise ConsentCryptoError(code, f"at most {limit} bytes")
    try:
        doc = cbor2.loads(bytes(blob))
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError, EOFError):
        raise ConsentCryptoError(code, "not CBOR") from None
    if not isinstance(doc, dict) or not all(isinstance(k, str) for k in doc):
        raise ConsentCryptoError(code, "not a CBOR map with text keys")
    return doc


def _check_size(value: Any, size: int, name: str, code: str) -> None:
    if type(value) is not bytes or len(value) != size:
        raise ConsentCryptoError(code, f"{name} is {size} bytes")


def _check_int(value: Any, name: str, code: str) -> None:
    if type(value) is not int or not 0 <= value <= _MAX_INT:
        raise ConsentCryptoError(code, f"{name} is a non-negative integer below 2^63")
