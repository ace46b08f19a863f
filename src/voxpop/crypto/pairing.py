"""Device pairing codes and the pairing id the chain keys a pairing request by.

A device speaks a short code; its agent publishes a pairing request keyed by
`pairing_id = sha256("voxpop/pairing/v1\\0" ‖ salt 16 ‖ code)`, with a fresh random salt per
request. The code itself never goes on chain: the owner, told the code by the device, finds the
request whose id the code and the published salt give, and claims it with its own signature, so
guessing codes gains nothing (only the named owner can claim).
"""

from __future__ import annotations

import hashlib
import secrets

PAIRING_DOMAIN = b"voxpop/pairing/v1\x00"
PAIRING_ID_SIZE = 32
SALT_SIZE = 16
CODE_LENGTH = 6
CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def is_code(text: str) -> bool:
    """Whether `text` is a pairing code: exactly 6 characters of A-Z and 0-9."""
    return len(text) == CODE_LENGTH and all(c in CODE_ALPHABET for c in text)


def normalize_code(text: str) -> str:
    """A code as a person types it (any case, spaces or dashes between groups) in its canonical
    form. Raises ValueError if it is not a pairing code."""
    code = text.replace(" ", "").replace("-", "").upper()
    if not is_code(code):
        raise ValueError(f"a pairing code is {CODE_LENGTH} letters A-Z or digits")
    return code


def new_code() -> str:
    """A fresh random code for a device to speak (36^6, about 2.2 billion codes)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_salt() -> bytes:
    """A fresh random salt for one pairing request."""
    return secrets.token_bytes(SALT_SIZE)


def pairing_id(salt: bytes, code: str) -> bytes:
    """The id of the pairing request for `code` under `salt` (also the device id once claimed).

    Raises ValueError for a salt of the wrong size or a code that is not canonical."""
    if len(salt) != SALT_SIZE:
        raise ValueError(f"salt must be {SALT_SIZE} bytes")
    if not is_code(code):
        raise ValueError(f"a pairing code is {CODE_LENGTH} letters A-Z or digits")
    return hashlib.sha256(PAIRING_DOMAIN + salt + code.encode()).digest()
