"""`voxpop tx grant post-bond|withdraw-bond` and `voxpop query grant bond`: registrars' bonds (the
chain's grant module; sign-up grants themselves are claimed with a registrar's attestation, which
the registrar's own service hands out)."""

from __future__ import annotations

from typing import Any

from voxpop.chain.encoding import decode_uint
from voxpop.chain.modules.grant.messages import MsgPostBond, MsgWithdrawBond
from voxpop.cli.commands.channels import HEX32
from voxpop.cli.declare import AMOUNT_HELP, Arg, QueryCommand, TxCommand
from voxpop.cli.options import StateQueryOptions, TxOptions
from voxpop.cli.signing import Signer
from voxpop.client import VoxClient

REGISTRAR_ARG = Arg("registrar", "the registrar's Ed25519 public key, 64 hex digits", HEX32)


def own_registrar_key(signer: Signer, opts: TxOptions, value: dict[str, Any]) -> dict[str, Any]:
    """A registrar withdraws its own bond: the key is FROM's unless --registrar names it."""
    if value["registrar"] is not None:
        return value
    return {**value, "registrar": signer.key.public_key.raw}


def read_bond(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    result = client.query("/grant/bond", given["registrar"], height=opts.height, prove=opts.prove)
    return {
        "registrar": given["registrar"].hex(),
        "bond": decode_uint(result.value) if result.value else 0,
        "height": result.height,
        "verified": result.verified,
    }


TX_COMMANDS = (
    TxCommand(
        module="grant",
        verb="post-bond",
        msg=MsgPostBond,
        help="Add AMOUNT of FROM's uvox to REGISTRAR's bond (forfeited to the grant pool if "
        "governance removes the registrar for attesting made-up identities).",
        args=(REGISTRAR_ARG, Arg("amount", AMOUNT_HELP)),
    ),
    TxCommand(
        module="grant",
        verb="withdraw-bond",
        msg=MsgWithdrawBond,
        help="Take AMOUNT of FROM's registrar bond back to FROM (FROM is the registrar's own "
        "key): while listed, only what exceeds the chain's registrar_bond.",
        args=(
            Arg("amount", AMOUNT_HELP),
            Arg(
                "registrar",
                "the registrar's key in hex (default: FROM's own)",
                HEX32,
                flag="--registrar",
                default=None,
            ),
        ),
        derive=own_registrar_key,
    ),
)

QUERY_COMMANDS = (
    QueryCommand(
        module="grant",
        what="bond",
        help="REGISTRAR's bond in uvox (0: none).",
        read=read_bond,
        args=(REGISTRAR_ARG,),
        amounts=("bond",),
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)
