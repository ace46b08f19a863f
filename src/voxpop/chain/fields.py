"""Field kinds for declared messages.

A message is a dataclass whose fields are annotated with a kind, e.g.
`amount: Annotated[int, AMOUNT]`. The kind is the one place that says, for a field:

- how a value arriving in a tx is parsed and validated (`parse`, raising a typed ChainError and
  naming only the field, never the value);
- how it is written back to canonical CBOR (`to_wire`) and shown as JSON (`to_json`);
- what it is, in the module's README table (`doc`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from voxpop.chain.errors import (
    ChainError,
    InvalidAddressError,
    InvalidAmountError,
    InvalidEncryptionKeyError,
    InvalidMessageError,
)
from voxpop.chain.tx import RawMsg
from voxpop.crypto.encryption_keys import is_secp256k1_public_key, is_x25519_public_key

ADDRESS_LEN = 20
MAX_UINT64 = (1 << 64) - 1
UVOX_PER_VOX = 1_000_000


class Kind(ABC):
    """A field kind. Subclasses define `parse` and override whatever else differs from plain
    CBOR."""

    doc: str = "value"
    error: type[ChainError] = InvalidMessageError

    @abstractmethod
    def parse(self, value: Any, name: str) -> Any:
        """The field's value from the tx; raises `self.error` (a typed ChainError) naming `name`."""

    def to_wire(self, value: Any) -> Any:
        return value

    def to_json(self, value: Any) -> Any:
        return value

    def from_json(self, value: Any) -> Any:
        """The wire value of what `to_json` gives (genesis files hold messages so). Never
        raises: what does not convert is returned as is, for `parse` to refuse with its code."""
        return value

    def fail(self, name: str, what: str) -> ChainError:
        return self.error(f"{name} must be {what}")


@dataclass(frozen=True)
class Wire:
    """Annotation metadata naming a field's key in the tx when it differs from the attribute."""

    key: str


@dataclass(frozen=True)
class Doc:
    """Annotation metadata: what the field means, for the README table."""

    text: str


class UintKind(Kind):
    """An unsigned integer within [minimum, maximum] (bool, a subclass of int, is refused)."""

    def __init__(
        self,
        minimum: int = 0,
        maximum: int = MAX_UINT64,
        *,
        doc: str | None = None,
        error: type[ChainError] = InvalidMessageError,
    ) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.error = error
        self.doc = doc or f"integer {minimum}..{'2^64-1' if maximum == MAX_UINT64 else maximum}"

    def parse(self, value: Any, name: str) -> int:
        # Verify an integer within bounds
        if type(value) is not int or not self.minimum <= value <= self.maximum:
            raise self.fail(name, f"an integer from {self.minimum} to {self.maximum}")
        return value


class AmountKind(UintKind):
    """An amount of uvox, 1..2^64-1."""

    def __init__(self) -> None:
        super().__init__(1, MAX_UINT64, doc="uvox, 1..2^64-1", error=InvalidAmountError)


class HexKind(Kind):
    """A kind whose wire value is bytes, shown in JSON as hex."""

    def to_json(self, value: Any) -> Any:
        return bytes(value).hex()

    def from_json(self, value: Any) -> Any:
        try:
            return bytes.fromhex(value) if isinstance(value, str) else value
        except ValueError:
            return value


class BytesKind(HexKind):
    """A byte string of exactly `length` bytes (or at most `max_length`). JSON: hex."""

    def __init__(self, length: int | None = None, *, max_length: int | None = None) -> None:
        self.length = length
        self.max_length = max_length
        self.doc = f"{length} bytes" if length is not None else f"at most {max_length} bytes"

    def parse(self, value: Any, name: str) -> bytes:
        # Verify bytes of the declared length
        if not isinstance(value, bytes):
            raise self.fail(name, self.doc)
        if self.length is not None and len(value) != self.length:
            raise self.fail(name, self.doc)
        if self.max_length is not None and len(value) > self.max_length:
            raise self.fail(name, self.doc)
        return value


class AddressKind(Kind):
    """A raw 20-byte account address. JSON: bech32 `vox1...`."""

    doc = "20-byte address"
    error = InvalidAddressError

    def parse(self, value: Any, name: str) -> bytes:
        # Verify a raw 20-byte address
        if not isinstance(value, bytes) or len(value) != ADDRESS_LEN:
            raise self.fail(name, "a 20-byte address")
        return value

    def to_json(self, value: Any) -> Any:
        from voxpop.crypto.address import encode_address

        return encode_address(value)

    def from_json(self, value: Any) -> Any:
        from voxpop.crypto.address import AddressError, decode_address

        try:
            return decode_address(value) if isinstance(value, str) else value
        except AddressError:
            return value


class TextKind(Kind):
    """UTF-8 text of at most `max_bytes` bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.doc = f"text, at most {max_bytes} bytes"

    def parse(self, value: Any, name: str) -> str:
        # Verify text within the size limit
        if not isinstance(value, str) or len(value.encode()) > self.max_bytes:
            raise self.fail(name, f"text of at most {self.max_bytes} bytes")
        return value


class BoolKind(Kind):
    """true or false (CBOR and JSON booleans; 0 and 1 are refused)."""

    doc = "true or false"

    def parse(self, value: Any, name: str) -> bool:
        # Verify a boolean
        if type(value) is not bool:
            raise self.fail(name, "true or false")
        return value


class ListKind(Kind):
    """A list of `item`s, `min_items`..`max_items` long; the Python value is a tuple."""

    def __init__(self, item: Kind, *, min_items: int = 0, max_items: int = 1024) -> None:
        self.item = item
        self.min_items = min_items
        self.max_items = max_items
        self.doc = f"list of {min_items}..{max_items} ({item.doc})"

    def parse(self, value: Any, name: str) -> tuple[Any, ...]:
        # Verify a list of bounded length, then each item
        if not isinstance(value, list) or not self.min_items <= len(value) <= self.max_items:
            raise self.fail(name, f"a list of {self.min_items} to {self.max_items} items")
        return tuple(self.item.parse(v, f"{name}[{i}]") for i, v in enumerate(value))

    def to_wire(self, value: Any) -> Any:
        return [self.item.to_wire(v) for v in value]

    def to_json(self, value: Any) -> Any:
        return [self.item.to_json(v) for v in value]

    def from_json(self, value: Any) -> Any:
        return [self.item.from_json(v) for v in value] if isinstance(value, list) else value


class TupleKind(Kind):
    """A fixed-length list of differently typed items, e.g. `[address, amount]`."""

    def __init__(self, *items: Kind, names: Sequence[str] = ()) -> None:
        self.items = items
        self.names = tuple(names) or tuple(f"{i}" for i in range(len(items)))
        self.doc = "[" + ", ".join(self.names) + "]"

    def parse(self, value: Any, name: str) -> tuple[Any, ...]:
        # Verify a list of exactly the declared items
        if not isinstance(value, list) or len(value) != len(self.items):
            raise self.fail(name, self.doc)
        return tuple(k.parse(v, name) for k, v in zip(self.items, value, strict=True))

    def to_wire(self, value: Any) -> Any:
        return [k.to_wire(v) for k, v in zip(self.items, value, strict=True)]

    def to_json(self, value: Any) -> Any:
        return [k.to_json(v) for k, v in zip(self.items, value, strict=True)]

    def from_json(self, value: Any) -> Any:
        if not isinstance(value, list) or len(value) != len(self.items):
            return value
        return [k.from_json(v) for k, v in zip(self.items, value, strict=True)]


class MsgTypeKind(Kind):
    """A message type name, `module/Name`: ASCII letters, digits and `_`, at most 64 bytes."""

    doc = "message type, e.g. bank/Send"
    max_bytes = 64

    def parse(self, value: Any, name: str) -> str:
        # Verify the shape of a type name (whether the chain knows it is the handler's question)
        if (
            not isinstance(value, str)
            or not 0 < len(value) <= self.max_bytes
            or not _is_msg_type(value)
        ):
            raise self.fail(name, "a message type such as bank/Send")
        return value


def _is_msg_type(text: str) -> bool:
    module, slash, rest = text.partition("/")
    return bool(slash and module and rest) and all(
        part.isascii() and part.replace("_", "a").isalnum() for part in (module, rest)
    )


class MsgsKind(Kind):
    """Messages inside a message (e.g. authz/Exec): a list of `{"type", "value"}` maps, as in a
    tx body. Each value is parsed later, by the route its type names; the Python value is a tuple
    of RawMsg."""

    def __init__(self, *, max_items: int) -> None:
        self.max_items = max_items
        self.doc = f"list of 1..{max_items} messages {{type, value}}"

    def parse(self, value: Any, name: str) -> tuple[RawMsg, ...]:
        # Verify a bounded list of {type, value} maps with a type name and a map value
        if not isinstance(value, list) or not 0 < len(value) <= self.max_items:
            raise self.fail(name, f"a list of 1 to {self.max_items} messages")
        out = []
        for i, m in enumerate(value):
            if not isinstance(m, dict) or m.keys() != {"type", "value"}:
                raise self.fail(f"{name}[{i}]", "a map with exactly type, value")
            if not isinstance(m["value"], dict):
                raise self.fail(f"{name}[{i}].value", "a map")
            out.append(RawMsg(MSG_TYPE.parse(m["type"], f"{name}[{i}].type"), m["value"]))
        return tuple(out)

    def to_wire(self, value: Any) -> Any:
        return [{"type": m.type, "value": dict(m.value)} for m in value]

    def to_json(self, value: Any) -> Any:
        return [{"type": m.type, "value": _json_of(dict(m.value))} for m in value]


def _json_of(value: Any) -> Any:
    """Plain CBOR shown as JSON: bytes in hex (an inner message's fields are not parsed here)."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _json_of(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_of(v) for v in value]
    return value


class X25519KeyKind(HexKind):
    """An X25519 public key for sealed boxes: canonical and not of small order. JSON: hex."""

    doc = "32-byte X25519 public key"
    error = InvalidEncryptionKeyError

    def parse(self, value: Any, name: str) -> bytes:
        # Verify a canonical X25519 key of large order (libsodium decides the order)
        if not isinstance(value, bytes) or not is_x25519_public_key(value):
            raise self.fail(name, "a canonical X25519 public key, not of small order")
        return value


class Secp256k1KeyKind(HexKind):
    """A secp256k1 public key (Umbral), SEC1-compressed, on the curve. JSON: hex."""

    doc = "33-byte compressed secp256k1 public key"
    error = InvalidEncryptionKeyError

    def parse(self, value: Any, name: str) -> bytes:
        # Verify a compressed point on secp256k1 (nucypher-core decides)
        if not isinstance(value, bytes) or not is_secp256k1_public_key(value):
            raise self.fail(name, "a compressed secp256k1 public key on the curve")
        return value


ADDRESS = AddressKind()
AMOUNT = AmountKind()
UINT64 = UintKind()
PUBKEY = BytesKind(32)
SIGNATURE = BytesKind(64)
HASH = BytesKind(32)
MSG_TYPE = MsgTypeKind()
X25519_KEY = X25519KeyKind()
SECP256K1_KEY = Secp256k1KeyKind()
