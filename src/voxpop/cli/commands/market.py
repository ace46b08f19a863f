"""`voxpop tx market post|close|settle|dispute` and `voxpop query market
offer|offers|by-buyer|sale|record|params`: data offers, escrowed, and their sales (the chain's
market module). The owner's agent and the buyer's `voxpop market ...` commands build on these."""

from __future__ import annotations

import secrets
from typing import Any

from voxpop.chain.modules.market.messages import (
    MAX_EVIDENCE,
    MsgClose,
    MsgDispute,
    MsgPost,
    MsgSettle,
)
from voxpop.chain.modules.market.module import offer_json, sale_json
from voxpop.chain.modules.market.state import (
    decode_offer,
    decode_params,
    decode_record,
    decode_sale,
)
from voxpop.cli.commands.auth import ADDRESS_ARG
from voxpop.cli.commands.channels import HEX32
from voxpop.cli.commands.storage import OBJECT_ARG, OBJECT_IDS
from voxpop.cli.declare import (
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
from voxpop.cli.options import StateQueryOptions, TxOptions
from voxpop.cli.output import fail, format_uvox, kv_table, rows_table
from voxpop.client import VoxClient
from voxpop.crypto import encode_address


def _parse_evidence(text: str | None, inputs: Inputs, label: str) -> bytes:
    try:
        raw = bytes.fromhex(text or "")
    except ValueError:
        fail("invalid_message", f"{label} must be hex", inputs.output)
    # Verify what the chain takes, before signing
    if len(raw) > MAX_EVIDENCE:
        fail("invalid_message", f"{label} is at most {MAX_EVIDENCE} bytes", inputs.output)
    return raw


EVIDENCE = Kind(str, _parse_evidence)
OFFER_ARG = Arg("offer_id", "the offer id, 64 hex digits", HEX32, metavar="OFFER_ID")


def _complete_post(opts: TxOptions, value: dict[str, Any]) -> dict[str, Any]:
    """A fresh random offer id and the budget the chain asks for exactly, unless given."""
    if value["offer_id"] is None:
        value["offer_id"] = secrets.token_bytes(32)
    if value["budget"] is None:
        value["budget"] = value["price"] * value["max_objects"]
    return value


TX_COMMANDS = (
    TxCommand(
        module="market",
        verb="post",
        msg=MsgPost,
        help="Offer PRICE per object for up to MAX_OBJECTS objects of KIND, for --purpose, until "
        "--expires (unix seconds); PRICE x MAX_OBJECTS moves into escrow. The offer id is "
        "random unless --offer-id is given (query market by-buyer lists it).",
        args=(
            Arg("kind", "what data, e.g. utterance", TEXT, metavar="KIND"),
            Arg("price", AMOUNT_HELP),
            Arg("max_objects", "how many objects at most", INTEGER, metavar="MAX_OBJECTS"),
            Arg("purpose", "one of consent's purposes", TEXT, "--purpose"),
            Arg("expires", "unix seconds: no new sales after it", INTEGER, "--expires"),
            Arg("language", "e.g. en", TEXT, "--language", default="en"),
            Arg("min_seconds", "shortest object, seconds", INTEGER, "--min-seconds", default=0),
            Arg("max_seconds", "longest object, seconds", INTEGER, "--max-seconds", default=60),
            Arg(
                "access_seconds",
                "how long a seller's grant may last",
                INTEGER,
                "--access-seconds",
                default=86_400,
            ),
            Arg("offer_id", "64 hex digits (default: random)", HEX32, "--offer-id", default=None),
            Arg(
                "budget",
                "the escrow (default: PRICE x MAX_OBJECTS, what the chain asks for exactly)",
                AMOUNT,
                "--budget",
                default=None,
            ),
        ),
        complete=_complete_post,
    ),
    TxCommand(
        module="market",
        verb="close",
        msg=MsgClose,
        help="As the buyer FROM, end OFFER_ID once sellers' time to settle is over: the escrow "
        "left returns.",
        args=(OFFER_ARG,),
    ),
    TxCommand(
        module="market",
        verb="settle",
        msg=MsgSettle,
        help="As the seller FROM, be paid for OBJECT_IDS (comma-separated) that OFFER_ID's buyer "
        "accessed under your grant GRANT_ID (paid after the dispute window).",
        args=(
            OFFER_ARG,
            Arg("grant_id", "the grant id, 64 hex digits", HEX32, metavar="GRANT_ID"),
            Arg("object_ids", "object ids, comma-separated hex", OBJECT_IDS, metavar="OBJECT_IDS"),
        ),
    ),
    TxCommand(
        module="market",
        verb="dispute",
        msg=MsgDispute,
        help="As the buyer FROM, refuse the held payment for OBJECT_ID under OFFER_ID (within "
        "the dispute window); --evidence is published in the tx.",
        args=(
            OFFER_ARG,
            OBJECT_ARG,
            Arg("evidence", "hex, at most 4096 bytes", EVIDENCE, "--evidence", default=""),
        ),
    ),
)


def _shown_offer(offer_id: bytes, raw: bytes) -> dict[str, Any]:
    offer = decode_offer(raw)
    return {**offer_json(offer_id, offer), "escrow": offer.escrow}


def _answer(name: str, value: Any, result: Any) -> dict[str, Any]:
    return {name: value, "height": result.height, "verified": result.verified}


def read_offer(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    offer_id = given["offer_id"]
    result = client.query("/market/offer", offer_id, height=opts.height, prove=opts.prove)
    return _answer("offer", _shown_offer(offer_id, result.value) if result.value else None, result)


def read_sale(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    offer_id, object_id = given["offer_id"], given["object_id"]
    data = offer_id + object_id
    result = client.query("/market/sale", data, height=opts.height, prove=opts.prove)
    shown = sale_json(offer_id, object_id, decode_sale(result.value)) if result.value else None
    return _answer("sale", shown, result)


def read_record(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    address = given["address"]
    result = client.query("/market/record", address, height=opts.height, prove=opts.prove)
    record = decode_record(result.value).to_value() if result.value else None
    return {"address": encode_address(address), **_answer("record", record, result)}


def read_params(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    result = client.query("/market/params", b"", height=opts.height, prove=opts.prove)
    params = decode_params(result.value) if result.value else None
    return _answer("params", params.to_value() if params else None, result)


def _read_list(path: str, owner_of: Any, label: str) -> Any:
    def read(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
        # Verify the latest height: lists are answered there only
        if opts.height is not None:
            fail("invalid_height", "a list is answered at the latest height only", opts.output)
        owner, shown = owner_of(given)
        answer = client.query_list(path, owner, prove=opts.prove)
        return {
            label: shown,
            "offers": [_shown_offer(item.id, item.value) for item in answer.items],
            "height": answer.height,
            "verified": answer.verified,
        }

    return read


def render_offers(data: dict[str, Any]) -> None:
    kv_table({k: str(v) for k, v in data.items() if k != "offers"})
    rows_table(
        [
            {
                "offer_id": o["offer_id"],
                "kind": o["kind"],
                "language": o["language"],
                "purpose": o["purpose"],
                "price": format_uvox(o["price"]),
                "left": o["max_objects"] - o["paid"] - o["held"],
                "expires": o["expires"],
            }
            for o in data["offers"]
        ],
        ("offer_id", "kind", "language", "purpose", "price", "left", "expires"),
    )


KIND_ARG = Arg("kind", "what data, e.g. utterance", TEXT, metavar="KIND")

QUERY_COMMANDS = (
    QueryCommand(
        module="market",
        what="offer",
        help="An open offer by id (none: null): terms, escrow, objects paid, held, disputed.",
        read=read_offer,
        args=(OFFER_ARG,),
    ),
    QueryCommand(
        module="market",
        what="offers",
        help="Every open offer of KIND (a list: with --prove, proven whole).",
        read=_read_list("/market/offers", lambda g: (g["kind"].encode(), g["kind"]), "kind"),
        args=(KIND_ARG,),
        render=render_offers,
    ),
    QueryCommand(
        module="market",
        what="by-buyer",
        help="Every open offer ADDRESS posted (a list: with --prove, proven whole).",
        read=_read_list(
            "/market/by_buyer", lambda g: (g["address"], encode_address(g["address"])), "buyer"
        ),
        args=(ADDRESS_ARG,),
        render=render_offers,
    ),
    QueryCommand(
        module="market",
        what="sale",
        help="OBJECT_ID's sale under OFFER_ID (none: null): seller, grant, held|paid|disputed.",
        read=read_sale,
        args=(OFFER_ARG, OBJECT_ARG),
    ),
    QueryCommand(
        module="market",
        what="record",
        help="ADDRESS's market record: objects sold and bought, disputes made and against it.",
        read=read_record,
        args=(ADDRESS_ARG,),
    ),
    QueryCommand(
        module="market",
        what="params",
        help="Market parameters: dispute window, settle time, limits.",
        read=read_params,
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)
