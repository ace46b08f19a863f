"""`voxpop tx feegrant grant|revoke` and `voxpop query feegrant allowance`: paying the fees of
another account's txs (the chain's feegrant module)."""

from __future__ import annotations

from typing import Any

from voxpop.chain.modules.feegrant.messages import MsgGrantAllowance, MsgRevokeAllowance
from voxpop.chain.modules.feegrant.state import decode_allowance
from voxpop.cli.commands.authz import (
    EXPIRATION,
    GRANTEE,
    LIMIT,
    PERIOD_SECONDS,
    SPEND_LIMIT_HELP,
    TYPES,
)
from voxpop.cli.declare import ADDRESS, Arg, QueryCommand, TxCommand
from voxpop.cli.options import StateQueryOptions
from voxpop.client import VoxClient
from voxpop.crypto import encode_address

TX_COMMANDS = (
    TxCommand(
        module="feegrant",
        verb="grant",
        msg=MsgGrantAllowance,
        help="Pay the fees of GRANTEE's txs that name FROM as their fee granter.",
        args=(
            GRANTEE,
            Arg("spend_limit", f"uvox of fees {SPEND_LIMIT_HELP}", LIMIT, "--spend-limit", None),
            PERIOD_SECONDS,
            Arg("period_limit", "uvox of fees per period", LIMIT, "--period-limit", None),
            EXPIRATION,
            Arg(
                "allowed_msgs",
                "a message type it pays for (repeatable; default: any)",
                TYPES,
                "--allow-msg",
                None,
            ),
        ),
    ),
    TxCommand(
        module="feegrant",
        verb="revoke",
        msg=MsgRevokeAllowance,
        help="End FROM's fee allowance for GRANTEE, at once.",
        args=(GRANTEE,),
    ),
)


def read_allowance(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    granter, grantee = given["granter"], given["grantee"]
    result = client.query(
        "/feegrant/allowance", granter + grantee, height=opts.height, prove=opts.prove
    )
    allowance = decode_allowance(result.value) if result.value else None
    return {
        "granter": encode_address(granter),
        "grantee": encode_address(grantee),
        "allowance": {
            **allowance.limits.to_value(),
            "expiration": allowance.expiration,
            "allowed_msgs": list(allowance.allowed_msgs),
        }
        if allowance
        else None,
        "height": result.height,
        "verified": result.verified,
    }


QUERY_COMMANDS = (
    QueryCommand(
        module="feegrant",
        what="allowance",
        help="The fee allowance GRANTER gives GRANTEE (none: null).",
        read=read_allowance,
        args=(
            Arg("granter", "vox1 address or key name", ADDRESS),
            Arg("grantee", "vox1 address or key name", ADDRESS),
        ),
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)
