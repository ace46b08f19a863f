"""Bech32 (BIP-173) text form of 20-byte addresses: `vox1...` for accounts.

The `bech32` package encodes, but its decoder answers every failure with (None, None); the checks
below follow BIP-173's order so a user learns which rule the string broke.
"""

from __future__ import annotations

from typing import cast

from bech32 import CHARSET, bech32_encode, bech32_verify_checksum, convertbits

from voxpop.crypto.errors import AddressError
from voxpop.crypto.keys import ADDRESS_SIZE

__all__ = [
    "ACCOUNT_HRP",
    "VALCONS_HRP",
    "VALOPER_HRP",
    "AddressError",  # re-exported: callers catch it where they decode
    "decode_address",
    "decode_bech32",
    "encode_address",
    "is_address",
]

ACCOUNT_HRP = "vox"
VALOPER_HRP = "voxvaloper"  # validator operator addresses (staking)
VALCONS_HRP = "voxvalcons"  # validator consensus addresses (CometBFT key)

MAX_LENGTH = 90
MAX_HRP_LENGTH = 83
CHECKSUM_LENGTH = 6


def encode_address(raw20: bytes, hrp: str = ACCOUNT_HRP) -> str:
    """The bech32 string of a 20-byte address.

    Raises AddressError: wrong_length, invalid_prefix.
    """
    # Verify the address is 20 bytes: a 32-byte public key would encode without complaint.
    if len(raw20) != ADDRESS_SIZE:
        raise AddressError("wrong_length", f"an address is {ADDRESS_SIZE} bytes, got {len(raw20)}")
    # Verify the prefix is one BIP-173 allows, in lowercase so the output is canonical.
    if not (
        1 <= len(hrp) <= MAX_HRP_LENGTH
        and all(33 <= ord(c) <= 126 for c in hrp)
        and hrp == hrp.lower()
    ):
        raise AddressError("invalid_prefix", f"{hrp!r} is not a lowercase bech32 prefix")
    data = cast(list[int], convertbits(raw20, 8, 5, True))
    return bech32_encode(hrp, data)


def decode_bech32(s: str) -> tuple[str, list[int]]:
    """Split a BIP-173 string into its lowercase prefix and 5-bit data (checksum removed).

    Raises AddressError: invalid_character, mixed_case, too_long, missing_separator,
    empty_prefix, too_short, bad_checksum.
    """
    # Verify every character is printable US-ASCII.
    for i, c in enumerate(s):
        if not 33 <= ord(c) <= 126:
            raise AddressError("invalid_character", f"character {i + 1} ({c!r}) is not allowed")
    # Verify the case is not mixed: all lowercase or all uppercase.
    if s.lower() != s and s.upper() != s:
        raise AddressError("mixed_case", "an address is all lowercase or all uppercase, not mixed")
    # Verify the overall length.
    if len(s) > MAX_LENGTH:
        raise AddressError("too_long", f"{len(s)} characters; at most {MAX_LENGTH} are allowed")
    s = s.lower()
    pos = s.rfind("1")
    # Verify there is a separator with a prefix before it.
    if pos < 0:
        raise AddressError("missing_separator", "no '1' separating the prefix from the data")
    if pos == 0:
        raise AddressError("empty_prefix", "nothing before the '1' separator")
    hrp, rest = s[:pos], s[pos + 1 :]
    # Verify the data part holds at least a checksum.
    if len(rest) < CHECKSUM_LENGTH:
        raise AddressError("too_short", "the data part is shorter than its 6-character checksum")
    # Verify the data part uses only the bech32 alphabet.
    for i, c in enumerate(rest):
        if c not in CHARSET:
            raise AddressError(
                "invalid_character",
                f"character {pos + 2 + i} ({c!r}) is not in the bech32 alphabet",
            )
    data = [CHARSET.find(c) for c in rest]
    # Verify the checksum.
    if not bech32_verify_checksum(hrp, data):
        raise AddressError("bad_checksum", "checksum mismatch: the address has a typo")
    return hrp, data[:-CHECKSUM_LENGTH]


def decode_address(s: str, hrp: str = ACCOUNT_HRP) -> bytes:
    """The 20 raw bytes of a bech32 address with prefix `hrp`.

    Raises AddressError with any code of decode_bech32, or wrong_prefix, invalid_padding,
    wrong_length.
    """
    got_hrp, data = decode_bech32(s)
    # Verify the prefix: an operator address is not an account address.
    if got_hrp != hrp:
        raise AddressError("wrong_prefix", f"expected prefix {hrp!r}, got {got_hrp!r}")
    raw = convertbits(data, 5, 8, False)
    # Verify the data is whole bytes with zero padding.
    if raw is None:
        raise AddressError("invalid_padding", "the data is not a whole number of bytes")
    # Verify the length.
    if len(raw) != ADDRESS_SIZE:
        raise AddressError("wrong_length", f"an address is {ADDRESS_SIZE} bytes, got {len(raw)}")
    return bytes(raw)


def is_address(s: str, hrp: str = ACCOUNT_HRP) -> bool:
    try:
        decode_address(s, hrp)
    except AddressError:
        return False
    return True
