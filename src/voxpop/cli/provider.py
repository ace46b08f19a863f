"""`voxpop provider start|status|claim`: run a paid-API provider gateway; `voxpop provider call`:
pay for one call.

See docs/operations/provider.md."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import typer

from voxpop.cli.keyring import (
    BACKEND_ENV,
    KeyringBackendChoice,
    open_keyring,
    read_passphrase,
)
from voxpop.cli.options import NODE_ENV
from voxpop.cli.output import OutputFormat, OutputOption, emit, fail
from voxpop.client import DEFAULT_URL
from voxpop.crypto import CryptoError, PrivateKey, encode_address
from voxpop.node.home import default_home
from voxpop.provider.claims import DEFAULT_CLAIM_THRESHOLD
from voxpop.provider.status import STATUS_NAME, read_status

provider_app = typer.Typer(no_args_is_help=True, help="Sell an API (stt, ...) for paid calls.")

STALE_STATUS_SECONDS = 5

HomeOption = typer.Option(default_home(), "--home", help="provider home (keyring, voucher log)")
KeyOption = typer.Option("provider", "--key", help="the keyring key of the provider's account")
BackendOption = typer.Option(
    KeyringBackendChoice.FILE, "--keyring-backend", envvar=BACKEND_ENV, case_sensitive=False
)
PassphraseOption = typer.Option(None, "--passphrase-file", help="first line: the passphrase")
NodeOption = typer.Option(DEFAULT_URL, "--node", envvar=NODE_ENV, help="the node's API URL")


def _account(
    home: Path, key: str, backend: KeyringBackendChoice, passphrase: Path | None, fmt: OutputFormat
) -> PrivateKey:
    secret = read_passphrase(backend, passphrase, fmt)
    try:
        return open_keyring(home, backend).load_private_key(key, secret)
    except CryptoError as exc:
        fail(getattr(exc, "code", "key_unavailable"), str(exc), fmt)


@provider_app.command("start")
def start(
    service: str = typer.Option(..., "--service", help="the service kind sold: stt, echo, ..."),
    engine: str = typer.Option(
        ...,
        "--engine",
        help="echo | pocketsphinx | openweathermap | wolframalpha | places | ovos:<plugin-name> "
        "(docs/operations/engines.md)",
    ),
    home: Path = HomeOption,
    key: str = KeyOption,
    keyring_backend: KeyringBackendChoice = BackendOption,
    passphrase_file: Path | None = PassphraseOption,
    node: str = NodeOption,
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8700, "--port"),
    endpoint: str | None = typer.Option(None, "--endpoint", help="public URL (default from host)"),
    price: int | None = typer.Option(
        None, "--price", min=0, help="uvox per unit (default: the registered offer's price)"
    ),
    grammar: Path | None = typer.Option(None, "--grammar", help="a JSGF grammar file (stt)"),
    engine_option: list[str] | None = typer.Option(
        None,
        "--engine-option",
        help="NAME=VALUE for the engine (repeatable), e.g. upstream=https://api.example, "
        "key_file=owm.key, timeout=5, lang=en-us",
    ),
    claim_threshold: int = typer.Option(
        DEFAULT_CLAIM_THRESHOLD, "--claim-threshold", min=1, help="claim once this much is owed"
    ),
    claim_interval: float = typer.Option(2.0, "--claim-interval", min=0.1),
    refresh_interval: float = typer.Option(5.0, "--refresh-interval", min=0.1),
    bench_unpaid: bool = typer.Option(
        False, "--bench-unpaid", help="also serve the engine unpaid at /v1/unpaid/KIND (benchmarks)"
    ),
    output: OutputFormat = OutputOption,
) -> None:
    """Serve paid calls of one service kind until Ctrl-C / SIGTERM."""
    from voxpop.provider.service import Provider, ProviderConfig, ProviderError

    account = _account(home, key, keyring_backend, passphrase_file, output)
    grammar_text = None
    if grammar is not None:
        try:
            grammar_text = grammar.read_text(encoding="utf-8")
        except OSError as exc:
            fail("grammar_unreadable", f"cannot read {grammar}: {exc.strerror}", output)
    options: dict[str, str] = {}
    for item in engine_option or []:
        name, sep, value = item.partition("=")
        # Verify each option is NAME=VALUE, each name once
        if not sep or not name or name in options:
            fail(
                "invalid_engine_option",
                f"--engine-option takes NAME=VALUE once each: {item!r}",
                output,
            )
        options[name] = value
    config = ProviderConfig(
        home=home,
        kind=service,
        engine=engine,
        node_url=node,
        price=price,
        host=host,
        port=port,
        endpoint=endpoint,
        bench_unpaid=bench_unpaid,
        grammar=grammar_text,
        engine_options=options,
        claim_threshold=claim_threshold,
        claim_interval=claim_interval,
        refresh_interval=refresh_interval,
    )
    try:
        provider = Provider(config, account)
    except ProviderError as exc:
        fail(exc.code, str(exc), output)
    identity = provider.gateway.identity
    emit(
        {
            "listening": f"http://{host}:{port}",
            "provider": identity.provider_text,
            "kind": identity.kind,
            "price": identity.price,
            "chain_id": identity.chain_id,
            "signing_key": bytes(provider.gateway.response_key.verify_key).hex(),
        },
        output,
    )
    try:
        provider.run()
    except ProviderError as exc:
        fail(exc.code, str(exc), output)


@provider_app.command("signing-key")
def signing_key(
    home: Path = HomeOption,
    key: str = KeyOption,
    keyring_backend: KeyringBackendChoice = BackendOption,
    passphrase_file: Path | None = PassphraseOption,
    output: OutputFormat = OutputOption,
) -> None:
    """The receipt-signing public key to register with the offer (derived from the account key)."""
    from voxpop.crypto import encode_address
    from voxpop.provider.keys import response_public_key

    account = _account(home, key, keyring_backend, passphrase_file, output)
    emit(
        {
            "provider": encode_address(account.public_key.address),
            "signing_key": response_public_key(account).hex(),
        },
        output,
    )


@provider_app.command("status")
def status(home: Path = HomeOption, output: OutputFormat = OutputOption) -> None:
    """What the provider running on this home reports: calls, earnings, claims, its node."""
    from voxpop.provider.service import provider_dir

    data = read_status(provider_dir(home) / STATUS_NAME)
    if data is None:
        fail("no_status", f"no provider has run on {home}", output)
    age = int(time.time()) - int(data.get("updated_at", 0))
    data["running"] = age <= STALE_STATUS_SECONDS and _alive(int(data.get("pid", 0)))
    data["status_age_s"] = age
    emit(data, output)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@provider_app.command("claim")
def claim(
    home: Path = HomeOption,
    key: str = KeyOption,
    keyring_backend: KeyringBackendChoice = BackendOption,
    passphrase_file: Path | None = PassphraseOption,
    node: str = NodeOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Claim on chain now everything the voucher log holds beyond what the chain has paid."""
    from voxpop.provider.service import ProviderConfig, ProviderError, claim_now

    account = _account(home, key, keyring_backend, passphrase_file, output)
    config = ProviderConfig(home=home, kind="", engine="", node_url=node)
    try:
        result = asyncio.run(claim_now(config, account))
    except ProviderError as exc:
        fail(exc.code, str(exc), output)
    emit(result, output)


@provider_app.command("call")
def call(
    kind: str = typer.Argument(..., help="the service kind: stt, weather, knowledge, geolocation"),
    data: str | None = typer.Option(None, "--data", help="the JSON request (not for stt)"),
    audio: Path | None = typer.Option(
        None, "--audio", help="stt: a 16 kHz FLAC or WAV file", exists=True, dir_okay=False
    ),
    home: Path = HomeOption,
    key: str = typer.Option("dev", "--key", help="the keyring key of the paying account"),
    keyring_backend: KeyringBackendChoice = BackendOption,
    passphrase_file: Path | None = PassphraseOption,
    node: str = NodeOption,
    deposit: int = typer.Option(
        1_000_000, "--deposit", min=1, help="uvox locked in a new channel (reused across calls)"
    ),
    output: OutputFormat = OutputOption,
) -> None:
    """Pay for one call of KIND from the key's account, through a payment channel (opened on the
    first call, reused after: the channels and receipts are kept in HOME/payments.db), and print
    the answer, what it cost and the provider's verified receipt."""
    from voxpop.client import VoxClient, VoxClientError
    from voxpop.client.payments import PayingClient, PaymentError, Policy

    # Verify exactly one request was given, of the shape the kind takes
    if (audio is None) == (data is None) or (audio is not None) != (kind == "stt"):
        fail("invalid_request", "stt takes --audio FILE; the other kinds --data JSON", output)
    if audio is not None:
        body = audio.read_bytes()
        content_type = "audio/wav" if audio.suffix.lower() == ".wav" else "audio/x-flac"
    else:
        body, content_type = (data or "").encode(), "application/json"
    account = _account(home, key, keyring_backend, passphrase_file, output)
    policy = Policy(deposit=deposit, top_up_below=deposit // 10, top_up_amount=deposit)
    try:
        with (
            VoxClient(node) as vox,
            PayingClient(vox, account, ledger=home / "payments.db", policy=policy) as payer,
        ):
            answer = payer.call(kind, body, content_type=content_type)
    except PaymentError as exc:
        fail(getattr(exc, "code", "payment_failed"), str(exc), output)
    except VoxClientError as exc:
        fail(exc.code, exc.message, output)
    try:
        shown: object = json.loads(answer.body)
    except ValueError:
        shown = answer.body.decode(errors="replace")
    emit(
        {
            "answer": shown,
            "provider": encode_address(answer.provider),
            "cost_uvox": answer.cost,
            "channel_total_uvox": answer.amount,
            "receipt": answer.receipt.signature.hex(),
            "latency_ms": round(answer.latency * 1000, 1),
        },
        output,
    )
