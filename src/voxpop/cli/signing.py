"""What every `voxpop tx` command shares: the signing key from the keyring, the fee and broadcast
options, and one path that signs the messages, broadcasts them and reports the outcome."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from voxpop.chain.errors import ChainError, error_name
from voxpop.chain.module import Msg
from voxpop.cli.keys import KeyringBackendChoice, open_keyring, read_passphrase
from voxpop.cli.output import OutputFormat, emit, err_console, fail, kv_table
from voxpop.cli.query import client_errors, resolve_address
from voxpop.client import AmountError, VoxClient, parse_amount
from voxpop.crypto import CryptoError, decode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.node.service import BroadcastResult


class BroadcastModeChoice(StrEnum):
    SYNC = "sync"
    COMMIT = "commit"


FeeOption = typer.Option(None, "--fee", help="fee (default: the minimum for --gas)")
MemoOption = typer.Option("", "--memo", help="a note stored with the tx")
ModeOption = typer.Option(
    BroadcastModeChoice.COMMIT,
    "--mode",
    case_sensitive=False,
    help="sync: return after the mempool check; commit: after the block",
)


@dataclass(frozen=True, slots=True)
class Signer:
    name: str
    address: str
    key: PrivateKey

    @property
    def raw_address(self) -> bytes:
        return self.key.public_key.address


def parse_amount_option(
    text: str, what: str, fmt: OutputFormat, *, allow_zero: bool = False
) -> int:
    try:
        return parse_amount(text, allow_zero=allow_zero)
    except AmountError as exc:
        fail(exc.code, f"{what}: {exc.message}", fmt)


def parse_fee_option(fee: str | None, fmt: OutputFormat) -> int | None:
    return parse_amount_option(fee, "--fee", fmt, allow_zero=True) if fee else None


def resolve_raw_address(
    text: str, home: Path | None, backend: KeyringBackendChoice, fmt: OutputFormat
) -> bytes:
    """The 20 bytes of a vox1 address, or of the keyring key with that name."""
    return decode_address(resolve_address(text, home, backend, fmt))


def build_msg(cls: type[Msg], fields: Mapping[str, Any], fmt: OutputFormat) -> Msg:
    """The message, checked by the chain's own stateless validation before anything is signed."""
    try:
        return cls.from_value(fields)
    except ChainError as exc:
        fail(exc.name, exc.message, fmt)


def load_signer(
    from_key: str,
    home: Path | None,
    backend: KeyringBackendChoice,
    passphrase_file: Path | None,
    fmt: OutputFormat,
) -> Signer:
    """The keyring key named `from_key`, unlocked (asking for the passphrase if it needs one)."""
    keyring = open_keyring(home, backend)
    try:
        address = keyring.show(from_key).address
        passphrase = read_passphrase(backend, passphrase_file, fmt)
        key = keyring.load_private_key(from_key, passphrase)
    except CryptoError as exc:
        fail(exc.code, exc.message, fmt)
    return Signer(from_key, address, key)


def result_dict(result: BroadcastResult, extra: Mapping[str, Any]) -> dict[str, Any]:
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


def broadcast_msgs(
    signer: Signer,
    msgs: Sequence[Msg],
    *,
    node: str,
    fee: int | None,
    gas: int,
    memo: str,
    mode: BroadcastModeChoice,
    fmt: OutputFormat,
    extra: Mapping[str, Any],
    rows: Mapping[str, str],
) -> None:
    """Sign `msgs` with the signer's key in one tx, broadcast it and report the outcome: `extra`
    joins the JSON result, `rows` the text table. A failed or unconfirmed tx exits non-zero."""
    with client_errors(fmt), VoxClient(node) as client:
        waiting = mode == BroadcastModeChoice.COMMIT and fmt == OutputFormat.TEXT
        with (
            err_console.status("broadcasting, waiting for the block...")
            if waiting
            else contextlib.nullcontext()
        ):
            result = client.execute(
                signer.key, msgs, fee=fee, gas_limit=gas, mode=mode.value, memo=memo
            )
    data = result_dict(result, extra)
    # Verify the tx succeeded where it ended up
    if result.code != 0:
        where = f"in block {result.height}" if result.height else "before it was committed"
        fail(data["error"] or "tx_failed", f"tx {data['hash']} failed {where}: {result.log}", fmt)
    if mode == BroadcastModeChoice.COMMIT and result.height == 0:
        fail("commit_timeout", f"tx {data['hash']} was accepted but not committed in time", fmt)

    def render(_: Any) -> None:
        kv_table(
            {
                "hash": data["hash"],
                **rows,
                "status": (
                    f"committed in block {result.height}" if result.height else "in the mempool"
                ),
                "gas used": f"{result.gas_used} of {result.gas_wanted or gas}",
            }
        )

    emit(data, fmt, render)
