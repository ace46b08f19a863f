"""The one path every `voxpop tx` command ends in: unlock the signing key from the keyring, check
the message with the chain's own stateless validation, sign, broadcast (`VoxClient.execute`) and
report the outcome."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voxpop.chain.errors import ChainError, error_name
from voxpop.chain.module import Msg
from voxpop.cli.connect import client_errors
from voxpop.cli.keyring import open_keyring, read_passphrase, resolve_address
from voxpop.cli.options import BroadcastModeChoice, TxOptions
from voxpop.cli.output import OutputFormat, emit, err_console, fail, kv_table
from voxpop.client import AmountError, VoxClient, parse_amount
from voxpop.crypto import CryptoError
from voxpop.crypto.keys import PrivateKey
from voxpop.node.service import BroadcastResult


@dataclass(frozen=True, slots=True)
class Signer:
    name: str
    address: str
    key: PrivateKey

    @property
    def raw_address(self) -> bytes:
        return self.key.public_key.address


def parse_amount_text(text: str, what: str, fmt: OutputFormat, *, allow_zero: bool = False) -> int:
    """uvox from `1.5vox`, `1500000uvox` or `1500000`; fails with invalid_amount naming `what`."""
    try:
        return parse_amount(text, allow_zero=allow_zero)
    except AmountError as exc:
        fail(exc.code, f"{what}: {exc.message}", fmt)


FEE_AUTO = "auto"


def parse_fee(fee: str | None, fmt: OutputFormat) -> int | None:
    """--fee as uvox, or None for `auto` (the default): the client estimates it from the chain's
    base gas price (voxpop.client.tx.estimate_fee)."""
    if not fee or fee.strip().lower() == FEE_AUTO:
        return None
    return parse_amount_text(fee, "--fee", fmt, allow_zero=True)


def build_msg(cls: type[Msg], fields: Mapping[str, Any], fmt: OutputFormat) -> Msg:
    """The message, checked by the chain's own stateless validation before anything is signed."""
    try:
        return cls.from_value(fields)
    except ChainError as exc:
        fail(exc.name, exc.message, fmt)


def load_signer(opts: TxOptions) -> Signer:
    """The keyring key named FROM, unlocked (asking for the passphrase if it needs one)."""
    keyring = open_keyring(opts.home, opts.keyring_backend)
    try:
        address = keyring.show(opts.from_key).address
        passphrase = read_passphrase(opts.keyring_backend, opts.passphrase_file, opts.output)
        key = keyring.load_private_key(opts.from_key, passphrase)
    except CryptoError as exc:
        fail(exc.code, exc.message, opts.output)
    return Signer(opts.from_key, address, key)


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
    opts: TxOptions,
    *,
    fee: int | None,
    extra: Mapping[str, Any],
    rows: Mapping[str, str],
) -> None:
    """Sign `msgs` with the signer's key in one tx, broadcast it and report the outcome: `extra`
    joins the JSON result, `rows` the text table. A failed or unconfirmed tx exits non-zero."""
    fmt, mode = opts.output, opts.mode
    granter = b""
    if opts.fee_granter is not None:
        granter = resolve_address(opts.fee_granter, opts.home, opts.keyring_backend, fmt)
    with client_errors(fmt), VoxClient(opts.node) as client:
        waiting = mode == BroadcastModeChoice.COMMIT and fmt == OutputFormat.TEXT
        with (
            err_console.status("broadcasting, waiting for the block...")
            if waiting
            else contextlib.nullcontext()
        ):
            result = client.execute(
                signer.key,
                msgs,
                fee=fee,
                gas_limit=opts.gas,
                mode=mode.value,
                memo=opts.memo,
                fee_granter=granter,
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
                "gas used": f"{result.gas_used} of {result.gas_wanted or opts.gas}",
            }
        )

    emit(data, fmt, render)
