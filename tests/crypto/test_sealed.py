"""Sealed boxes and envelopes to X25519 keys; encryption keys derived from the account key."""

from __future__ import annotations

import hashlib
import hmac

import nacl.bindings
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nucypher_core import MessageKit
from nucypher_core.umbral import PublicKey as UmbralPublicKey

from voxpop.crypto import InvalidDerivationPath, InvalidKey, derive_private_key
from voxpop.crypto.encryption_keys import (
    derive_encryption_keys,
    is_secp256k1_public_key,
    is_x25519_public_key,
)
from voxpop.crypto.sealed import (
    ENVELOPE_OVERHEAD,
    SEALED_OVERHEAD,
    SealedBoxError,
    envelope_version,
    open_envelope,
    open_sealed,
    seal_envelope,
    seal_to,
)

SEED = bytes(range(32))
MNEMONIC = " ".join(["abandon"] * 23 + ["art"])


def test_seal_and_open() -> None:
    keys = derive_encryption_keys(SEED, 1)
    box = seal_to(keys.x25519_public, b"settings")
    assert len(box) == len(b"settings") + SEALED_OVERHEAD
    assert open_sealed(keys.x25519_secret, box) == b"settings"
    # Each box has its own ephemeral key
    assert seal_to(keys.x25519_public, b"settings") != box


@settings(max_examples=25)
@given(plaintext=st.binary(max_size=300), flip=st.integers(0, 10_000))
def test_invalid_tampered_box(plaintext: bytes, flip: int) -> None:
    keys = derive_encryption_keys(SEED, 1)
    box = bytearray(seal_to(keys.x25519_public, plaintext))
    box[flip % len(box)] ^= 0x01
    with pytest.raises(SealedBoxError):
        open_sealed(keys.x25519_secret, bytes(box))


def test_invalid_open_with_another_key() -> None:
    box = seal_to(derive_encryption_keys(SEED, 1).x25519_public, b"x")
    with pytest.raises(SealedBoxError):
        open_sealed(derive_encryption_keys(SEED, 2).x25519_secret, box)
    with pytest.raises(SealedBoxError):
        open_sealed(derive_encryption_keys(SEED, 1).x25519_secret, box[:47])
    with pytest.raises(InvalidKey):
        open_sealed(b"short", box)


@pytest.mark.parametrize("bad", [bytes(32), (1).to_bytes(32, "little"), b"\x09" * 31, b""])
def test_invalid_seal_to_bad_key(bad: bytes) -> None:
    with pytest.raises(InvalidKey):
        seal_to(bad, b"secret")


def test_envelope_names_its_version() -> None:
    secrets = {v: derive_encryption_keys(SEED, v) for v in (1, 2)}
    env = seal_envelope(2, secrets[2].x25519_public, b"data key")
    assert len(env) == len(b"data key") + ENVELOPE_OVERHEAD
    assert envelope_version(env) == 2
    assert open_envelope(lambda v: secrets[v].x25519_secret, env) == b"data key"
    # A version byte changed points at the wrong key: the box does not open
    forged = env[:8] + b"\x01" + env[9:]
    with pytest.raises(SealedBoxError):
        open_envelope(lambda v: secrets[v].x25519_secret, forged)
    for bad in (b"", b"\x02" + env[1:], env[:20]):
        with pytest.raises(SealedBoxError):
            envelope_version(bad)
    with pytest.raises(ValueError):
        seal_envelope(0, secrets[1].x25519_public, b"")


def test_derivation_is_deterministic_and_separate() -> None:
    a, b = derive_encryption_keys(SEED, 1), derive_encryption_keys(SEED, 1)
    assert a == b
    other_gen, other_seed = derive_encryption_keys(SEED, 2), derive_encryption_keys(SEED[::-1], 1)
    publics = {k.x25519_public for k in (a, other_gen, other_seed)}
    assert len(publics) == 3
    assert len({k.secp256k1_public for k in (a, other_gen, other_seed)}) == 3
    # Neither secret is the signing key's seed, nor each other
    assert len({a.x25519_secret, a.secp256k1_secret, SEED}) == 3
    assert is_x25519_public_key(a.x25519_public)
    assert a.x25519_public == nacl.bindings.crypto_scalarmult_base(a.x25519_secret)
    assert is_secp256k1_public_key(a.secp256k1_public)
    assert a.secp256k1_public == bytes(a.umbral_secret_key().public_key().to_compressed_bytes())
    assert a.x25519_secret.hex() not in repr(a) and a.secp256k1_secret.hex() not in repr(a)


def test_derivation_vector() -> None:
    """Pinned: a change here changes every account's encryption keys."""
    keys = derive_encryption_keys(derive_private_key(MNEMONIC).seed, 1)
    assert keys.x25519_public.hex() == (
        "060d5787e9a19a42134dba2ca25fd76f463043edc5188f9dd19d20aad0fb5a66"
    )
    assert keys.secp256k1_public.hex() == (
        "03b1d96add926169f0b8abf968febf8c27c12db88305d9fdb25a0aa7290265de1e"
    )


def test_derivation_follows_the_documented_path() -> None:
    """docs/protocol/keys-and-addresses.md, step by step, with nothing from voxpop.crypto."""

    def child(key: bytes, chain: bytes, index: int) -> tuple[bytes, bytes]:
        data = b"\x00" + key + (index | 0x80000000).to_bytes(4, "big")
        d = hmac.digest(chain, data, hashlib.sha512)
        return d[:32], d[32:]

    root = hmac.digest(b"voxpop encryption keys v1", SEED, hashlib.sha512)
    for purpose, field in ((1, "x25519_secret"), (2, "secp256k1_secret")):
        node = child(root[:32], root[32:], purpose)
        secret, _ = child(*node, 5)
        assert getattr(derive_encryption_keys(SEED, 5), field) == secret


def test_umbral_key_works_with_nucypher() -> None:
    keys = derive_encryption_keys(SEED, 3)
    public = UmbralPublicKey.from_compressed_bytes(keys.secp256k1_public)
    kit = MessageKit(public, b"consent", None)
    assert bytes(kit.decrypt(keys.umbral_secret_key())) == b"consent"


@pytest.mark.parametrize("generation", [-1, 1 << 31])
def test_invalid_generation(generation: int) -> None:
    with pytest.raises(InvalidDerivationPath):
        derive_encryption_keys(SEED, generation)


def test_invalid_seed() -> None:
    with pytest.raises(InvalidKey):
        derive_encryption_keys(SEED[:31], 1)


@settings(max_examples=200)
@given(raw=st.binary(min_size=0, max_size=40))
def test_key_checks_never_raise(raw: bytes) -> None:
    """Any bytes give a yes or a no (the chain parses untrusted keys with these)."""
    assert is_x25519_public_key(raw) in (True, False)
    assert is_secp256k1_public_key(raw) in (True, False)
    assert is_secp256k1_public_key(b"\x02" + raw[:32].rjust(32, b"\x00")) in (True, False)
