"""Sealed boxes to an account's published X25519 key, and the envelope that names its version.

A sealed box (libsodium `crypto_box_seal`, via PyNaCl) lets anyone encrypt to a public key without
contacting its owner: an ephemeral X25519 key, then XSalsa20-Poly1305. Format:
`ephemeral public key (32) || ciphertext || tag (16)`, 48 bytes more than the plaintext.

An envelope adds what a reader needs to pick the key: `0x01 || version (8 bytes, big-endian) ||
sealed box`, `version` being the key directory version the box was sealed to.
"""

from __future__ import annotations

from collections.abc import Callable

import nacl.exceptions
from nacl.public import PrivateKey as X25519PrivateKey
from nacl.public import PublicKey as X25519PublicKey
from nacl.public import SealedBox

from voxpop.crypto.encryption_keys import (
    X25519_KEY_SIZE,
    derive_encryption_keys,
    is_x25519_public_key,
)
from voxpop.crypto.errors import CryptoError, InvalidKey

SEALED_OVERHEAD = 48
ENVELOPE_FORMAT = 1
ENVELOPE_HEADER = 9  # format byte and version
ENVELOPE_OVERHEAD = ENVELOPE_HEADER + SEALED_OVERHEAD
MAX_VERSION = (1 << 64) - 1


class SealedBoxError(CryptoError):
    """A box or envelope that does not open with this key, or is malformed."""

    code = "sealed_box_error"


def seal_to(x25519_public: bytes, plaintext: bytes) -> bytes:
    """Encrypt `plaintext` so only the holder of the matching secret can read it.

    Raises InvalidKey for a malformed or small-order public key.
    """
    # Verify the key: sealing to a small-order point would leak the plaintext
    if not is_x25519_public_key(x25519_public):
        raise InvalidKey("not a valid X25519 public key")
    return bytes(SealedBox(X25519PublicKey(x25519_public)).encrypt(bytes(plaintext)))


def open_sealed(x25519_secret: bytes, box: bytes) -> bytes:
    """The plaintext of a box sealed to this secret's public key.

    Raises InvalidKey for a secret of the wrong size, SealedBoxError if the box does not open.
    """
    if len(x25519_secret) != X25519_KEY_SIZE:
        raise InvalidKey(f"an X25519 secret is {X25519_KEY_SIZE} bytes, got {len(x25519_secret)}")
    # Verify the box is long enough to hold an ephemeral key and a tag
    if len(box) < SEALED_OVERHEAD:
        raise SealedBoxError(f"a sealed box is at least {SEALED_OVERHEAD} bytes")
    try:
        return bytes(SealedBox(X25519PrivateKey(bytes(x25519_secret))).decrypt(bytes(box)))
    except (nacl.exceptions.CryptoError, RuntimeError, ValueError, TypeError):
        raise SealedBoxError("the box does not open with this key") from None


def seal_envelope(version: int, x25519_public: bytes, plaintext: bytes) -> bytes:
    """A sealed box to the key published as `version`, prefixed with that version.

    Raises InvalidKey, ValueError (version out of range).
    """
    if not 1 <= version <= MAX_VERSION:
        raise ValueError("a key directory version is 1 to 2^64-1")
    header = bytes([ENVELOPE_FORMAT]) + version.to_bytes(8, "big")
    return header + seal_to(x25519_public, plaintext)


def envelope_version(envelope: bytes) -> int:
    """The key directory version an envelope was sealed to. Raises SealedBoxError."""
    # Verify the format byte and the length
    if len(envelope) < ENVELOPE_OVERHEAD or envelope[0] != ENVELOPE_FORMAT:
        raise SealedBoxError("not a voxpop sealed envelope (format 1)")
    return int.from_bytes(envelope[1:ENVELOPE_HEADER], "big")


def open_envelope(secret_for_version: Callable[[int], bytes], envelope: bytes) -> bytes:
    """Open an envelope with the X25519 secret `secret_for_version(version)` returns.

    Raises SealedBoxError, InvalidKey.
    """
    version = envelope_version(envelope)
    return open_sealed(secret_for_version(version), envelope[ENVELOPE_HEADER:])


def open_for_account(account_seed: bytes, envelope: bytes) -> bytes:
    """Open an envelope sealed to keys this account published with the default derivation (the
    keys of version `v` derived at generation `v`). Raises SealedBoxError, InvalidKey,
    InvalidDerivationPath (a version beyond the derivable generations)."""
    return open_envelope(lambda v: derive_encryption_keys(account_seed, v).x25519_secret, envelope)
