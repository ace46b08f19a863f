"""Parsing of path and query values and of encoded bytes. Each failure is a 400 with a code."""

from __future__ import annotations

import base64
import binascii
import re

from voxpop.api.errors import (
    INVALID_ADDRESS,
    INVALID_BASE64,
    INVALID_HASH,
    INVALID_HEIGHT,
    INVALID_HEX,
    ApiError,
)
from voxpop.crypto.address import decode_address
from voxpop.crypto.errors import AddressError

MAX_HEIGHT = (1 << 63) - 1
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")
_HASH = re.compile(r"[0-9a-fA-F]{64}")
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_base64(text: str, what: str = "tx") -> bytes:
    """Canonical standard base64: padded, no whitespace, no stray bits or extra padding.

    Raises ApiError invalid_base64.
    """
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        data = None
    # Verify the text is the one encoding of its bytes
    if data is None or base64.b64encode(data).decode("ascii") != text:
        raise ApiError(400, INVALID_BASE64, f"{what} is not canonical standard base64")
    return data


def parse_hex(text: str, what: str = "data") -> bytes:
    """An even number of hex digits, nothing else. Raises ApiError invalid_hex."""
    if not _HEX.fullmatch(text):
        raise ApiError(400, INVALID_HEX, f"{what} must be an even number of hex digits")
    return bytes.fromhex(text)


def parse_address(text: str) -> bytes:
    """A bech32 account address (vox1...). Raises ApiError invalid_address."""
    try:
        return decode_address(text)
    except AddressError as exc:
        raise ApiError(400, INVALID_ADDRESS, f"{text[:100]!r}: {exc.message}") from None


def parse_tx_hash(text: str) -> bytes:
    """32 bytes as 64 hex digits. Raises ApiError invalid_hash."""
    if not _HASH.fullmatch(text):
        raise ApiError(400, INVALID_HASH, "a tx hash is 64 hex digits")
    return bytes.fromhex(text)


def parse_height(text: str) -> int:
    """A block height: a positive decimal integer. Raises ApiError invalid_height."""
    if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= MAX_HEIGHT:
        raise ApiError(400, INVALID_HEIGHT, f"{text[:40]!r} is not a block height (1, 2, ...)")
    return int(text)
