"""`voxpop tx services register|update|leave` and `voxpop query services offers|offer|reputation`:
the registry of paid API providers (the chain's services module)."""

from __future__ import annotations

from typing import Any

from voxpop.chain.encoding import decode_canonical
from voxpop.chain.modules.services.messages import MsgLeave, MsgRegister, MsgUpdate
from voxpop.chain.modules.services.module import offer_json
from voxpop.chain.modules.services.state import Offer, Reputation, price_unit
from voxpop.cli.commands.auth import ADDRESS_ARG
from voxpop.cli.declare import (
    AMOUNT,
    AMOUNT_HELP,
    TEXT,
    Arg,
    Inputs,
    Kind,
    QueryCommand,
    TxCommand,
)
from voxpop.cli.options import StateQueryOptions
from voxpop.cli.output import fail, format_uvox, kv_table, rows_table
from voxpop.cli.signing import parse_amount_text
from voxpop.client import VoxClient
from voxpop.crypto import encode_address


def _parse_languages(text: str | None, inputs: Inputs, label: str) -> list[str]:
    """`en-us,de` -> ["en-us", "de"]; empty: none (the chain checks each tag)."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _parse_key(text: str | None, inputs: Inputs, label: str) -> bytes:
    try:
        raw = bytes.fromhex(text or "")
    except ValueError:
        raw = b""
    # Verify 32 bytes of hex (whether it is a valid Ed25519 key, the chain's check says)
    if len(raw) != 32:
        fail("invalid_signing_key", f"{label} must be 64 hex digits (32 bytes)", inputs.output)
    return raw


def _parse_amount_or_zero(text: str | None, inputs: Inputs, label: str) -> int:
    return parse_amount_text(text or "0", label, inputs.output, allow_zero=True)


def _parse_kind(text: str | None, inputs: Inputs, label: str) -> str:
    return text or ""


LANGUAGES = Kind(str, _parse_languages)
SIGNING_KEY = Kind(str, _parse_key)
SERVICE_KIND = Kind(str, _parse_kind)
AMOUNT_OR_ZERO = Kind(str, _parse_amount_or_zero)

KIND_ARG = Arg("kind", "the service kind, e.g. stt, weather, echo", SERVICE_KIND, metavar="KIND")
TERMS = (
    KIND_ARG,
    Arg("endpoint", "the gateway's URL, e.g. https://stt.example.org", TEXT, metavar="ENDPOINT"),
    Arg("price", "uvox per call (stt: per started 10 s of audio); " + AMOUNT_HELP, AMOUNT),
    Arg(
        "signing_key",
        "Ed25519 public key that signs the gateway's receipts, 64 hex digits",
        SIGNING_KEY,
        "--signing-key",
    ),
    Arg(
        "languages", "comma-separated tags or regions, e.g. en-us,de", LANGUAGES, "--languages", ""
    ),
)

TX_COMMANDS = (
    TxCommand(
        module="services",
        verb="register",
        msg=MsgRegister,
        help="Offer KIND at ENDPOINT for PRICE, locking STAKE (at least the chain's min_stake) "
        "from FROM.",
        args=(*TERMS, Arg("stake", "at least the chain's min_stake; " + AMOUNT_HELP, AMOUNT)),
    ),
    TxCommand(
        module="services",
        verb="update",
        msg=MsgUpdate,
        help="Replace FROM's KIND offer's endpoint, price, languages and signing key; "
        "--add-stake locks more.",
        args=(
            *TERMS,
            Arg(
                "add_stake",
                "more stake to lock; " + AMOUNT_HELP,
                AMOUNT_OR_ZERO,
                "--add-stake",
                "0",
            ),
        ),
    ),
    TxCommand(
        module="services",
        verb="leave",
        msg=MsgLeave,
        help="Withdraw FROM's KIND offer: unlisted at once, its stake returns after the "
        "unbonding period.",
        args=(KIND_ARG,),
    ),
)


def shown_offer(provider: bytes, kind: str, raw: bytes) -> dict[str, Any]:
    """An offer as the CLI shows it: provider in bech32, key in hex, the price's unit."""
    offer = Offer.from_value(decode_canonical(raw))
    return {
        "provider": encode_address(provider),
        "kind": kind,
        **offer_json(offer),
        "unit": price_unit(kind),
        "active": offer.leaving_at == 0,
    }


def read_offers(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    if opts.height is not None:
        fail("invalid_height", "a list is answered at the latest height only", opts.output)
    kind = given["kind"]
    answer = client.query_list("/services/offers", kind.encode(), prove=opts.prove)
    return {
        "kind": kind,
        "offers": [shown_offer(item.id, kind, item.value) for item in answer.items],
        "height": answer.height,
        "verified": answer.verified,
    }


def render_offers(data: dict[str, Any]) -> None:
    kv_table({k: str(v) for k, v in data.items() if k != "offers"})
    rows_table(
        [
            {
                "provider": o["provider"],
                "price": f"{format_uvox(o['price'])} / {o['unit']}",
                "endpoint": o["endpoint"],
                "languages": ",".join(o["languages"]) or "-",
                "stake": format_uvox(o["stake"]),
            }
            for o in data["offers"]
        ],
        ("provider", "price", "endpoint", "languages", "stake"),
    )


def read_offer(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    provider, kind = given["address"], given["kind"]
    result = client.query(
        "/services/offer", provider + kind.encode(), height=opts.height, prove=opts.prove
    )
    return {
        "offer": shown_offer(provider, kind, result.value) if result.value else None,
        "height": result.height,
        "verified": result.verified,
    }


def render_offer(data: dict[str, Any]) -> None:
    offer = data["offer"]
    rows: dict[str, Any] = {"offer": "(none)"} if offer is None else dict(offer)
    for name in ("price", "stake"):
        if name in rows:
            rows[name] = format_uvox(rows[name])
    if "languages" in rows:
        rows["languages"] = ",".join(rows["languages"]) or "-"
    rows["height"] = data["height"]
    if data["verified"]:
        rows["proof"] = "verified against the signed block header"
    kv_table(rows)


def read_reputation(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    provider = given["address"]
    result = client.query("/services/reputation", provider, height=opts.height, prove=opts.prove)
    rep = Reputation.from_value(decode_canonical(result.value)) if result.value else Reputation()
    return {
        "provider": encode_address(provider),
        **rep.to_value(),
        "height": result.height,
        "verified": result.verified,
    }


QUERY_COMMANDS = (
    QueryCommand(
        module="services",
        what="offers",
        help="The active offers of --kind (a list: with --prove, proven whole).",
        read=read_offers,
        args=(Arg("kind", "the service kind, e.g. stt", SERVICE_KIND, "--kind"),),
        render=render_offers,
    ),
    QueryCommand(
        module="services",
        what="offer",
        help="PROVIDER's offer of KIND (none: null), active or leaving.",
        read=read_offer,
        args=(ADDRESS_ARG, KIND_ARG),
        render=render_offer,
    ),
    QueryCommand(
        module="services",
        what="reputation",
        help="PROVIDER's reputation facts: value settled, distinct payers, stake, age, slashes.",
        read=read_reputation,
        args=(ADDRESS_ARG,),
        amounts=("settled", "stake"),
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)
