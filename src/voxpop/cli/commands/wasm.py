"""`voxpop tx wasm store|instantiate|execute|migrate|update-admin|clear-admin` and `voxpop query
wasm code|contract|state|smart`: community contracts (the chain's wasm module)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from voxpop.chain.encoding import decode_state
from voxpop.chain.modules.wasm.messages import (
    MsgClearAdmin,
    MsgExecute,
    MsgInstantiate,
    MsgMigrate,
    MsgStoreCode,
    MsgUpdateAdmin,
    is_json,
)
from voxpop.chain.modules.wasm.validate import MAX_CODE_BYTES
from voxpop.cli.declare import (
    ADDRESS,
    AMOUNT,
    AMOUNT_HELP,
    INTEGER,
    TEXT,
    Arg,
    Inputs,
    Kind,
    QueryCommand,
    TxCommand,
)
from voxpop.cli.options import StateQueryOptions
from voxpop.cli.output import fail
from voxpop.client import VoxClient
from voxpop.crypto import encode_address


def _parse_wasm_file(path: str | None, inputs: Inputs, label: str) -> bytes:
    """The code to upload: a .wasm file (the chain validates it)."""
    try:
        code = Path(str(path)).read_bytes()
    except OSError as exc:
        fail("invalid_message", f"{label}: cannot read {path}: {exc.strerror}", inputs.output)
    # Verify it looks like wasm and fits the format's bound before signing
    if not code.startswith(b"\0asm") or len(code) > MAX_CODE_BYTES:
        fail(
            "invalid_wasm",
            f"{label}: not a wasm binary of at most {MAX_CODE_BYTES} bytes",
            inputs.output,
        )
    return code


def _parse_json_msg(text: str | None, inputs: Inputs, label: str) -> bytes | None:
    """A message to a contract: JSON text (`@FILE` reads it from a file)."""
    if text is None:
        return None
    raw = Path(text[1:]).read_bytes() if text.startswith("@") else text.encode()
    # Verify JSON (the chain refuses anything else)
    if not is_json(raw):
        fail(
            "invalid_message", f"{label} must be JSON, e.g. '{{\"transfer\": {{}}}}'", inputs.output
        )
    return raw


def _parse_admin(text: str | None, inputs: Inputs, label: str) -> bytes:
    """An address or key name; empty: no admin."""
    return bytes(ADDRESS.parse(text, inputs, label)) if text else b""


def _parse_funds(text: str | None, inputs: Inputs, label: str) -> int:
    """An amount, or 0 (a call may send nothing)."""
    return int(AMOUNT.parse(text, inputs, label)) if text not in (None, "", "0") else 0


WASM_FILE = Kind(str, _parse_wasm_file)
JSON_MSG = Kind(str, _parse_json_msg)
"""JSON text, or @FILE."""
ADMIN = Kind(str, _parse_admin)
FUNDS = Kind(str, _parse_funds)

CONTRACT_ARG = Arg("contract", "the contract's vox1 address", ADDRESS)
CODE_ID_ARG = Arg("code_id", "a stored code's id", INTEGER)
MSG_ARG = Arg("msg", "the message: JSON text, or @FILE", JSON_MSG, metavar="MSG")
FUNDS_ARG = Arg("funds", f"uvox to send with the call ({AMOUNT_HELP})", FUNDS, "--funds", "0")

TX_COMMANDS = (
    TxCommand(
        module="wasm",
        verb="store",
        msg=MsgStoreCode,
        help="Upload WASM_FILE (ABI v1, docs/protocol/contracts.md); the result's events carry its "
        "code id. The chain refuses code with imports outside the host API or float instructions.",
        args=(Arg("wasm_byte_code", "the .wasm file", WASM_FILE, metavar="WASM_FILE"),),
    ),
    TxCommand(
        module="wasm",
        verb="instantiate",
        msg=MsgInstantiate,
        help="Create a contract from CODE_ID, calling its instantiate with MSG; the events carry "
        "its address.",
        args=(
            CODE_ID_ARG,
            MSG_ARG,
            Arg("label", "a name for people", TEXT, "--label", ""),
            Arg(
                "admin",
                "who may migrate it (default: nobody; governance still can)",
                ADMIN,
                "--admin",
                "",
            ),
            FUNDS_ARG,
        ),
    ),
    TxCommand(
        module="wasm",
        verb="execute",
        msg=MsgExecute,
        help="Call CONTRACT's execute with MSG (and --funds sent to it first).",
        args=(CONTRACT_ARG, MSG_ARG, FUNDS_ARG),
    ),
    TxCommand(
        module="wasm",
        verb="migrate",
        msg=MsgMigrate,
        help="As its admin, move CONTRACT to CODE_ID and call that code's migrate with MSG.",
        args=(CONTRACT_ARG, CODE_ID_ARG, MSG_ARG),
    ),
    TxCommand(
        module="wasm",
        verb="update-admin",
        msg=MsgUpdateAdmin,
        help="As its admin, hand CONTRACT's admin role to NEW_ADMIN.",
        args=(CONTRACT_ARG, Arg("new_admin", "vox1 address or key name", ADDRESS)),
    ),
    TxCommand(
        module="wasm",
        verb="clear-admin",
        msg=MsgClearAdmin,
        help="As its admin, give up CONTRACT's admin role: only governance can migrate it then.",
        args=(CONTRACT_ARG,),
    ),
)


def read_code(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    result = client.query(
        "/wasm/code", given["code_id"].to_bytes(8, "big"), height=opts.height, prove=opts.prove
    )
    info = decode_state(result.value) if result.value else None
    return {
        "code_id": given["code_id"],
        "hash": info["hash"].hex() if info else None,
        "creator": encode_address(info["creator"]) if info else None,
        "size": info["size"] if info else None,
        "height": result.height,
        "verified": result.verified,
    }


def read_contract(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    address = given["contract"]
    result = client.query("/wasm/contract", address, height=opts.height, prove=opts.prove)
    info = decode_state(result.value) if result.value else None
    balance = client.account(address).balance if info else 0
    return {
        "contract": encode_address(address),
        "code_id": info["code_id"] if info else None,
        "creator": encode_address(info["creator"]) if info else None,
        "admin": encode_address(info["admin"]) if info and info["admin"] else None,
        "label": info["label"] if info else None,
        "created": info["created"] if info else None,
        "balance": balance,
        "height": result.height,
        "verified": result.verified,
    }


def read_state(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    key = given["key"].encode()
    result = client.query(
        "/wasm/state", given["contract"] + key, height=opts.height, prove=opts.prove
    )
    value = result.value
    text = value.decode("utf-8", errors="replace") if value else None
    return {
        "contract": encode_address(given["contract"]),
        "key": given["key"],
        "value": text,
        "value_hex": value.hex() if value else None,
        "height": result.height,
        "verified": result.verified,
    }


def read_smart(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    # Verify a computed answer is not asked to be proven or of an old height
    if opts.prove or opts.height is not None:
        fail(
            "invalid_query",
            "a smart query is computed at the latest height: it has no proof",
            opts.output,
        )
    result = client.query("/wasm/smart", given["contract"] + given["msg"])
    raw = result.value
    answer: Any = raw.decode("utf-8", errors="replace")
    if is_json(raw):
        answer = json.loads(raw)
    return {
        "contract": encode_address(given["contract"]),
        "result": answer,
        "height": result.height,
    }


QUERY_COMMANDS = (
    QueryCommand(
        module="wasm",
        what="code",
        help="A stored code: its sha256, creator and size.",
        read=read_code,
        args=(CODE_ID_ARG,),
    ),
    QueryCommand(
        module="wasm",
        what="contract",
        help="A contract: its code, creator, admin, label, creation height and balance.",
        read=read_contract,
        args=(CONTRACT_ARG,),
        amounts=("balance",),
    ),
    QueryCommand(
        module="wasm",
        what="state",
        help="One raw value of CONTRACT's storage under KEY (provable with --prove).",
        read=read_state,
        args=(CONTRACT_ARG, Arg("key", "the storage key, as text", TEXT)),
    ),
    QueryCommand(
        module="wasm",
        what="smart",
        help="Ask CONTRACT's query with MSG: computed by the node, answered, not proven.",
        read=read_smart,
        args=(CONTRACT_ARG, MSG_ARG),
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)

__all__ = ["COMMANDS"]
