"""Ed25519 account keys: signing, verification and the 20-byte account address."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import nacl.bindings
import nacl.utils
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey

from voxpop.crypto.errors import InvalidKey

SEED_SIZE = 32
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
ADDRESS_SIZE = 20


def address_from_pubkey(pub: bytes) -> bytes:
    """The account address: the first 20 bytes of sha256(public key), as in CometBFT.

    Raises InvalidKey if `pub` is not 32 bytes.
    """
    if len(pub) != PUBLIC_KEY_SIZE:
        raise InvalidKey(f"public key must be {PUBLIC_KEY_SIZE} bytes, got {len(pub)}")
    return hashlib.sha256(pub).digest()[:ADDRESS_SIZE]


def verify_signature(pub: bytes, msg: bytes, sig: bytes) -> bool:
    """True if `sig` is a valid Ed25519 signature of `msg` by `pub`; never raises on bad bytes.

    On the chain's hot path: no key object is built. Validity is libsodium's (strict: rejects
    non-canonical S and small-order keys), so every node must agree on the PyNaCl version.
    """
    # Verify the lengths first: the binding hands `pub` to C without checking its size.
    if len(pub) != PUBLIC_KEY_SIZE or len(sig) != SIGNATURE_SIZE:
        return False
    try:
        nacl.bindings.crypto_sign_open(bytes(sig) + bytes(msg), bytes(pub))
    except BadSignatureError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A 32-byte Ed25519 public key."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != PUBLIC_KEY_SIZE:
            raise InvalidKey(f"public key must be {PUBLIC_KEY_SIZE} bytes, got {len(self.raw)}")

    def __bytes__(self) -> bytes:
        return self.raw

    @property
    def address(self) -> bytes:
        return address_from_pubkey(self.raw)

    def verify(self, msg: bytes, sig: bytes) -> bool:
        return verify_signature(self.raw, msg, sig)


class PrivateKey:
    """An Ed25519 signing key, built from its 32-byte seed."""

    __slots__ = ("_public_key", "_signing_key")

    def __init__(self, seed: bytes) -> None:
        """Raises InvalidKey if `seed` is not 32 bytes."""
        if len(seed) != SEED_SIZE:
            raise InvalidKey(f"private key seed must be {SEED_SIZE} bytes, got {len(seed)}")
        self._signing_key = SigningKey(bytes(seed))
        self._public_key = PublicKey(bytes(self._signing_key.verify_key))

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(nacl.utils.random(SEED_SIZE))

    @property
    def seed(self) -> bytes:
        return bytes(self._signing_key)

    @property
    def public_key(self) -> PublicKey:
        return self._public_key

    def sign(self, msg: bytes) -> bytes:
        """The 64-byte detached signature of `msg`."""
        return self._signing_key.sign(msg).signature

    def __repr__(self) -> str:
        # Never print the seed, even in a traceback.
        return f"PrivateKey(public_key={self._public_key.raw.hex()})"
