"""Address text at the edges of the state machine (genesis files, events): bech32 with `vox`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from voxpop.chain.errors import InvalidGenesisError
from voxpop.crypto.address import AddressError, decode_address, encode_address


@lru_cache(maxsize=1 << 16)
def addr_text(raw: bytes) -> str:
    # bech32 in pure Python costs ~100 us; events name the same accounts again and again
    return encode_address(raw)


def genesis_address(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidGenesisError(f"{where}: address must be text")
    try:
        return decode_address(value)
    except AddressError as exc:
        raise InvalidGenesisError(f"{where}: {exc}") from None


def genesis_amount(value: Any, where: str, *, allow_zero: bool = False) -> int:
    if type(value) is not int or value < (0 if allow_zero else 1) or value >= 1 << 64:
        raise InvalidGenesisError(f"{where}: amount must be an integer in uvox within 64 bits")
    return value
