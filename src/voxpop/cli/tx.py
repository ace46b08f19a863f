"""`voxpop tx`: sign transactions with a keyring key and broadcast them through a node's HTTP API.

Amounts: `1.5vox`, `1500000uvox`, or a bare integer of uvox (1 vox = 1,000,000 uvox).
The fee defaults to the minimum for the gas limit at the chain's minimum gas price.
"""

from __future__ import annotations

from pathlib import Path

import typer

from voxpop.chain.modules.bank.messages import MsgSend
from voxpop.cli.keys import (
    HomeOption,
    KeyringBackendChoice,
    KeyringBackendOption,
    PassphraseFileOption,
)
from voxpop.cli.output import OutputFormat, OutputOption
from voxpop.cli.query import NodeOption, format_uvox, resolve_address
from voxpop.cli.signing import (
    BroadcastModeChoice,
    FeeOption,
    MemoOption,
    ModeOption,
    broadcast_msgs,
    build_msg,
    load_signer,
    parse_amount_option,
    parse_fee_option,
)
from voxpop.cli.tx_staking import distribution_tx_app, slashing_tx_app, staking_tx_app
from voxpop.client.tx import DEFAULT_SEND_GAS
from voxpop.crypto import decode_address

tx_app = typer.Typer(no_args_is_help=True, help="Sign and broadcast transactions.")
bank_tx_app = typer.Typer(no_args_is_help=True, help="Bank transactions: send vox.")
tx_app.add_typer(bank_tx_app, name="bank")
tx_app.add_typer(staking_tx_app, name="staking")
tx_app.add_typer(distribution_tx_app, name="distribution")
tx_app.add_typer(slashing_tx_app, name="slashing")


@bank_tx_app.command("send")
def send(
    from_key: str = typer.Argument(..., metavar="FROM", help="name of the sending key"),
    to: str = typer.Argument(..., metavar="TO", help="vox1 address or key name"),
    amount: str = typer.Argument(
        ..., metavar="AMOUNT", help="e.g. 1.5vox, 1500000uvox, or 1500000 (uvox)"
    ),
    fee: str | None = FeeOption,
    gas: int = typer.Option(DEFAULT_SEND_GAS, "--gas", min=1, help="gas limit"),
    memo: str = MemoOption,
    mode: BroadcastModeChoice = ModeOption,
    node: str = NodeOption,
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    passphrase_file: Path | None = PassphraseFileOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Send vox from a keyring key to an address."""
    # Verify every argument before asking for a passphrase or touching the network
    uvox = parse_amount_option(amount, "AMOUNT", output)
    fee_uvox = parse_fee_option(fee, output)
    recipient = resolve_address(to, home, keyring_backend, output)
    signer = load_signer(from_key, home, keyring_backend, passphrase_file, output)
    msg = build_msg(
        MsgSend,
        {"from": signer.raw_address, "to": decode_address(recipient), "amount": uvox},
        output,
    )
    broadcast_msgs(
        signer,
        [msg],
        node=node,
        fee=fee_uvox,
        gas=gas,
        memo=memo,
        mode=mode,
        fmt=output,
        extra={"from": signer.address, "to": recipient, "amount": uvox},
        rows={"from": signer.address, "to": recipient, "amount": format_uvox(uvox)},
    )


__all__ = ["bank_tx_app", "tx_app"]
