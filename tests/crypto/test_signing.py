from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.crypto import (
    ADDRESS_SIZE,
    InvalidKey,
    PrivateKey,
    PublicKey,
    address_from_pubkey,
    verify_signature,
)

from .vectors import RFC8032

SEED = bytes(range(32))
KEY = PrivateKey(SEED)
MSG = b"turn on the kitchen lights"
SIG = KEY.sign(MSG)
PUB = KEY.public_key.raw


@pytest.mark.parametrize(("seed", "pub", "msg", "sig"), RFC8032)
def test_rfc8032_vectors(seed: str, pub: str, msg: str, sig: str) -> None:
    key = PrivateKey(bytes.fromhex(seed))
    assert key.public_key.raw.hex() == pub
    assert key.sign(bytes.fromhex(msg)).hex() == sig
    assert verify_signature(bytes.fromhex(pub), bytes.fromhex(msg), bytes.fromhex(sig))


def test_sign_verify() -> None:
    assert len(SIG) == 64
    assert KEY.public_key.verify(MSG, SIG)
    assert verify_signature(PUB, MSG, SIG)
    assert KEY.seed == SEED


def test_invalid_flipped_signature_bit() -> None:
    for i in (0, 31, 32, 63):
        bad = bytearray(SIG)
        bad[i] ^= 0x01
        assert not verify_signature(PUB, MSG, bytes(bad))


def test_invalid_wrong_message() -> None:
    assert not verify_signature(PUB, MSG + b"!", SIG)


def test_invalid_wrong_key() -> None:
    other = PrivateKey(bytes(32)).public_key
    assert not other.verify(MSG, SIG)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_invalid_public_key_length_is_false_not_error(size: int) -> None:
    assert not verify_signature(PUB[:size].ljust(size, b"\x00"), MSG, SIG)


@pytest.mark.parametrize("size", [0, 63, 65, 128])
def test_invalid_signature_length_is_false_not_error(size: int) -> None:
    assert not verify_signature(PUB, MSG, (SIG * 2)[:size])


def test_invalid_small_order_public_key() -> None:
    # The identity point: any "signature" under it would be trivial, so libsodium refuses it.
    identity = bytes([1]) + bytes(31)
    assert not verify_signature(identity, MSG, SIG)


def test_address_is_sha256_prefix() -> None:
    assert address_from_pubkey(PUB) == hashlib.sha256(PUB).digest()[:20]
    assert KEY.public_key.address == address_from_pubkey(PUB)
    assert len(KEY.public_key.address) == ADDRESS_SIZE
    # Pinned: a change here changes every account on the chain.
    rfc_pub = bytes.fromhex(RFC8032[0][1])
    assert address_from_pubkey(rfc_pub).hex() == "21fe31dfa154a261626bf854046fd2271b7bed4b"


@pytest.mark.parametrize("size", [0, 20, 31, 33])
def test_invalid_key_sizes(size: int) -> None:
    with pytest.raises(InvalidKey):
        PrivateKey(bytes(size))
    with pytest.raises(InvalidKey):
        PublicKey(bytes(size))
    with pytest.raises(InvalidKey):
        address_from_pubkey(bytes(size))


def test_repr_hides_seed() -> None:
    assert SEED.hex() not in repr(KEY)
    assert PUB.hex() in repr(KEY)


def test_generate_gives_distinct_keys() -> None:
    assert PrivateKey.generate().seed != PrivateKey.generate().seed


@given(st.binary(max_size=512))
def test_any_message_round_trips(msg: bytes) -> None:
    assert verify_signature(PUB, msg, KEY.sign(msg))


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=511))
def test_any_single_bit_flip_fails(msg: bytes, bit: int) -> None:
    sig = bytearray(KEY.sign(msg))
    sig[bit // 8] ^= 1 << (bit % 8)
    assert not verify_signature(PUB, msg, bytes(sig))
