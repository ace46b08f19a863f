"""`voxpop tx distribution claim-rewards|claim-commission`."""

from __future__ import annotations

from voxpop.chain.modules.distribution.messages import MsgClaimCommission, MsgClaimRewards
from voxpop.cli.commands.staking import VALIDATOR_HELP
from voxpop.cli.declare import ADDRESS, Arg, TxCommand

COMMANDS = (
    TxCommand(
        module="distribution",
        verb="claim-rewards",
        msg=MsgClaimRewards,
        signer="delegator",
        help="Pay FROM its pending rewards from its delegation to VALIDATOR.",
        args=(Arg("validator", ADDRESS, VALIDATOR_HELP),),
    ),
    TxCommand(
        module="distribution",
        verb="claim-commission",
        msg=MsgClaimCommission,
        signer="operator",
        help="Pay the commission earned by the validator FROM operates.",
    ),
)
