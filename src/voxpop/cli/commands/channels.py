"""`voxpop tx channels open|top-up|claim|close|settle|collect` and `voxpop query channels
channel|by-payer|by-payee|nonce`: payment channels for paid API calls (the chain's channels
module)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from voxpop.chain.modules.channels.messages import (
    MsgClaim,
    MsgClose,
    MsgCollect,
    MsgOpen,
    MsgSettle,
    MsgTopUp,
)
from voxpop.chain.modules.channels.module import channel_json
from voxpop.chain.modules.channels.state import decode_channel
from voxpop.cli.commands.auth import ADDRESS_ARG
from voxpop.cli.declare import AMOUNT_HELP, Arg, Inputs, Kind, QueryCommand, TxCommand
from voxpop.cli.options import StateQueryOptions
from voxpop.cli.output import fail, format_uvox, kv_table, rows_table
from voxpop.client import VoxClient
from voxpop.crypto import encode_address
from voxpop.crypto.vouchers import CHANNEL_ID_SIZE, MAX_AMOUNT


def _parse_hex32(text: str | None, inputs: Inputs, label: str) -> bytes | None:
    if text is None:
        return None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    # Verify 32 bytes of hex (a channel id, a voucher key)
    if len(raw) != CHANNEL_ID_SIZE:
        fail("invalid_message", f"{label} must be 64 hex digits (32 bytes)", inputs.output)
    return raw


HEX32 = Kind(str, _parse_hex32)
"""32 bytes in hex: a channel id, or an Ed25519 public key."""

CHANNEL_ARG = Arg("channel_id", "the channel id, 64 hex digits", HEX32, metavar="CHANNEL_ID")


def voucher_of_json(doc: Any, where: str) -> list[Any]:
    """One voucher, `{"channel_id": hex, "amount": uvox, "signature": hex}` (as the provider
    keeps them) or `[channel_id hex, amount, signature hex]`, as the Claim carries it."""
    if isinstance(doc, dict) and set(doc) == {"channel_id", "amount", "signature"}:
        doc = [doc["channel_id"], doc["amount"], doc["signature"]]
    if not isinstance(doc, list) or len(doc) != 3:
        raise ValueError(f"{where} must be {{channel_id, amount, signature}}")
    channel_id, amount, signature = doc
    if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
        raise ValueError(f"{where}.amount must be an integer of uvox")
    try:
        return [bytes.fromhex(channel_id), amount, bytes.fromhex(signature)]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: channel_id and signature must be hex") from None


def _parse_vouchers_file(path: str | None, inputs: Inputs, label: str) -> list[list[Any]]:
    """The vouchers to claim: a JSON file (`-`: standard input) holding a list of vouchers."""
    try:
        docs = json.loads(Path("/dev/stdin" if path == "-" else str(path)).read_text())
        if not isinstance(docs, list):
            raise ValueError(f"{label} must hold a JSON list of vouchers")
        return [voucher_of_json(d, f"{label}[{i}]") for i, d in enumerate(docs)]
    except OSError as exc:
        fail("invalid_message", f"{label}: cannot read {path}: {exc.strerror}", inputs.output)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        fail("invalid_message", f"{label}: {exc}", inputs.output)


VOUCHERS_FILE = Kind(str, _parse_vouchers_file)

TX_COMMANDS = (
    TxCommand(
        module="channels",
        verb="open",
        msg=MsgOpen,
        help="Open a channel from FROM to PAYEE with DEPOSIT; vouchers are signed by "
        "--voucher-key (an Ed25519 public key, e.g. an agent's). Its id derives from FROM's "
        "nonce before it (query channels nonce); query channels by-payer lists it.",
        args=(
            Arg("payee", "the provider paid: vox1 address or key name"),
            Arg("deposit", AMOUNT_HELP),
            Arg("voucher_key", "Ed25519 public key, 64 hex digits", HEX32, "--voucher-key"),
        ),
    ),
    TxCommand(
        module="channels",
        verb="top-up",
        msg=MsgTopUp,
        help="Add AMOUNT to FROM's channel CHANNEL_ID (refused once it settles).",
        args=(CHANNEL_ARG, Arg("amount", AMOUNT_HELP)),
    ),
    TxCommand(
        module="channels",
        verb="claim",
        msg=MsgClaim,
        help="As the payee FROM, claim the vouchers in VOUCHERS: a JSON file (or -) of "
        '[{"channel_id": hex, "amount": uvox, "signature": hex}] (cumulative amounts).',
        args=(Arg("vouchers", "JSON file of vouchers, or -", VOUCHERS_FILE, metavar="VOUCHERS"),),
    ),
    TxCommand(
        module="channels",
        verb="close",
        msg=MsgClose,
        help="As the payee FROM, end CHANNEL_ID now: the unclaimed deposit returns to the payer.",
        args=(CHANNEL_ARG,),
    ),
    TxCommand(
        module="channels",
        verb="settle",
        msg=MsgSettle,
        help="As the payer FROM, start CHANNEL_ID's settle window (the payee may claim until "
        "it ends; then collect).",
        args=(CHANNEL_ARG,),
    ),
    TxCommand(
        module="channels",
        verb="collect",
        msg=MsgCollect,
        help="As the payer FROM, after the settle window, take back the unclaimed deposit.",
        args=(CHANNEL_ARG,),
    ),
)


def _shown(channel_id: bytes, raw: bytes) -> dict[str, Any]:
    shown = channel_json(channel_id, decode_channel(raw))
    shown["unclaimed"] = shown["deposit"] - shown["claimed"]
    return shown


def read_channel(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    channel_id = given["channel_id"]
    result = client.query("/channels/channel", channel_id, height=opts.height, prove=opts.prove)
    return {
        "channel": _shown(channel_id, result.value) if result.value else None,
        "height": result.height,
        "verified": result.verified,
    }


def render_channel(data: dict[str, Any]) -> None:
    channel = data["channel"]
    rows: dict[str, Any] = {"channel": "(none)"} if channel is None else dict(channel)
    for name in ("deposit", "claimed", "unclaimed"):
        if name in rows:
            rows[name] = format_uvox(rows[name])
    rows["height"] = data["height"]
    if data["verified"]:
        rows["proof"] = "verified against the signed block header"
    kv_table(rows)


def _read_list(path: str, role: str) -> Any:
    def read(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
        if opts.height is not None:
            fail("invalid_height", "a list is answered at the latest height only", opts.output)
        owner = given["address"]
        answer = client.query_list(path, owner, prove=opts.prove)
        return {
            role: encode_address(owner),
            "channels": [_shown(item.id, item.value) for item in answer.items],
            "height": answer.height,
            "verified": answer.verified,
        }

    return read


def render_list(data: dict[str, Any]) -> None:
    kv_table({k: str(v) for k, v in data.items() if k != "channels"})
    rows_table(
        [
            {
                "id": c["id"],
                "payer": c["payer"],
                "payee": c["payee"],
                "deposit": format_uvox(c["deposit"]),
                "claimed": format_uvox(c["claimed"]),
                "settle_at": c["settle_at"] or "open",
            }
            for c in data["channels"]
        ],
        ("id", "payer", "payee", "deposit", "claimed", "settle_at"),
    )


def read_nonce(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    result = client.query("/channels/nonce", given["address"], height=opts.height, prove=opts.prove)
    return {
        "payer": encode_address(given["address"]),
        "nonce": int.from_bytes(result.value, "big") if result.value else 0,
        "height": result.height,
        "verified": result.verified,
    }


QUERY_COMMANDS = (
    QueryCommand(
        module="channels",
        what="channel",
        help="A channel by id (none: null): parties, voucher key, deposit, claimed, settle time.",
        read=read_channel,
        args=(CHANNEL_ARG,),
        render=render_channel,
    ),
    QueryCommand(
        module="channels",
        what="by-payer",
        help="Every channel ADDRESS pays into (a list: with --prove, proven whole).",
        read=_read_list("/channels/by_payer", "payer"),
        args=(ADDRESS_ARG,),
        render=render_list,
    ),
    QueryCommand(
        module="channels",
        what="by-payee",
        help="Every channel that pays ADDRESS (a list: with --prove, proven whole).",
        read=_read_list("/channels/by_payee", "payee"),
        args=(ADDRESS_ARG,),
        render=render_list,
    ),
    QueryCommand(
        module="channels",
        what="nonce",
        help="ADDRESS's next channel nonce (its next channel id derives from it).",
        read=read_nonce,
        args=(ADDRESS_ARG,),
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)
