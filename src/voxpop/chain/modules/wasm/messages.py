"""Wasm messages: store code, instantiate, execute, migrate, update and clear the admin."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from voxpop.chain.errors import WasmTooLargeError
from voxpop.chain.fields import (
    ADDRESS,
    ADDRESS_LEN,
    MAX_UINT64,
    BytesKind,
    Doc,
    Kind,
    TextKind,
    UintKind,
    Wire,
)
from voxpop.chain.module import Msg
from voxpop.chain.modules.wasm.validate import MAX_CODE_BYTES
from voxpop.chain.tx import FORMAT_MAX_TX_BYTES

MAX_MSG_BYTES = 64 * 1024
MAX_LABEL_BYTES = 128
CODE_ID = UintKind(1, MAX_UINT64, doc="code id")
FUNDS = UintKind(0, MAX_UINT64, doc="uvox sent to the contract, 0..2^64-1")


class ContractMsgKind(Kind):
    """A message to a contract: UTF-8 JSON (opaque to the chain beyond that). Wire: bytes;
    JSON: the JSON value itself."""

    doc = f"JSON, at most {MAX_MSG_BYTES} bytes"

    def parse(self, value: Any, name: str) -> bytes:
        # Verify bytes of JSON within the size limit
        if not isinstance(value, bytes) or len(value) > MAX_MSG_BYTES or not is_json(value):
            raise self.fail(name, f"UTF-8 JSON of at most {MAX_MSG_BYTES} bytes")
        return value

    def to_json(self, value: Any) -> Any:
        return json.loads(value, parse_float=str)

    def from_json(self, value: Any) -> Any:
        try:
            return json.dumps(value, separators=(",", ":")).encode()
        except (TypeError, ValueError):
            return value


def is_json(raw: bytes) -> bool:
    try:
        json.loads(raw.decode(), parse_float=str, parse_constant=_refuse)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return True


def _refuse(name: str) -> Any:
    raise ValueError(name)


class OptionalAddressKind(Kind):
    """A 20-byte address or empty bytes (none). JSON: bech32 `vox1...` or ""."""

    doc = "20-byte address, or empty for none"

    def parse(self, value: Any, name: str) -> bytes:
        # Verify an address or nothing
        if not isinstance(value, bytes) or len(value) not in (0, ADDRESS_LEN):
            raise self.fail(name, "a 20-byte address or empty")
        return value

    def to_json(self, value: Any) -> Any:
        return ADDRESS.to_json(value) if value else ""

    def from_json(self, value: Any) -> Any:
        return b"" if value == "" else ADDRESS.from_json(value)


CONTRACT_MSG = ContractMsgKind()
OPTIONAL_ADDRESS = OptionalAddressKind()


@dataclass(frozen=True, slots=True)
class MsgStoreCode(Msg):
    """Upload WebAssembly code; the chain validates it and gives it the next code id."""

    TYPE = "wasm/StoreCode"
    SIGNER = "sender"
    sender: Annotated[bytes, ADDRESS]
    # On the wire `wasm_byte_code` (as in CosmWasm): a tx result's own `code` is its status
    code: Annotated[
        bytes,
        BytesKind(max_length=FORMAT_MAX_TX_BYTES),
        Wire("wasm_byte_code"),
        Doc(f"a wasm binary (ABI v1) of at most {MAX_CODE_BYTES} bytes"),
    ]

    def validate(self) -> None:
        # Verify the code is within the module's bound (the tx's own limit is usually tighter)
        if len(self.code) > MAX_CODE_BYTES:
            raise WasmTooLargeError(f"code is {len(self.code)} bytes; at most {MAX_CODE_BYTES}")


@dataclass(frozen=True, slots=True)
class MsgInstantiate(Msg):
    """Create a contract from a stored code: call its `instantiate` with `msg`, sending `funds`."""

    TYPE = "wasm/Instantiate"
    SIGNER = "sender"
    sender: Annotated[bytes, ADDRESS]
    code_id: Annotated[int, CODE_ID]
    admin: Annotated[bytes, OPTIONAL_ADDRESS, Doc("may migrate the contract")]
    label: Annotated[str, TextKind(MAX_LABEL_BYTES)]
    msg: Annotated[bytes, CONTRACT_MSG]
    funds: Annotated[int, FUNDS]


@dataclass(frozen=True, slots=True)
class MsgExecute(Msg):
    """Call a contract's `execute` with `msg`, sending `funds` to it first."""

    TYPE = "wasm/Execute"
    SIGNER = "sender"
    sender: Annotated[bytes, ADDRESS]
    contract: Annotated[bytes, ADDRESS]
    msg: Annotated[bytes, CONTRACT_MSG]
    funds: Annotated[int, FUNDS]


@dataclass(frozen=True, slots=True)
class MsgMigrate(Msg):
    """The admin moves a contract to another code and calls the new code's `migrate`."""

    TYPE = "wasm/Migrate"
    SIGNER = "sender"
    sender: Annotated[bytes, ADDRESS]
    contract: Annotated[bytes, ADDRESS]
    code_id: Annotated[int, CODE_ID]
    msg: Annotated[bytes, CONTRACT_MSG]


@dataclass(frozen=True, slots=True)
class MsgUpdateAdmin(Msg):
    """The admin hands the contract's admin role to another address."""

    TYPE = "wasm/UpdateAdmin"
    SIGNER = "sender"
    sender: Annotated[bytes, ADDRESS]
    contract: Annotated[bytes, ADDRESS]
    new_admin: Annotated[bytes, ADDRESS]


@dataclass(frozen=True, slots=True)
class MsgClearAdmin(Msg):
    """The admin gives up the role: from then on only governance can migrate the contract."""

    TYPE = "wasm/ClearAdmin"
    SIGNER = "sender"
    sender: Annotated[bytes, ADDRESS]
    contract: Annotated[bytes, ADDRESS]


MESSAGES: tuple[type[Msg], ...] = (
    MsgStoreCode,
    MsgInstantiate,
    MsgExecute,
    MsgMigrate,
    MsgUpdateAdmin,
    MsgClearAdmin,
)
