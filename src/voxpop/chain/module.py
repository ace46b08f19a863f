"""The shape every module has: messages, handlers, queries, genesis, params, invariants, hooks.

A module owns one state prefix. It reaches other modules only through the small functions they
export (bank's `send`, `mint`, ...), never by touching their keys.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.context import Context
from voxpop.chain.errors import (
    InvalidAddressError,
    InvalidAmountError,
    InvalidMessageError,
    InvalidQueryError,
)
from voxpop.chain.kv import KVReader

ADDRESS_LEN = 20
MAX_AMOUNT = (1 << 64) - 1


class Msg(ABC):
    TYPE: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        """Parse and statelessly validate; raise InvalidMessageError and friends."""

    @abstractmethod
    def to_value(self) -> dict[str, Any]: ...

    @abstractmethod
    def signers(self) -> tuple[bytes, ...]: ...

    def raw(self) -> tuple[str, dict[str, Any]]:
        return self.TYPE, self.to_value()


Handler = Callable[[Context, Any], None]


@dataclass(frozen=True, slots=True)
class MsgRoute:
    msg_cls: type[Msg]
    handler: Handler


@dataclass(frozen=True, slots=True)
class Invariant:
    name: str
    check: Callable[[KVReader], str | None]  # returns a description of the breach, or None


class Module(ABC):
    name: ClassVar[str]
    prefix: ClassVar[bytes]

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {}

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        """Query name -> function from query data to the one state key it reads (so every answer
        is provable)."""
        return {}

    @abstractmethod
    def default_genesis(self) -> dict[str, Any]: ...

    @abstractmethod
    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def export_genesis(self, state: KVReader) -> dict[str, Any]: ...

    def invariants(self) -> list[Invariant]:
        return []

    def initial_validators(self, ctx: Context) -> list[ValidatorUpdate]:
        """The validator set this module's genesis defines (asked after every init_genesis)."""
        return []

    def begin_block(self, ctx: Context) -> None:
        return None

    def end_block(self, ctx: Context) -> list[ValidatorUpdate]:
        return []


def address_query(
    make_key: Callable[[bytes], bytes], what: str = "address"
) -> Callable[[bytes], bytes]:
    """A query route whose data is one 20-byte address, mapped to its state key by `make_key`."""

    def route(data: bytes) -> bytes:
        # Verify the query names one address
        if len(data) != ADDRESS_LEN:
            raise InvalidQueryError(f"query data must be a 20-byte {what}")
        return make_key(data)

    return route


# --- field parsing shared by message decoders -------------------------------------------------


def require_fields(value: Mapping[str, Any], *names: str) -> None:
    # Verify the message has exactly the expected fields (named from the declaration, never from
    # the input)
    expected = set(names)
    if value.keys() != expected:
        missing = sorted(expected - value.keys())
        detail = f"missing {missing}" if missing else "unexpected fields"
        raise InvalidMessageError(f"fields must be exactly {sorted(names)}: {detail}")


def field_address(value: Mapping[str, Any], name: str) -> bytes:
    addr = value[name]
    # Verify a raw 20-byte address
    if not isinstance(addr, bytes) or len(addr) != ADDRESS_LEN:
        raise InvalidAddressError(f"{name} must be a 20-byte address")
    return addr


def field_amount(value: Mapping[str, Any], name: str) -> int:
    amount = value[name]
    # Verify a positive integer amount within 64 bits
    if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
        raise InvalidAmountError(f"{name} must be an integer from 1 to {MAX_AMOUNT}")
    return amount


def field_uint(value: Mapping[str, Any], name: str) -> int:
    n = value[name]
    if type(n) is not int or not 0 <= n <= MAX_AMOUNT:
        raise InvalidMessageError(f"{name} must be an unsigned 64-bit integer")
    return n


def field_bytes(value: Mapping[str, Any], name: str, length: int) -> bytes:
    b = value[name]
    if not isinstance(b, bytes) or len(b) != length:
        raise InvalidMessageError(f"{name} must be {length} bytes")
    return b


def field_text(value: Mapping[str, Any], name: str, max_len: int) -> str:
    s = value[name]
    if not isinstance(s, str) or len(s.encode()) > max_len:
        raise InvalidMessageError(f"{name} must be text of at most {max_len} bytes")
    return s
