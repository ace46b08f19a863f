"""SLIP-10 private key derivation for the ed25519 curve (hardened steps only).

Twenty lines of HMAC-SHA512, kept here rather than pulling in bip-utils, which brings a dozen
packages (coincurve, sr25519 and pycryptodome builds, requests) for curves we never use.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from voxpop.crypto.errors import InvalidDerivationPath, InvalidKey

HARDENED = 0x80000000
_CURVE_KEY = b"ed25519 seed"


@dataclass(frozen=True, slots=True)
class ExtendedKey:
    private_key: bytes  # 32 bytes: the Ed25519 seed
    chain_code: bytes  # 32 bytes


def master_key(seed: bytes) -> ExtendedKey:
    """The root of the tree for a BIP-39 seed (16 to 64 bytes). Raises InvalidKey."""
    if not 16 <= len(seed) <= 64:
        raise InvalidKey(f"a SLIP-10 seed is 16 to 64 bytes, got {len(seed)}")
    digest = hmac.digest(_CURVE_KEY, seed, hashlib.sha512)
    return ExtendedKey(digest[:32], digest[32:])


def derive_child(parent: ExtendedKey, index: int) -> ExtendedKey:
    """The hardened child `index` (which must include HARDENED). Raises InvalidDerivationPath."""
    # Verify the step is hardened: ed25519 has no public (normal) derivation.
    if not HARDENED <= index <= 0xFFFFFFFF:
        raise InvalidDerivationPath(f"ed25519 allows only hardened steps, got index {index}")
    data = b"\x00" + parent.private_key + index.to_bytes(4, "big")
    digest = hmac.digest(parent.chain_code, data, hashlib.sha512)
    return ExtendedKey(digest[:32], digest[32:])


def parse_path(path: str) -> tuple[int, ...]:
    """The indexes (HARDENED set) of a path like m/44'/8118'/0'/0'/0'.

    Raises InvalidDerivationPath.
    """
    parts = path.strip().split("/")
    if parts[0] != "m":
        raise InvalidDerivationPath(f"{path!r}: a path starts with 'm'")
    indexes = []
    for part in parts[1:]:
        hardened = part.endswith(("'", "h", "H"))
        number = part[:-1] if hardened else part
        if not number.isdecimal() or not number.isascii():
            raise InvalidDerivationPath(f"{path!r}: {part!r} is not a number")
        if not hardened:
            raise InvalidDerivationPath(f"{path!r}: ed25519 allows only hardened steps ({part}')")
        value = int(number)
        if value >= HARDENED:
            raise InvalidDerivationPath(f"{path!r}: {value} is too large (at most {HARDENED - 1})")
        indexes.append(value | HARDENED)
    return tuple(indexes)


def derive_path(seed: bytes, path: str) -> ExtendedKey:
    """The key at `path` under the BIP-39 `seed`. Raises InvalidKey, InvalidDerivationPath."""
    key = master_key(seed)
    for index in parse_path(path):
        key = derive_child(key, index)
    return key
