"""`voxpop tx`: sign transactions with a keyring key and broadcast them through a node's HTTP API.

Amounts: `1.5vox`, `1500000uvox`, or a bare integer of uvox (1 vox = 1,000,000 uvox).
The fee defaults to the minimum for the gas limit at the chain's minimum gas price.
"""

from __future__ import annotations

import contextlib
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from voxpop.chain.errors import error_name
from voxpop.cli.keys import (
    HomeOption,
    KeyringBackendChoice,
    KeyringBackendOption,
    PassphraseFileOption,
    open_keyring,
    read_passphrase,
)
from voxpop.cli.output import OutputFormat, OutputOption, emit, err_console, fail, kv_table
from voxpop.cli.query import NodeOption, client_errors, format_uvox, resolve_address
from voxpop.client import AmountError, VoxClient, parse_amount
from voxpop.client.tx import DEFAULT_SEND_GAS
from voxpop.crypto import CryptoError
from voxpop.node.service import BroadcastResult

tx_app = typer.Typer(no_args_is_help=True, help="Sign and broadcast transactions.")
bank_tx_app = typer.Typer(no_args_is_help=True, help="Bank transactions: send vox.")
tx_app.add_typer(bank_tx_app, name="bank")


class BroadcastModeChoice(StrEnum):
    SYNC = "sync"
    COMMIT = "commit"


def parse_amount_option(
    text: str, what: str, fmt: OutputFormat, *, allow_zero: bool = False
) -> int:
    try:
        return parse_amount(text, allow_zero=allow_zero)
    except AmountError as exc:
        fail(exc.code, f"{what}: {exc.message}", fmt)


def result_dict(result: BroadcastResult, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "hash": result.tx_hash.hex(),
        "code": result.code,
        "error": error_name(result.code) if result.code else None,
        "codespace": result.codespace,
        "log": result.log,
        "height": result.height,
        "gas_wanted": result.gas_wanted,
        "gas_used": result.gas_used,
        **extra,
    }


@bank_tx_app.command("send")
def send(
    from_key: str = typer.Argument(..., metavar="FROM", help="name of the sending key"),
    to: str = typer.Argument(..., metavar="TO", help="vox1 address or key name"),
    amount: str = typer.Argument(
        ..., metavar="AMOUNT", help="e.g. 1.5vox, 1500000uvox, or 1500000 (uvox)"
    ),
    fee: str | None = typer.Option(None, "--fee", help="fee (default: the minimum for --gas)"),
    gas: int = typer.Option(DEFAULT_SEND_GAS, "--gas", min=1, help="gas limit"),
    memo: str = typer.Option("", "--memo", help="a note stored with the tx"),
    mode: BroadcastModeChoice = typer.Option(
        BroadcastModeChoice.COMMIT,
        "--mode",
        case_sensitive=False,
        help="sync: return after the mempool check; commit: after the block",
    ),
    node: str = NodeOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    passphrase_file: Path | None = PassphraseFileOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Send vox from a keyring key to an address."""
    # Verify every argument before asking for a passphrase or touching the network
    uvox = parse_amount_option(amount, "AMOUNT", output)
    fee_uvox = parse_amount_option(fee, "--fee", output, allow_zero=True) if fee else None
    recipient = resolve_address(to, home, keyring_backend, output)
    keyring = open_keyring(home, keyring_backend)
    try:
        sender = keyring.show(from_key).address
        passphrase = read_passphrase(keyring_backend, passphrase_file, output)
        key = keyring.load_private_key(from_key, passphrase)
    except CryptoError as exc:
        fail(exc.code, exc.message, output)
    with client_errors(output), VoxClient(node) as client:
        waiting = mode == BroadcastModeChoice.COMMIT and output == OutputFormat.TEXT
        with (
            err_console.status("broadcasting, waiting for the block...")
            if waiting
            else contextlib.nullcontext()
        ):
            result = client.send(
                key, recipient, uvox, fee=fee_uvox, gas_limit=gas, mode=mode.value, memo=memo
            )
    data = result_dict(result, {"from": sender, "to": recipient, "amount": uvox})
    # Verify the tx succeeded where it ended up: a failed or unconfirmed tx exits non-zero
    if result.code != 0:
        where = f"in block {result.height}" if result.height else "before it was committed"
        fail(
            data["error"] or "tx_failed", f"tx {data['hash']} failed {where}: {result.log}", output
        )
    if mode == BroadcastModeChoice.COMMIT and result.height == 0:
        fail("commit_timeout", f"tx {data['hash']} was accepted but not committed in time", output)

    def render(_: Any) -> None:
        rows = {
            "hash": data["hash"],
            "from": sender,
            "to": recipient,
            "amount": format_uvox(uvox),
            "status": f"committed in block {result.height}" if result.height else "in the mempool",
            "gas used": f"{result.gas_used} of {result.gas_wanted or gas}",
        }
        kv_table(rows)

    emit(data, output, render)


__all__ = ["bank_tx_app", "tx_app"]
