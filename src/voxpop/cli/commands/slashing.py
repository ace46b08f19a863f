"""`voxpop tx slashing unjail`."""

from __future__ import annotations

from voxpop.chain.modules.slashing.messages import MsgUnjail
from voxpop.cli.declare import TxCommand

COMMANDS = (
    TxCommand(
        module="slashing",
        verb="unjail",
        msg=MsgUnjail,
        help="Bring the validator FROM operates back into the active set after its jail term.",
    ),
)
