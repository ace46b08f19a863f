from __future__ import annotations

import pytest
from bech32 import CHARSET, bech32_decode, bech32_encode, convertbits
from hypothesis import given
from hypothesis import strategies as st

from voxpop.crypto import (
    ACCOUNT_HRP,
    VALCONS_HRP,
    VALOPER_HRP,
    AddressError,
    decode_address,
    decode_bech32,
    encode_address,
    is_address,
)

from .vectors import BIP173_INVALID, BIP173_VALID

# 20 bytes -> bech32, checked against an independent encoder (bip-utils).
RAW = bytes.fromhex("21fe31dfa154a261626bf854046fd2271b7bed4b")
TEXT = "vox1y8lrrhap2j3xzcntlp2qgm7jyudhhm2t4psvqc"


def five_bit(raw: bytes) -> list[int]:
    groups = convertbits(raw, 8, 5)
    assert groups is not None
    return groups


def code_of(s: str, hrp: str = ACCOUNT_HRP) -> str:
    with pytest.raises(AddressError) as info:
        decode_address(s, hrp)
    return info.value.code


def test_prefixes() -> None:
    assert (ACCOUNT_HRP, VALOPER_HRP, VALCONS_HRP) == ("vox", "voxvaloper", "voxvalcons")


def test_known_address() -> None:
    assert encode_address(RAW) == TEXT
    assert decode_address(TEXT) == RAW
    assert encode_address(bytes(20)) == "vox1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq7u89mu"


def test_uppercase_is_the_same_address() -> None:
    assert decode_address(TEXT.upper()) == RAW


def test_operator_prefix_round_trip() -> None:
    text = encode_address(RAW, VALOPER_HRP)
    assert text.startswith("voxvaloper1")
    assert decode_address(text, VALOPER_HRP) == RAW


@pytest.mark.parametrize("s", BIP173_VALID)
def test_bip173_valid(s: str) -> None:
    hrp, _ = decode_bech32(s)
    assert hrp == s.lower()[: s.rfind("1")]


@pytest.mark.parametrize(("s", "code"), BIP173_INVALID)
def test_invalid_bip173(s: str, code: str) -> None:
    with pytest.raises(AddressError) as info:
        decode_bech32(s)
    assert info.value.code == code


def test_invalid_bad_checksum() -> None:
    typo = TEXT[:-1] + ("q" if TEXT[-1] != "q" else "p")
    assert code_of(typo) == "bad_checksum"


def test_invalid_mixed_case() -> None:
    assert code_of(TEXT[:10] + TEXT[10:].upper()) == "mixed_case"


def test_invalid_wrong_prefix() -> None:
    assert code_of(encode_address(RAW, VALOPER_HRP)) == "wrong_prefix"
    assert code_of(TEXT, VALOPER_HRP) == "wrong_prefix"
    cosmos = bech32_encode("cosmos", five_bit(RAW))
    assert code_of(cosmos) == "wrong_prefix"


def test_invalid_wrong_length() -> None:
    pubkey_sized = bech32_encode("vox", five_bit(bytes(32)))
    assert code_of(pubkey_sized) == "wrong_length"
    assert code_of(bech32_encode("vox", [])) == "wrong_length"


def test_invalid_padding() -> None:
    # 33 five-bit groups hold 165 bits: 20 bytes and 5 stray bits.
    assert code_of(bech32_encode("vox", [0] * 33)) == "invalid_padding"


def test_invalid_other_shapes() -> None:
    assert code_of("") == "missing_separator"
    assert code_of("vox") == "missing_separator"
    assert code_of(" " + TEXT) == "invalid_character"
    assert code_of(TEXT.replace("y", "b", 1)) == "invalid_character"
    assert code_of(TEXT + "q" * 60) == "too_long"
    assert code_of("vox1qqqqq") == "too_short"


@pytest.mark.parametrize("size", [0, 19, 21, 32])
def test_invalid_encode_length(size: int) -> None:
    with pytest.raises(AddressError) as info:
        encode_address(bytes(size))
    assert info.value.code == "wrong_length"


@pytest.mark.parametrize("hrp", ["", "VOX", "vo x", "x" * 84])
def test_invalid_encode_prefix(hrp: str) -> None:
    with pytest.raises(AddressError) as info:
        encode_address(RAW, hrp)
    assert info.value.code == "invalid_prefix"


def test_is_address() -> None:
    assert is_address(TEXT)
    assert not is_address(TEXT, VALOPER_HRP)
    assert not is_address("vox1nope")


@given(
    st.binary(min_size=20, max_size=20),
    st.sampled_from([ACCOUNT_HRP, VALOPER_HRP, VALCONS_HRP]),
)
def test_round_trip(raw: bytes, hrp: str) -> None:
    text = encode_address(raw, hrp)
    assert text == text.lower()
    assert decode_address(text, hrp) == raw
    # The reference decoder agrees with ours.
    assert bech32_decode(text) == (hrp, convertbits(raw, 8, 5))


@given(
    st.binary(min_size=20, max_size=20),
    st.integers(min_value=0, max_value=31 + 6),
    st.sampled_from(CHARSET),
)
def test_any_single_typo_is_caught(raw: bytes, where: int, replacement: str) -> None:
    text = encode_address(raw)
    i = len("vox1") + where
    if text[i] == replacement:
        return
    typo = text[:i] + replacement + text[i + 1 :]
    with pytest.raises(AddressError) as info:
        decode_address(typo)
    assert info.value.code == "bad_checksum"


@given(st.text(max_size=120))
def test_arbitrary_text_raises_only_address_error(s: str) -> None:
    try:
        raw = decode_address(s)
    except AddressError:
        return
    assert len(raw) == 20
