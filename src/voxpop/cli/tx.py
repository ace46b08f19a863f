"""`voxpop tx <module> <verb>`: sign an on-chain message with a keyring key and broadcast it
through a node's HTTP API. Every command is declared in cli/commands/ and takes the shared tx
options (cli/options.py).

Amounts: `1.5vox`, `1500000uvox`, or a bare integer of uvox (1 vox = 1,000,000 uvox).
The fee defaults to auto: estimated from the chain's base gas price for the gas limit (the
minimum while the chain is not congested; docs/protocol/fees.md).
"""

from __future__ import annotations

import typer

from voxpop.cli.commands import MODULES, TX_COMMANDS
from voxpop.cli.declare import mount

tx_app = typer.Typer(
    no_args_is_help=True,
    help="Sign and broadcast an on-chain message: voxpop tx <module> <verb>.",
)
mount(tx_app, TX_COMMANDS, MODULES)

__all__ = ["tx_app"]
