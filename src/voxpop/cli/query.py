"""`voxpop query <module> <what>`: read the chain's state through a node's API; and `voxpop query
block|tx|status`, the chain's own records. Every command is declared in cli/commands/.

With --prove, answers are verified against the block header, and the header's signature against a
trusted validator key: those given with --trust-validator, else the validators in the genesis of
--home (when it has one), else the ones the node reports (trust on first use).
"""

from __future__ import annotations

import typer

from voxpop.cli.commands import MODULES, QUERY_COMMANDS
from voxpop.cli.declare import mount

query_app = typer.Typer(
    no_args_is_help=True,
    help="Read the chain: voxpop query <module> <what>, or a block, tx or the node's status.",
)
mount(query_app, QUERY_COMMANDS, MODULES)

__all__ = ["query_app"]
