"""Canonical CBOR (RFC 8949) encoding for everything that is hashed or signed.

cbor2's canonical mode gives one byte string per value (shortest integers, definite lengths, map
keys sorted length-first). Decoding re-encodes and compares, so every accepted input has exactly one
encoding: two different byte strings can never carry the same tx, and a tx hash names one tx.

Untrusted bytes first pass `scan_cbor` (no tags, text map keys, bounded depth), which keeps the
decode and the re-encode linear in the input's length: see cbor_scan.py for why.
"""

from __future__ import annotations

from typing import Any

import cbor2

from voxpop.chain.cbor_scan import scan_cbor
from voxpop.chain.errors import TxDecodeError


def encode(value: Any) -> bytes:
    return cbor2.dumps(value, canonical=True)


def decode_canonical(data: bytes) -> Any:
    """Decode untrusted `data`, raising TxDecodeError unless it is the canonical encoding of its
    value in the subset `scan_cbor` accepts. Never raises anything else.

    The scan checks what makes an encoding canonical (shortest forms, definite lengths, no
    trailing bytes, map keys in order and unique), so it needs no re-encoding to compare with
    (tests/chain/test_cbor_scan.py holds it to decoding, re-encoding and comparing).
    """
    scan_cbor(data, canonical_keys=True)
    # After the scan cbor2 sees only plain items; any error left (e.g. invalid UTF-8) is a decode
    # error. The message names no part of the input.
    try:
        return cbor2.loads(data)
    except Exception as exc:
        raise TxDecodeError(f"not valid CBOR ({type(exc).__name__})") from None


def decode_state(data: bytes) -> Any:
    """Decode a value this chain wrote to its own state: already canonical, so no round trip."""
    return cbor2.loads(data)


def encode_uint(value: int) -> bytes:
    """Fixed 16-byte big-endian encoding for amounts kept in state (sortable, constant size)."""
    return value.to_bytes(16, "big")


def decode_uint(data: bytes) -> int:
    return int.from_bytes(data, "big")
