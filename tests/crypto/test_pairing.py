"""crypto/pairing.py: the pairing id is sha256(domain ‖ salt ‖ code), recomputed here by hand;
codes are 6 characters of A-Z0-9; bad input is refused."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.crypto.pairing import (
    CODE_ALPHABET,
    PAIRING_DOMAIN,
    is_code,
    new_code,
    new_salt,
    normalize_code,
    pairing_id,
)

CODES = st.text(alphabet=CODE_ALPHABET, min_size=6, max_size=6)
SALTS = st.binary(min_size=16, max_size=16)


def test_vector() -> None:
    salt = bytes(range(16))
    expected = hashlib.sha256(b"voxpop/pairing/v1\x00" + salt + b"K7Q2ZP").digest()
    assert PAIRING_DOMAIN == b"voxpop/pairing/v1\x00"
    assert pairing_id(salt, "K7Q2ZP") == expected
    assert len(expected) == 32


@given(salt=SALTS, code=CODES, other=CODES)
def test_id_binds_salt_and_code(salt: bytes, code: str, other: str) -> None:
    assert pairing_id(salt, code) == pairing_id(salt, code)
    assert (pairing_id(salt, other) == pairing_id(salt, code)) == (other == code)
    flipped = bytes([salt[0] ^ 1]) + salt[1:]
    assert pairing_id(flipped, code) != pairing_id(salt, code)


def test_new_code_and_salt() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(is_code(c) for c in codes)
    assert len(codes) > 190  # random, not a constant
    salts = {new_salt() for _ in range(50)}
    assert len(salts) == 50 and all(len(s) == 16 for s in salts)


@pytest.mark.parametrize(
    ("typed", "code"), [("k7q2zp", "K7Q2ZP"), ("K7Q 2ZP", "K7Q2ZP"), ("k7q-2zp", "K7Q2ZP")]
)
def test_normalize_code(typed: str, code: str) -> None:
    assert normalize_code(typed) == code


@pytest.mark.parametrize("bad", ["", "K7Q2Z", "K7Q2ZPX", "K7Q2Z!", "K7Q2ZÉ", "k7q2zp", "K7Q 2ZP"])
def test_invalid_code(bad: str) -> None:
    assert not is_code(bad)
    with pytest.raises(ValueError, match="pairing code"):
        pairing_id(bytes(16), bad)


@pytest.mark.parametrize("bad", ["", "K7Q2Z", "K7Q2ZPX", "K7Q2Z!", "ÉÉÉÉÉÉ"])
def test_invalid_typed_code(bad: str) -> None:
    with pytest.raises(ValueError, match="pairing code"):
        normalize_code(bad)


@pytest.mark.parametrize("salt", [b"", bytes(15), bytes(17)])
def test_invalid_salt(salt: bytes) -> None:
    with pytest.raises(ValueError, match="salt"):
        pairing_id(salt, "K7Q2ZP")
