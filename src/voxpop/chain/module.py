"""The shape every module has: messages, handlers, queries, genesis, params, invariants, hooks.

A module owns one state prefix. It reaches other modules only through the small functions they
export (bank's `send`, `mint`, ...), never by touching their keys.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Self, TypeVar, get_type_hints

from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.context import BlockInfo, Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import (
    ChainError,
    InvalidAddressError,
    InvalidAmountError,
    InvalidGenesisError,
    InvalidMessageError,
    InvalidQueryError,
    UnknownMessageError,
    quote,
)
from voxpop.chain.fields import Doc, Kind, Wire
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.tx import RawMsg

ADDRESS_LEN = 20
MAX_AMOUNT = (1 << 64) - 1


class Msg:
    """A message: a frozen dataclass whose fields are declared with their kinds.

        @dataclass(frozen=True, slots=True)
        class MsgSend(Msg):
            TYPE = "bank/Send"
            SIGNER = "sender"
            sender: Annotated[bytes, ADDRESS, Wire("from")]
            recipient: Annotated[bytes, ADDRESS, Wire("to")]
            amount: Annotated[int, AMOUNT]

    The declaration is all there is: parsing with typed errors (`from_value`), the canonical
    value (`to_value`), the JSON shape (`to_json`) and the README's table (`message_table`) come
    from it. `validate` adds checks across fields; `SIGNER` names the field holding the account
    that acts (and must authorize the message).
    """

    TYPE: ClassVar[str]
    SIGNER: ClassVar[str]
    # False for a message its signer must send itself (settings/Rotate): authz never grants it
    # nor runs it inside authz/Exec for a granter
    DELEGABLE: ClassVar[bool] = True

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        """Parse and statelessly validate; raise InvalidMessageError and friends."""
        fields = msg_fields(cls)
        require_fields(value, *(f.key for f in fields))
        made: Any = cls
        msg: Self = made(**{f.attr: f.kind.parse(value[f.key], f.key) for f in fields})
        msg.validate()
        return msg

    def validate(self) -> None:
        """Checks across fields, after each field has parsed; raise a typed ChainError."""

    def to_value(self) -> dict[str, Any]:
        return {f.key: f.kind.to_wire(getattr(self, f.attr)) for f in msg_fields(type(self))}

    def to_json(self) -> dict[str, Any]:
        """The message as the API and the CLI show it (addresses in bech32, bytes in hex)."""
        fields = msg_fields(type(self))
        return {
            "type": self.TYPE,
            "value": {f.key: f.kind.to_json(getattr(self, f.attr)) for f in fields},
        }

    def signers(self) -> tuple[bytes, ...]:
        return (getattr(self, self.SIGNER),)

    def raw(self) -> tuple[str, dict[str, Any]]:
        return self.TYPE, self.to_value()

    def inner_msgs(self) -> tuple[RawMsg, ...]:
        """Messages this one carries to run (authz/Exec's): parsed with it, before any fee."""
        return ()


@dataclass(frozen=True, slots=True)
class MsgField:
    attr: str  # the dataclass attribute
    key: str  # the key in the tx
    kind: Kind
    doc: str = ""


def parse_msg(routes: Mapping[str, MsgRoute], raw: RawMsg, where: str) -> tuple[Msg, MsgRoute]:
    """Parse `raw` by the route its type names, and any messages it carries.

    Raises ChainError only (UnknownMessageError, InvalidMessageError and friends): whatever the
    input, a message that parses badly gives a failed tx with a code, never an exception."""
    route = routes.get(raw.type)
    # Verify the message type is known
    if route is None:
        raise UnknownMessageError(f"{where}: unknown message type {quote(raw.type)}")
    try:
        msg = route.msg_cls.from_value(raw.value)
    except ChainError:
        raise
    except Exception as exc:  # a parser bug must not halt the chain: it is a bad message
        raise InvalidMessageError(f"{where}: malformed ({type(exc).__name__})") from None
    for i, inner in enumerate(msg.inner_msgs()):
        parse_msg(routes, inner, f"{where}.msgs[{i}]")
    return msg, route


def msg_from_json(cls: type[M], value: Any, where: str) -> M:
    """A message from its JSON shape (`Msg.to_json`'s value: addresses in bech32, bytes in hex),
    as genesis files hold them. Raises InvalidGenesisError naming `where`."""
    fields = msg_fields(cls)
    # Verify an object with exactly the declared fields
    if not isinstance(value, dict) or value.keys() != {f.key for f in fields}:
        raise InvalidGenesisError(f"{where} needs exactly {sorted(f.key for f in fields)}")
    try:
        return cls.from_value({f.key: f.kind.from_json(value[f.key]) for f in fields})
    except ChainError as exc:
        raise InvalidGenesisError(f"{where}: {exc.message}") from None


_FIELDS: dict[type[Msg], tuple[MsgField, ...]] = {}


def msg_fields(cls: type[Msg]) -> tuple[MsgField, ...]:
    """The declared fields of a message class, in declaration order (read once per class)."""
    known = _FIELDS.get(cls)
    if known is not None:
        return known
    hints = get_type_hints(cls, include_extras=True)
    out = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        meta = getattr(hints[f.name], "__metadata__", ())
        kinds = [m for m in meta if isinstance(m, Kind)]
        wires = [m for m in meta if isinstance(m, Wire)]
        if len(kinds) != 1:
            raise TypeError(f"{cls.__name__}.{f.name} needs exactly one field kind")
        docs = [m.text for m in meta if isinstance(m, Doc)]
        key = wires[0].key if wires else f.name
        out.append(MsgField(f.name, key, kinds[0], docs[0] if docs else ""))
    _FIELDS[cls] = tuple(out)
    return _FIELDS[cls]


def message_table(msgs: Sequence[type[Msg]]) -> str:
    """The Markdown table of messages for a module's README, from the declarations."""
    rows = ["| type | fields | signer |", "|---|---|---|"]
    for cls in msgs:
        fields = msg_fields(cls)
        described = ", ".join(
            f"`{f.key}` ({f.kind.doc}{': ' + f.doc if f.doc else ''})" for f in fields
        )
        signer = next(f.key for f in fields if f.attr == cls.SIGNER)
        rows.append(f"| `{cls.TYPE}` | {described} | `{signer}` |")
    return "\n".join(rows)


M = TypeVar("M", bound=Msg)

Handler = Callable[[Context, Any], None]
# The uvox a message moves out of its signer's account, read before it runs (authz counts it
# against a grant's spend limits); raises the ChainError its handler would
SpendOf = Callable[[Context, Any], int]


@dataclass(frozen=True, slots=True)
class MsgRoute:
    msg_cls: type[Msg]
    handler: Handler
    # Declared by a message type that spends its signer's uvox: a grant may then cap it
    spend_of: SpendOf | None = None


# A computed query: (latest committed state, the block it is at, query data) -> the answer
ComputedQuery = Callable[[KVReader, BlockInfo, bytes], bytes]


@dataclass(frozen=True, slots=True)
class ParamsSpec:
    """Where a module keeps its parameters and how it checks them, so that governance can change
    any module's parameters while each module validates its own."""

    key: bytes
    parse: Callable[[dict[str, Any]], Any]  # the whole params value -> params; raises ChainError
    default: Callable[[], Any]  # the params when none are stored
    # Checks against the rest of state (e.g. issuance headroom); raises ChainError
    check: Callable[[Context, Any], None] | None = None
    # A chain made by an earlier version: (params as stored, filled with this version's
    # defaults) -> the params to adopt (gov/adopt.py). None: the filled ones.
    adopt: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class Invariant:
    name: str
    check: Callable[[KVReader], str | None]  # returns a description of the breach, or None


class Module(ABC):
    name: ClassVar[str]
    prefix: ClassVar[bytes]

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {}

    def bind_routes(self, routes: Mapping[str, MsgRoute]) -> None:
        """Told the app's whole message table once, at start (for a module that runs messages of
        others, like authz's Exec). Most modules ignore it."""
        return None

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        """Query name -> function from query data to the one state key it reads (so every answer
        is provable)."""
        return {}

    def computed_queries(self) -> Mapping[str, ComputedQuery]:
        """Query name -> a function computing its answer from the latest state (a contract's
        smart query): answered by the node asked, never proven. Most modules have none."""
        return {}

    def list_routes(self) -> Mapping[str, ListRoute]:
        """Query name -> a list this module keeps (see chain/listing.py): answered with every
        item's proof and the list's commitment, so a client can tell nothing was left out."""
        return {}

    @abstractmethod
    def default_genesis(self) -> dict[str, Any]: ...

    @abstractmethod
    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def export_genesis(self, state: KVReader) -> dict[str, Any]: ...

    def invariants(self) -> list[Invariant]:
        return []

    def params_spec(self) -> ParamsSpec | None:
        """The module's parameters, if it has any (governance changes them through it)."""
        return None

    def params_value(self, state: KVReader) -> dict[str, Any] | None:
        """The module's parameters as stored (None: it has none)."""
        spec = self.params_spec()
        if spec is None:
            return None
        raw = state.get(spec.key)
        value: dict[str, Any] = decode_state(raw) if raw else asdict(spec.default())
        return value

    def set_params_value(self, ctx: Context, value: Mapping[str, Any]) -> None:
        """Validate `value` as the module's whole parameters and store them. Raises ChainError
        (the params' own InvalidGenesisError, or InvalidMessageError for a module without
        params) and then writes nothing."""
        spec = self.params_spec()
        # Verify the module has parameters, and these are valid
        if spec is None:
            raise InvalidMessageError(f"module {self.name} has no parameters")
        params = spec.parse(dict(value))
        if spec.check is not None:
            spec.check(ctx, params)
        ctx.set(spec.key, encode(asdict(params)))

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
