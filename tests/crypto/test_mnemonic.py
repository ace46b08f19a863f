from __future__ import annotations

import pytest

from voxpop.crypto import (
    COIN_TYPE,
    InvalidDerivationPath,
    InvalidMnemonic,
    account_path,
    derive_private_key,
    encode_address,
    generate_mnemonic,
    mnemonic_to_seed,
    validate_mnemonic,
)

from .vectors import BIP39_TREZOR, VOX_ACCOUNTS, VOX_MNEMONIC


def reason_of(phrase: str) -> InvalidMnemonic:
    with pytest.raises(InvalidMnemonic) as info:
        validate_mnemonic(phrase)
    assert info.value.code == "invalid_mnemonic"
    return info.value


def test_generate() -> None:
    phrase = generate_mnemonic()
    assert len(phrase.split()) == 24
    assert validate_mnemonic(phrase) == phrase
    assert generate_mnemonic() != phrase


@pytest.mark.parametrize(("phrase", "seed"), BIP39_TREZOR)
def test_bip39_vectors(phrase: str, seed: str) -> None:
    assert mnemonic_to_seed(phrase, "TREZOR").hex() == seed


def test_normalizes_spacing_and_case() -> None:
    messy = "  " + VOX_MNEMONIC.upper().replace(" ", " \t\n ") + "\n"
    assert validate_mnemonic(messy) == VOX_MNEMONIC


@pytest.mark.parametrize(("account", "index", "seed", "public", "address"), VOX_ACCOUNTS)
def test_account_key_vectors(
    account: int, index: int, seed: str, public: str, address: str
) -> None:
    key = derive_private_key(VOX_MNEMONIC, account, index)
    assert key.seed.hex() == seed
    assert key.public_key.raw.hex() == public
    assert encode_address(key.public_key.address) == address


def test_account_path() -> None:
    assert COIN_TYPE == 8118
    assert account_path() == "m/44'/8118'/0'/0'/0'"
    assert account_path(3, 7) == "m/44'/8118'/3'/0'/7'"


@pytest.mark.parametrize(("account", "index"), [(-1, 0), (0, -1), (2**31, 0), (0, 2**31)])
def test_invalid_account_path(account: int, index: int) -> None:
    with pytest.raises(InvalidDerivationPath):
        account_path(account, index)


def test_invalid_word_count() -> None:
    assert reason_of(" ".join(VOX_MNEMONIC.split()[:23])).reason == "word_count"
    # A valid 12-word BIP-39 phrase is still not a voxpop mnemonic.
    assert reason_of(" ".join(["abandon"] * 11 + ["about"])).reason == "word_count"
    assert reason_of("").reason == "word_count"


def test_invalid_unknown_word() -> None:
    words = VOX_MNEMONIC.split()
    words[4] = "abandonn"
    err = reason_of(" ".join(words))
    assert err.reason == "unknown_word"
    assert "word 5 ('abandonn')" in err.message


def test_invalid_checksum() -> None:
    assert reason_of(" ".join(["abandon"] * 24)).reason == "checksum"


def test_invalid_swapped_words() -> None:
    # Every word is valid after a swap; only the checksum catches it.
    err = reason_of(" ".join(["abandon"] * 22 + ["art", "abandon"]))
    assert err.reason == "checksum"
