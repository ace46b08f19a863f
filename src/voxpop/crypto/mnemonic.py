"""24-word BIP-39 mnemonics and the account keys derived from them (SLIP-10, ed25519).

Account key path: m/44'/8118'/ACCOUNT'/0'/INDEX', every step hardened because ed25519 has no
public derivation. 8118 is our SLIP-44 coin type (unregistered; see
docs/protocol/keys-and-addresses.md).
"""

from __future__ import annotations

import unicodedata

from mnemonic import Mnemonic

from voxpop.crypto.errors import InvalidDerivationPath, InvalidMnemonic
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.slip10 import HARDENED, derive_path

MNEMONIC_WORDS = 24
MNEMONIC_STRENGTH_BITS = 256
COIN_TYPE = 8118

_ENGLISH = Mnemonic("english")
_WORDS = frozenset(_ENGLISH.wordlist)


def generate_mnemonic() -> str:
    """A new random 24-word mnemonic (256 bits of entropy from the OS)."""
    return str(_ENGLISH.generate(strength=MNEMONIC_STRENGTH_BITS))


def normalize_mnemonic(phrase: str) -> str:
    """NFKD, lowercase, single spaces: how people type a phrase is not part of it."""
    return " ".join(unicodedata.normalize("NFKD", phrase).lower().split())


def validate_mnemonic(phrase: str) -> str:
    """The normalized phrase if it is a valid 24-word English BIP-39 mnemonic.

    Raises InvalidMnemonic with reason word_count, unknown_word or checksum.
    """
    normalized = normalize_mnemonic(phrase)
    words = normalized.split()
    # Verify the word count.
    if len(words) != MNEMONIC_WORDS:
        raise InvalidMnemonic(
            "word_count", f"a mnemonic has {MNEMONIC_WORDS} words, this one has {len(words)}"
        )
    # Verify every word is on the BIP-39 English list.
    unknown = [f"{i + 1} ({w!r})" for i, w in enumerate(words) if w not in _WORDS]
    if unknown:
        raise InvalidMnemonic(
            "unknown_word", "not BIP-39 English words: word " + ", word ".join(unknown)
        )
    # Verify the checksum (the last word's low bits).
    if not _ENGLISH.check(normalized):
        raise InvalidMnemonic(
            "checksum", "checksum mismatch: a word is wrong, or the words are out of order"
        )
    return normalized


def mnemonic_to_seed(phrase: str, passphrase: str = "") -> bytes:
    """The 64-byte BIP-39 seed. Raises InvalidMnemonic."""
    return bytes(Mnemonic.to_seed(validate_mnemonic(phrase), passphrase))


def account_path(account: int = 0, index: int = 0) -> str:
    """m/44'/8118'/account'/0'/index'. Raises InvalidDerivationPath if a number is out of range."""
    for label, value in (("account", account), ("index", index)):
        if not 0 <= value < HARDENED:
            raise InvalidDerivationPath(f"{label} must be 0 to {HARDENED - 1}, got {value}")
    return f"m/44'/{COIN_TYPE}'/{account}'/0'/{index}'"


def derive_private_key(phrase: str, account: int = 0, index: int = 0) -> PrivateKey:
    """The account key for a mnemonic. Raises InvalidMnemonic, InvalidDerivationPath."""
    path = account_path(account, index)
    return PrivateKey(derive_path(mnemonic_to_seed(phrase), path).private_key)
