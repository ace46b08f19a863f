"""The paying client as the agent runs it: the owner's account funds the channels (opened and
topped up through authz/Exec under the owner's grant, within its daily caps), the agent key signs
the vouchers (the key each channel names, so paying needs no chain), the owner's policy caps
spending."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxpop.agent.errors import AgentError
from voxpop.client.payments import PayingClient, PaymentError

if TYPE_CHECKING:
    from voxpop.agent.chain import ChainView
    from voxpop.chain.modules.channels.messages import MsgOpen, MsgSettle, MsgTopUp
    from voxpop.node.service import BroadcastResult

LEDGER_FILE = "payments.db"


class AgentPayingClient(PayingClient):
    def __init__(self, chain: ChainView) -> None:
        config = chain.config
        super().__init__(
            chain.clients[0],
            chain.agent_key,
            ledger=config.home / LEDGER_FILE,
            voucher_key=chain.agent_key,
            policy=config.policy(),
            chain_id=config.chain_id,
        )
        self.chain = chain
        self.payer = chain.owner  # the channels are the owner's

    def _execute(self, msg: MsgOpen | MsgTopUp | MsgSettle, what: str) -> BroadcastResult:
        try:
            return self.chain.send([msg])
        except AgentError as exc:
            raise PaymentError(f"could not {what}: {exc}") from exc
