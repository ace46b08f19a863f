"""The `voxpop` command: one CLI for every role. Each group lives in its own module."""

from __future__ import annotations

import typer

from voxpop.cli.devnet import devnet_app
from voxpop.cli.keys import keys_app
from voxpop.cli.node import node_app
from voxpop.cli.query import query_app
from voxpop.cli.testnet import testnet_app
from voxpop.cli.tx import tx_app

app = typer.Typer(
    name="voxpop",
    help="voxpop: a decentralized backend for open voice assistants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(keys_app, name="keys", help="Manage keys: mnemonics, encrypted keyring.")
app.add_typer(node_app, name="node")
app.add_typer(devnet_app, name="devnet")
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")
app.add_typer(testnet_app, name="testnet")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
