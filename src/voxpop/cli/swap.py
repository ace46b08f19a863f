"""`voxpop swap offer|take|offers|status|run|refund`: trustless swaps of VOX for ETH or BTC, with
no exchange in the middle (hash-time-locked on both chains; docs/swaps.md).

The tool keeps one file per swap in --dir (default ~/.voxpop/swap; the offerer's holds the secret)
and its chains' settings in --dir/config.json. `offer` and `take` keep watching both chains until
the swap is done unless --no-watch; `run` resumes every unfinished swap (after a crash, a reboot).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from voxpop.cli.output import OutputFormat, OutputOption, emit, fail, rows_table
from voxpop.cli.signing import parse_amount_text
from voxpop.swap.config import open_legs
from voxpop.swap.engine import (
    DEFAULT_MARGIN_SECONDS,
    DEFAULT_OFFER_SECONDS,
    DEFAULT_OFFERER_SECONDS,
    DEFAULT_TAKER_SECONDS,
    OfferTerms,
    SwapEngine,
    SwapError,
)
from voxpop.swap.legs import SwapLegError
from voxpop.swap.store import SwapRecord, SwapStore

swap_app = typer.Typer(no_args_is_help=True, help="Swap VOX for ETH or BTC, trustlessly.")

DirOption = typer.Option(
    Path("~/.voxpop/swap"), "--dir", help="the swap tool's state dir (config.json, one file a swap)"
)
WatchOption = typer.Option(True, "--watch/--no-watch", help="keep going until the swap is done")
PollOption = typer.Option(2.0, "--poll", help="seconds between looks at the chains")
MarginOption = typer.Option(
    DEFAULT_MARGIN_SECONDS, "--margin-seconds", help="least time left on a lock to act on it"
)


def _engine(root: Path, fmt: OutputFormat) -> SwapEngine:
    root = root.expanduser()
    try:
        vox, others = open_legs(root)
    except (SwapLegError, OSError) as exc:
        fail("swap_config", str(exc), fmt)
    except Exception as exc:  # a keyring that will not open, a bad passphrase
        fail("swap_config", f"{type(exc).__name__}: {exc}", fmt)
    return SwapEngine(SwapStore(root), vox, others)


def _shown(r: SwapRecord) -> dict[str, Any]:
    shown = r.to_json()
    shown.pop("secret")  # never printed: the offerer's is the swap's key, the taker's is public
    return shown


def _finish(engine: SwapEngine, record: SwapRecord, watch: bool, poll: float, fmt: Any) -> None:
    if watch:
        engine.run(record, poll_s=poll)
    emit(_shown(record), fmt)


@swap_app.command("offer")
def offer_cmd(
    side: str = typer.Argument(..., help="sell (give VOX for ASSET) or buy (give ASSET for VOX)"),
    amount: str = typer.Argument(..., help="VOX: e.g. 5vox, 5000000uvox"),
    asset: str = typer.Argument(..., help="ETH or BTC"),
    asset_amount: int = typer.Argument(..., help="in the asset's smallest unit (wei, sat)"),
    offerer_seconds: int = typer.Option(DEFAULT_OFFERER_SECONDS, "--offerer-seconds"),
    taker_seconds: int = typer.Option(DEFAULT_TAKER_SECONDS, "--taker-seconds"),
    margin_seconds: int = MarginOption,
    offer_seconds: int = typer.Option(DEFAULT_OFFER_SECONDS, "--offer-seconds"),
    root: Path = DirOption,
    watch: bool = WatchOption,
    poll: float = PollOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Post an offer (with a new secret's hash); once taken, lock first and swap."""
    vox = parse_amount_text(amount, "AMOUNT", output)
    engine = _engine(root, output)
    terms = OfferTerms(
        side,
        vox,
        asset.upper(),
        asset_amount,
        offerer_seconds,
        taker_seconds,
        margin_seconds,
        offer_seconds,
    )
    try:
        record = engine.offer(terms)
    except SwapError as exc:
        fail(exc.code, exc.message, output)
    _finish(engine, record, watch, poll, output)


@swap_app.command("take")
def take_cmd(
    offer_id: str = typer.Argument(..., help="the offer's id (voxpop swap offers)"),
    expect_vox: str | None = typer.Option(None, "--expect-vox", help="refuse other VOX amounts"),
    expect_amount: int | None = typer.Option(
        None, "--expect-amount", help="refuse other asset amounts"
    ),
    margin_seconds: int = MarginOption,
    root: Path = DirOption,
    watch: bool = WatchOption,
    poll: float = PollOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Take an open offer: the offerer locks first; we lock second, shorter, and claim with the
    secret the offerer reveals."""
    try:
        raw_id = bytes.fromhex(offer_id)
    except ValueError:
        raw_id = b""
    if len(raw_id) != 32:
        fail("invalid_offer_id", "OFFER_ID must be 64 hex digits", output)
    vox = None if expect_vox is None else parse_amount_text(expect_vox, "--expect-vox", output)
    engine = _engine(root, output)
    try:
        record = engine.take(
            raw_id, margin_seconds=margin_seconds, expect_vox=vox, expect_asset_amount=expect_amount
        )
    except SwapError as exc:
        fail(exc.code, exc.message, output)
    except SwapLegError as exc:
        fail("swap_chain", exc.message, output)
    _finish(engine, record, watch, poll, output)


@swap_app.command("offers")
def offers_cmd(root: Path = DirOption, output: OutputFormat = OutputOption) -> None:
    """The open offers on the VOX chain (proven complete)."""
    engine = _engine(root, output)
    try:
        listed = engine.vox.open_offers()
    except SwapLegError as exc:
        fail("swap_chain", exc.message, output)
    from voxpop.chain.modules.htlc.module import offer_json

    offers = [offer_json(p.offer_id, p.offer) for p in listed]
    columns = ("id", "side", "amount", "asset", "asset_amount", "offerer_seconds", "expires_at")
    emit({"offers": offers}, output, lambda d: rows_table(d["offers"], columns))


@swap_app.command("status")
def status_cmd(
    swap_id: str | None = typer.Argument(None, help="a hashlock or offer id (prefix); none: all"),
    root: Path = DirOption,
    output: OutputFormat = OutputOption,
) -> None:
    """What this tool's swaps are doing (from its files; no chain is asked)."""
    store = SwapStore(root.expanduser())
    try:
        records = [store.find(swap_id)] if swap_id else store.all()
    except KeyError as exc:
        fail("swap_not_found", str(exc), output)
    columns = ("hashlock", "role", "side", "asset", "phase", "outcome")
    emit(
        {"swaps": [_shown(r) for r in records]},
        output,
        lambda d: rows_table(
            [{c: str(s[c])[:16] if c == "hashlock" else s[c] for c in columns} for s in d["swaps"]],
            columns,
        ),
    )


@swap_app.command("run")
def run_cmd(
    swap_id: str | None = typer.Argument(None, help="one swap (prefix); none: every unfinished"),
    root: Path = DirOption,
    poll: float = PollOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Resume swaps (after a crash or a reboot) and watch until each is done."""
    engine = _engine(root, output)
    try:
        records = [engine.store.find(swap_id)] if swap_id else engine.store.all()
    except KeyError as exc:
        fail("swap_not_found", str(exc), output)
    pending = [r for r in records if not r.done]
    while any(not r.done for r in pending):
        moved = False
        for record in pending:
            if not record.done:
                moved = engine.tick(record) or moved
        if not moved:
            engine.sleep(poll)
    emit({"swaps": [_shown(r) for r in records]}, output)


@swap_app.command("refund")
def refund_cmd(
    swap_id: str = typer.Argument(..., help="a hashlock or offer id (prefix)"),
    root: Path = DirOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Take our lock back now (its timeout must have passed; `run` does this by itself)."""
    engine = _engine(root, output)
    try:
        record = engine.refund_now(engine.store.find(swap_id))
    except KeyError as exc:
        fail("swap_not_found", str(exc), output)
    except SwapError as exc:
        fail(exc.code, exc.message, output)
    except SwapLegError as exc:
        fail("swap_chain", exc.message, output)
    emit(_shown(record), output)
