"""An account's encryption keys: their validation, and their derivation from the account key.

Two kinds, published in the on-chain key directory (the `directory` module):

- an X25519 key, for sealed boxes (settings, inbox, wrapped data keys): libsodium via PyNaCl;
- a secp256k1 key, for threshold re-encryption (Umbral): nucypher-core.

Both are derived from the account's Ed25519 seed, so the account's mnemonic (or its imported seed)
is the only secret there is; `generation` numbers the rotations. See
docs/protocol/keys-and-addresses.md for the derivation.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions
from nucypher_core.umbral import PublicKey as UmbralPublicKey
from nucypher_core.umbral import SecretKey as UmbralSecretKey

from voxpop.crypto.errors import InvalidDerivationPath, InvalidKey
from voxpop.crypto.keys import SEED_SIZE
from voxpop.crypto.slip10 import HARDENED, ExtendedKey, derive_child

X25519_KEY_SIZE = 32
SECP256K1_KEY_SIZE = 33  # SEC1 compressed: 0x02 or 0x03, then x
# The field prime of Curve25519: an encoding at or above it is not canonical
_CURVE25519_P = 2**255 - 19
# Any scalar will do: only whether libsodium accepts the point matters, not the product
_PROBE_SCALAR = bytes([9]) + bytes(31)
# The root of an account's encryption-key tree, as SLIP-10's "ed25519 seed" roots the account tree
_ROOT_DOMAIN = b"voxpop encryption keys v1"
PURPOSE_X25519 = 1
PURPOSE_SECP256K1 = 2


def is_x25519_public_key(raw: bytes) -> bool:
    """True for a canonical X25519 public key of large order; never raises on bad bytes.

    Refused: a length other than 32; the top bit set or a coordinate >= 2^255-19 (encodings that
    X25519 maps onto another key, so one key would have several on-chain forms); the points of
    small order, which would make every shared secret predictable. libsodium decides the last:
    `crypto_scalarmult` refuses its blocklist of small-order points and any all-zero result.
    """
    # Verify the size and the canonical encoding
    if not isinstance(raw, bytes) or len(raw) != X25519_KEY_SIZE:
        return False
    if raw[31] & 0x80 or int.from_bytes(raw, "little") >= _CURVE25519_P:
        return False
    # Verify the point is not of small order
    try:
        nacl.bindings.crypto_scalarmult(_PROBE_SCALAR, raw)
    except (nacl.exceptions.CryptoError, RuntimeError, ValueError, TypeError):
        return False
    return True


def is_secp256k1_public_key(raw: bytes) -> bool:
    """True for a 33-byte SEC1-compressed point on secp256k1, in its one canonical encoding.

    The curve check is nucypher-core's (`PublicKey.from_compressed_bytes`); never raises.
    """
    # Verify the size and the compressed-point prefix
    if not isinstance(raw, bytes) or len(raw) != SECP256K1_KEY_SIZE or raw[0] not in (2, 3):
        return False
    # Verify the point is on the curve and encodes back to the same bytes
    try:
        point = UmbralPublicKey.from_compressed_bytes(raw)
    except (ValueError, TypeError):
        return False
    return bytes(point.to_compressed_bytes()) == raw


@dataclass(frozen=True, slots=True)
class EncryptionKeys:
    """One generation of an account's encryption keys. Holds secrets: never log it."""

    generation: int
    x25519_secret: bytes
    x25519_public: bytes
    secp256k1_secret: bytes  # a 32-byte big-endian scalar (Umbral's SecretKey.to_be_bytes)
    secp256k1_public: bytes

    def umbral_secret_key(self) -> UmbralSecretKey:
        return UmbralSecretKey.from_be_bytes(self.secp256k1_secret)

    def __repr__(self) -> str:
        return (
            f"EncryptionKeys(generation={self.generation}, x25519_public="
            f"{self.x25519_public.hex()}, secp256k1_public={self.secp256k1_public.hex()})"
        )


def encryption_root(account_seed: bytes) -> ExtendedKey:
    """The root of the account's encryption-key tree. Raises InvalidKey."""
    if len(account_seed) != SEED_SIZE:
        raise InvalidKey(f"an account seed is {SEED_SIZE} bytes, got {len(account_seed)}")
    digest = hmac.digest(_ROOT_DOMAIN, account_seed, hashlib.sha512)
    return ExtendedKey(digest[:32], digest[32:])


def _derive(account_seed: bytes, purpose: int, generation: int) -> bytes:
    if not 0 <= generation < HARDENED:
        raise InvalidDerivationPath(f"generation must be 0 to {HARDENED - 1}, got {generation}")
    node = derive_child(encryption_root(account_seed), purpose | HARDENED)
    return derive_child(node, generation | HARDENED).private_key


def derive_encryption_keys(account_seed: bytes, generation: int = 0) -> EncryptionKeys:
    """The encryption keys of `generation` for the account with this Ed25519 seed.

    Path (SLIP-10 hardened steps under `encryption_root`): purpose'/generation', purpose 1 for
    X25519 and 2 for secp256k1. Raises InvalidKey, InvalidDerivationPath.
    """
    x_secret = _derive(account_seed, PURPOSE_X25519, generation)
    x_public = nacl.bindings.crypto_scalarmult_base(x_secret)
    k_secret = _derive(account_seed, PURPOSE_SECP256K1, generation)
    try:
        umbral = UmbralSecretKey.from_be_bytes(k_secret)
    except ValueError:
        # 0 or >= the group order: chance 2^-128; the next generation is independent
        raise InvalidKey(f"generation {generation} gives no secp256k1 key; use the next") from None
    k_public = bytes(umbral.public_key().to_compressed_bytes())
    return EncryptionKeys(generation, x_secret, x_public, k_secret, k_public)
