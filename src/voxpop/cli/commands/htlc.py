"""`voxpop tx htlc lock|claim|refund|offer|take|cancel` and `voxpop query htlc
lock|offer|by-sender|by-recipient|offers`: hash-time-locked uvox and swap offers (the chain's
htlc module). `voxpop swap` drives whole swaps on top of these (docs/swaps.md)."""

from __future__ import annotations

from typing import Any

from voxpop.chain.modules.htlc.messages import (
    MsgCancel,
    MsgClaim,
    MsgLock,
    MsgOffer,
    MsgRefund,
    MsgTake,
)
from voxpop.chain.modules.htlc.module import lock_json, offer_json
from voxpop.chain.modules.htlc.state import decode_lock, decode_offer
from voxpop.cli.commands.auth import ADDRESS_ARG
from voxpop.cli.commands.channels import HEX32
from voxpop.cli.declare import AMOUNT_HELP, Arg, QueryCommand, TxCommand
from voxpop.cli.options import StateQueryOptions
from voxpop.cli.output import fail
from voxpop.client import VoxClient
from voxpop.crypto import encode_address

LOCK_ARG = Arg("lock_id", "the lock id, 64 hex digits", HEX32, metavar="LOCK_ID")
OFFER_ARG = Arg("offer_id", "the offer id, 64 hex digits", HEX32, metavar="OFFER_ID")

TX_COMMANDS = (
    TxCommand(
        module="htlc",
        verb="lock",
        msg=MsgLock,
        help="Lock AMOUNT of FROM's uvox for RECIPIENT under HASHLOCK (sha256 of a 32-byte "
        "secret) until block time TIMEOUT (unix s); its id is sha256 of sender, recipient, "
        "hashlock (docs/swaps.md).",
        args=(
            Arg("recipient", "vox1 address or key name"),
            Arg("amount", AMOUNT_HELP),
            Arg("hashlock", "sha256 of the secret, 64 hex digits", HEX32),
            Arg("timeout", "block time (unix seconds) the refund opens at"),
        ),
    ),
    TxCommand(
        module="htlc",
        verb="claim",
        msg=MsgClaim,
        help="Pay LOCK_ID to its recipient with PREIMAGE (the 32-byte secret, made public).",
        args=(LOCK_ARG, Arg("preimage", "the secret, 64 hex digits", HEX32)),
    ),
    TxCommand(
        module="htlc",
        verb="refund",
        msg=MsgRefund,
        help="Return LOCK_ID to its sender, once its timeout has passed.",
        args=(LOCK_ARG,),
    ),
    TxCommand(
        module="htlc",
        verb="offer",
        msg=MsgOffer,
        help="Post a swap offer (`voxpop swap offer` picks the secret and runs the swap).",
        args=(
            Arg("side", "sell (FROM gives uvox) or buy"),
            Arg("amount", AMOUNT_HELP),
            Arg("asset", "ETH or BTC"),
            Arg("asset_amount", "in the asset's smallest unit (wei, sat)"),
            Arg("other_address", "FROM's address on the other chain"),
            Arg("hashlock", "sha256 of the secret, 64 hex digits", HEX32),
            Arg("offerer_seconds", "how long FROM's lock lasts", flag="--offerer-seconds"),
            Arg("taker_seconds", "how long the taker's lock lasts", flag="--taker-seconds"),
            Arg("expires_at", "block time the offer ends", flag="--expires-at"),
        ),
    ),
    TxCommand(
        module="htlc",
        verb="take",
        msg=MsgTake,
        help="Take OFFER_ID, naming FROM's address on the other chain "
        "(`voxpop swap take` runs the swap).",
        args=(OFFER_ARG, Arg("other_address", "FROM's address on the other chain")),
    ),
    TxCommand(
        module="htlc",
        verb="cancel",
        msg=MsgCancel,
        help="Withdraw FROM's offer OFFER_ID.",
        args=(OFFER_ARG,),
    ),
)


def _shown(name: str, item_id: bytes, raw: bytes) -> dict[str, Any]:
    if name == "lock":
        return lock_json(item_id, decode_lock(raw))
    return offer_json(item_id, decode_offer(raw))


def _read_one(path: str, name: str) -> Any:
    field = f"{name}_id"

    def read(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
        result = client.query(path, given[field], height=opts.height, prove=opts.prove)
        value = _shown(name, given[field], result.value) if result.value else None
        return {name: value, "height": result.height, "verified": result.verified}

    return read


def _read_list(path: str, role: str | None) -> Any:
    def read(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
        if opts.height is not None:
            fail("invalid_height", "a list is answered at the latest height only", opts.output)
        owner = given["address"] if role else b""
        answer = client.query_list(path, owner, prove=opts.prove)
        if role is None:
            items = [offer_json(i.id, decode_offer(i.value)) for i in answer.items]
            return {"offers": items, "height": answer.height, "verified": answer.verified}
        return {
            role: encode_address(owner),
            "locks": [lock_json(i.id, decode_lock(i.value)) for i in answer.items],
            "height": answer.height,
            "verified": answer.verified,
        }

    return read


QUERY_COMMANDS = (
    QueryCommand(
        module="htlc",
        what="lock",
        help="A lock by id (none: null): parties, amount, hashlock, timeout, status, preimage.",
        read=_read_one("/htlc/lock", "lock"),
        args=(LOCK_ARG,),
    ),
    QueryCommand(
        module="htlc",
        what="offer",
        help="A swap offer by id (none: null), with its taker once taken.",
        read=_read_one("/htlc/offer", "offer"),
        args=(OFFER_ARG,),
    ),
    QueryCommand(
        module="htlc",
        what="by-sender",
        help="ADDRESS's open locks (a list: with --prove, proven whole).",
        read=_read_list("/htlc/by_sender", "sender"),
        args=(ADDRESS_ARG,),
    ),
    QueryCommand(
        module="htlc",
        what="by-recipient",
        help="The open locks paying ADDRESS (a list: with --prove, proven whole).",
        read=_read_list("/htlc/by_recipient", "recipient"),
        args=(ADDRESS_ARG,),
    ),
    QueryCommand(
        module="htlc",
        what="offers",
        help="Every open (untaken) swap offer (a list: with --prove, proven whole).",
        read=_read_list("/htlc/open_offers", None),
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)
