"""`voxpop tx bank send` and `voxpop query bank balance`."""

from __future__ import annotations

from typing import Any

from voxpop.chain.modules.bank.messages import MsgSend
from voxpop.cli.commands.auth import ADDRESS_ARG, read_account
from voxpop.cli.declare import AMOUNT_HELP, Arg, QueryCommand, TxCommand
from voxpop.cli.options import StateQueryOptions
from voxpop.client import VoxClient


def read_balance(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    account = read_account(client, opts, given)
    return {k: account[k] for k in ("address", "balance", "height", "verified")}


COMMANDS = (
    TxCommand(
        module="bank",
        verb="send",
        msg=MsgSend,
        help="Send vox from a keyring key to an address.",
        args=(Arg("to", "vox1 address or key name"), Arg("amount", AMOUNT_HELP)),
    ),
    QueryCommand(
        module="bank",
        what="balance",
        help="An account's balance, in uvox.",
        read=read_balance,
        args=(ADDRESS_ARG,),
        amounts=("balance",),
    ),
)
