"""`voxpop query auth account` (also `voxpop query account`): balance, sequence, public key."""

from __future__ import annotations

from typing import Any

from voxpop.cli.declare import ADDRESS, Arg, QueryCommand
from voxpop.cli.options import StateQueryOptions
from voxpop.client import VoxClient

ADDRESS_ARG = Arg("address", "vox1 address, or the name of a key in the keyring", ADDRESS)


def read_account(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    info = client.account(given["address"], height=opts.height, prove=opts.prove)
    return {
        "address": info.address,
        "balance": info.balance,
        "sequence": info.sequence,
        "pub_key": info.pub_key.hex() if info.pub_key else None,
        "height": info.height,
        "verified": info.verified,
    }


COMMANDS = (
    QueryCommand(
        module="auth",
        what="account",
        help="An account: balance, sequence and public key.",
        read=read_account,
        args=(ADDRESS_ARG,),
        amounts=("balance",),
        aliases=("account",),
    ),
)
