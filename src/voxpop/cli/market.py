"""`voxpop market offers|offer post|offer close|fetch`: the buyer's side of the data market
(issue 14). An offer escrows price x max_objects on chain; owners' agents that match it grant
access; `fetch` collects every granted object through the grant's privacy nodes (paid per
re-encryption through payment channels), decrypted and checked, with a manifest.

    voxpop market offer post --kind utterance --language en --purpose asr-training \\
        --price 25 --max-objects 20 --key buyer
    voxpop market fetch OFFER --out ./bought --key buyer
    voxpop market offer close OFFER --key buyer

See docs/operations/consent.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from voxpop.cli.connect import client_errors, light_client, trusted_keys
from voxpop.cli.options import with_options
from voxpop.cli.output import OutputFormat, emit, fail, rows_table
from voxpop.cli.owner import KeyOption, OwnerReadOptions, load_owner
from voxpop.client import VoxClient
from voxpop.client.consent import ConsentClientError
from voxpop.client.consent.marketview import offers_of_buyer, offers_of_kind
from voxpop.client.consent.nodes import PrivacyNodes, paid_ask
from voxpop.client.consent.offers import OfferRequest, close_offer, collect, post_offer
from voxpop.client.payments import PayingClient
from voxpop.crypto.address import encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.node.home import default_home

market_app = typer.Typer(
    no_args_is_help=True, help="Buy data for a purpose: offers escrowed on chain, access granted."
)
offer_app = typer.Typer(no_args_is_help=True, help="Post or close your offers.")
market_app.add_typer(offer_app, name="offer")
DAY = 86_400

OfferArgument: Any = typer.Argument(..., metavar="OFFER", help="the offer id (64 hex digits)")


@contextmanager
def buyer_session(key: str, opts: OwnerReadOptions) -> Iterator[tuple[VoxClient, PrivateKey]]:
    keys = trusted_keys(opts.trust, opts.home, opts.output)
    light = light_client(opts.trust_height, opts.trust_hash, opts.home, opts.output)
    signer = load_owner(key, opts)
    with (
        client_errors(opts.output),
        VoxClient(opts.node, trusted_validator_keys=keys, light=light) as vox,
    ):
        try:
            yield vox, signer.key
        except ConsentClientError as exc:
            fail(exc.code, exc.message, opts.output)


def parse_offer_id(text: str, fmt: OutputFormat) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    # Verify an offer id: 32 bytes in hex
    if len(raw) != 32:
        fail("invalid_offer_id", f"{text!r} is not an offer id (64 hex digits)", fmt)
    return raw


def offer_row(offer_id: bytes, o: Any) -> dict[str, Any]:
    return {
        "offer": offer_id.hex(),
        "buyer": encode_address(o.buyer),
        "kind": o.kind,
        "language": o.language,
        "seconds": f"{o.min_seconds}-{o.max_seconds}",
        "purpose": o.purpose,
        "price": o.price,
        "objects": f"{o.settled}/{o.max_objects}",
        "paid": o.paid,
        "escrow": o.escrow,
        "expires": o.expires,
    }


@market_app.command("offers")
@with_options(OwnerReadOptions)
def offers(
    kind: str | None = typer.Option(None, "--kind", help="open offers of a kind (default: yours)"),
    key: str = KeyOption,
    *,
    opts: OwnerReadOptions,
) -> None:
    """Open offers of a kind (proven complete), or your own."""
    with buyer_session(key, opts) as (vox, account):
        found = (
            offers_of_kind(vox, kind)
            if kind is not None
            else offers_of_buyer(vox, account.public_key.address)
        )
    rows = [offer_row(oid, o) for oid, o in found]

    def render(_: Any) -> None:
        cols = ("offer", "kind", "language", "purpose", "price", "objects", "escrow")
        rows_table(rows, cols, title="offers")

    emit({"offers": rows}, opts.output, render)


@offer_app.command("post")
@with_options(OwnerReadOptions)
def post(
    kind: str = typer.Option(..., "--kind", help="what data: utterance, ..."),
    purpose: str = typer.Option(..., "--purpose", help="one of the chain's purposes"),
    price: int = typer.Option(..., "--price", min=1, help="uvox per object"),
    max_objects: int = typer.Option(..., "--max-objects", min=1, help="objects bought at most"),
    language: str = typer.Option("", "--language", help="e.g. en (default: any)"),
    min_seconds: int = typer.Option(0, "--min-seconds", min=0),
    max_seconds: int = typer.Option(60, "--max-seconds", min=1),
    access_days: int = typer.Option(7, "--access-days", min=1, help="how long a grant lasts"),
    expires_days: int = typer.Option(7, "--expires-days", min=1, help="no new sales after"),
    key: str = KeyOption,
    *,
    opts: OwnerReadOptions,
) -> None:
    """Post an offer: price x max-objects moves into escrow now; the rest returns at close."""
    req = OfferRequest(
        kind=kind,
        language=language,
        min_seconds=min_seconds,
        max_seconds=max_seconds,
        purpose=purpose,
        price=price,
        access_seconds=access_days * DAY,
        max_objects=max_objects,
        expires=int(time.time()) + expires_days * DAY,
    )
    with buyer_session(key, opts) as (vox, account):
        offer_id, tx = post_offer(vox, account, req)
    emit({"offer": offer_id.hex(), "budget": price * max_objects, "tx_hash": tx}, opts.output)


@offer_app.command("close")
@with_options(OwnerReadOptions)
def close(offer: str = OfferArgument, key: str = KeyOption, *, opts: OwnerReadOptions) -> None:
    """Close your offer once its time for settlements is over: the rest of the escrow returns."""
    offer_id = parse_offer_id(offer, opts.output)
    with buyer_session(key, opts) as (vox, account):
        tx = close_offer(vox, account, offer_id)
    emit({"offer": offer, "closed": True, "tx_hash": tx}, opts.output)


@market_app.command("fetch")
@with_options(OwnerReadOptions)
def fetch(
    offer: str = OfferArgument,
    out: Path = typer.Option(..., "--out", file_okay=False, help="the directory to write into"),
    unpaid: bool = typer.Option(
        False, "--unpaid", help="ask the nodes directly (nodes whose price is 0)"
    ),
    key: str = KeyOption,
    *,
    opts: OwnerReadOptions,
) -> None:
    """Collect every object granted for OFFER: m privacy nodes re-encrypt its key, the shards
    come from the storage nodes; each is decrypted and checked against the content hash the
    grant committed to. Writes OUT/<object>.bin and OUT/manifest.json."""
    offer_id = parse_offer_id(offer, opts.output)
    home = opts.home if opts.home is not None else default_home()
    with buyer_session(key, opts) as (vox, account):
        if unpaid:
            with PrivacyNodes(account) as nodes:
                written, failed = collect(
                    vox, account, offer_id, out, lambda _, url, req: nodes.reencrypt(url, req)
                )
        else:
            with PayingClient(vox, account, ledger=home / "payments.db") as payer:
                written, failed = collect(vox, account, offer_id, out, paid_ask(payer))
    rows = [{"object": w.object_id, "file": w.file, "size": w.size} for w in written]

    def render(_: Any) -> None:
        rows_table(rows, ("object", "file", "size"), title=f"fetched into {out}")

    emit(
        {"objects": rows, "failed": failed, "manifest": str(out / "manifest.json")},
        opts.output,
        render,
    )
    if failed and not written:
        fail("fetch_failed", f"no object could be fetched: {failed}", opts.output)
