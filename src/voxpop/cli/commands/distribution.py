"""`voxpop tx distribution claim-rewards|claim-commission`."""

from __future__ import annotations

from voxpop.chain.modules.distribution.messages import MsgClaimCommission, MsgClaimRewards
from voxpop.cli.commands.staking import VALIDATOR_HELP
from voxpop.cli.declare import Arg, TxCommand

COMMANDS = (
    TxCommand(
        module="distribution",
        verb="claim-rewards",
        msg=MsgClaimRewards,
        help="Pay FROM its pending rewards from its delegation to VALIDATOR.",
        args=(Arg("validator", VALIDATOR_HELP),),
    ),
    TxCommand(
        module="distribution",
        verb="claim-commission",
        msg=MsgClaimCommission,
        help="Pay the commission earned by the validator FROM operates.",
    ),
)
