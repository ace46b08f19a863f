"""Canonical CBOR (RFC 8949) encoding for everything that is hashed or signed.

cbor2's canonical mode gives one byte string per value (shortest integers, definite lengths, map
keys sorted length-first). Decoding re-encodes and compares, so every accepted input has exactly one
encoding: two different byte strings can never carry the same tx, and a tx hash names one tx.
"""

from __future__ import annotations

from typing import Any

import cbor2

from voxpop.chain.errors import TxDecodeError


def encode(value: Any) -> bytes:
    return cbor2.dumps(value, canonical=True)


def decode_canonical(data: bytes) -> Any:
    """Decode `data`, raising TxDecodeError unless it is the canonical encoding of its value."""
    try:
        value = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise TxDecodeError(f"not valid CBOR: {exc}") from None
    try:
        again = cbor2.dumps(value, canonical=True)
    except (cbor2.CBOREncodeError, ValueError, TypeError, RecursionError) as exc:
        raise TxDecodeError(f"not encodable: {exc}") from None
    # Verify the input was canonical (no padding, no trailing bytes, no other key order)
    if again != data:
        raise TxDecodeError("not canonical CBOR")
    return value


def decode_state(data: bytes) -> Any:
    """Decode a value this chain wrote to its own state: already canonical, so no round trip."""
    return cbor2.loads(data)


def encode_uint(value: int) -> bytes:
    """Fixed 16-byte big-endian encoding for amounts kept in state (sortable, constant size)."""
    return value.to_bytes(16, "big")


def decode_uint(data: bytes) -> int:
    return int.from_bytes(data, "big")
