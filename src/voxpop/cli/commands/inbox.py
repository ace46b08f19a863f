"""`voxpop tx inbox post|delete` and `voxpop query inbox message|by-owner`: the inbox module's
messages and reads, ciphertexts in hex. Reading one's inbox in the clear (`voxpop inbox`) is
built on these in cli/inbox.py."""

from __future__ import annotations

from typing import Any

from voxpop.chain.modules.inbox.messages import MsgDeleteMessages, MsgPost
from voxpop.chain.modules.inbox.module import message_json
from voxpop.chain.modules.inbox.state import ID_LEN, decode_message
from voxpop.cli.commands.auth import ADDRESS_ARG
from voxpop.cli.commands.devices import hex_kind
from voxpop.cli.declare import INTEGER, Arg, Inputs, Kind, QueryCommand, TxCommand
from voxpop.cli.options import StateQueryOptions
from voxpop.cli.output import fail, kv_table, rows_table
from voxpop.client import VoxClient
from voxpop.crypto import encode_address


def _parse_ids(values: list[int] | None, inputs: Inputs, label: str) -> list[int]:
    # Verify at least one id (the chain checks the rest: range, count, repeats)
    if not values:
        fail("invalid_message", f"{label}: give at least one message id", inputs.output)
    return list(values)


IDS = Kind(list[int], _parse_ids)

TX_COMMANDS = (
    TxCommand(
        module="inbox",
        verb="post",
        msg=MsgPost,
        help="Post CIPHERTEXT (hex: a sealed box to the owner's directory key) to the inbox of "
        "the owner FROM (an agent posts it under the owner's grant).",
        args=(
            Arg("ciphertext", "the sealed message, hex", hex_kind(None, "bytes")),
            Arg(
                "expires_at",
                "block time (unix s) it is deleted at; 0: the longest the chain keeps",
                flag="--expires-at",
                default=0,
            ),
        ),
    ),
    TxCommand(
        module="inbox",
        verb="delete",
        msg=MsgDeleteMessages,
        help="Delete messages IDS from FROM's inbox (all or none).",
        args=(Arg("ids", "message ids", IDS, metavar="IDS..."),),
    ),
)


def read_message(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    owner, message_id = given["address"], given["id"]
    # Verify an id the chain can hold (ids count from 1, within 64 bits)
    if not 1 <= message_id < 1 << 64:
        fail("invalid_message", "ID must be 1 to 2^64-1", opts.output)
    data = owner + message_id.to_bytes(ID_LEN, "big")
    result = client.query("/inbox/message", data, height=opts.height, prove=opts.prove)
    message = decode_message(result.value) if result.value else None
    return {
        "message": message_json(owner, message_id, message) if message else None,
        "height": result.height,
        "verified": result.verified,
    }


def render_message(data: dict[str, Any]) -> None:
    message = data["message"]
    rows: dict[str, Any] = {"message": "(none)"} if message is None else dict(message)
    if "ciphertext" in rows:  # sealed: its size says all a table can
        rows["ciphertext"] = f"{len(rows['ciphertext']) // 2} bytes, sealed"
    rows["height"] = data["height"]
    if data["verified"]:
        rows["proof"] = "verified against the signed block header"
    kv_table({k: str(v) for k, v in rows.items()})


def read_by_owner(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    if opts.height is not None:
        fail("invalid_height", "a list is answered at the latest height only", opts.output)
    owner = given["address"]
    answer = client.query_list("/inbox/by_owner", owner, prove=opts.prove)
    return {
        "owner": encode_address(owner),
        "messages": [
            message_json(owner, int.from_bytes(item.id, "big"), decode_message(item.value))
            for item in answer.items
        ],
        "height": answer.height,
        "verified": answer.verified,
    }


def render_by_owner(data: dict[str, Any]) -> None:
    kv_table({k: str(v) for k, v in data.items() if k != "messages"})
    rows_table(
        [{**m, "ciphertext": f"{len(m['ciphertext']) // 2} bytes"} for m in data["messages"]],
        ("id", "ciphertext", "posted_at", "expires_at"),
    )


QUERY_COMMANDS = (
    QueryCommand(
        module="inbox",
        what="message",
        help="Message ID of ADDRESS's inbox (none: null): its ciphertext and times.",
        read=read_message,
        render=render_message,
        args=(ADDRESS_ARG, Arg("id", "the message id", INTEGER)),
    ),
    QueryCommand(
        module="inbox",
        what="by-owner",
        help="Every message in ADDRESS's inbox (a list: with --prove, proven whole).",
        read=read_by_owner,
        render=render_by_owner,
        args=(ADDRESS_ARG,),
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)

__all__ = ["COMMANDS"]
