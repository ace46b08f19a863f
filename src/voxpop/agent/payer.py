"""The paying client as the agent runs it: the owner's account funds the channels (opened and
topped up through authz/Exec under the owner's grant, within its daily caps), the agent key signs
the vouchers (the key each channel names, so paying needs no chain), the owner's policy caps
spending.

No node is needed once a channel is open: reads go to whichever node answers (the chain view's
failover), and when none does, the offers last proven are used, so calls keep flowing to the
providers over the channels already open."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxpop.agent.errors import AgentError, ChainUnavailableError
from voxpop.client.errors import NodeUnreachableError
from voxpop.client.payments import Candidate, PayingClient, PaymentError

if TYPE_CHECKING:
    from voxpop.agent.chain import ChainView
    from voxpop.chain.modules.channels.messages import MsgOpen, MsgSettle, MsgTopUp
    from voxpop.client.sync import VoxClient
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

    @property
    def vox(self) -> VoxClient:
        """The node the chain view last reached (the base class reads offers and channels here)."""
        return self.chain.clients[self.chain.preferred]

    @vox.setter
    def vox(self, _client: VoxClient) -> None:
        pass  # the chain view chooses the node

    def offers(self, kind: str, *, refresh: bool = False) -> list[Candidate]:
        """The proven offers of `kind`; from another node when this one is down, and the last
        proven ones when no node answers."""
        try:
            return super().offers(kind, refresh=refresh)
        except NodeUnreachableError:
            pass
        if self.chain.online:  # another node answers: it is the preferred one now
            return super().offers(kind, refresh=refresh)
        cached = self._offers.get(kind)
        if cached is None:
            raise ChainUnavailableError(f"no node answered and no {kind} offers were ever read")
        return list(cached[1])

    def _execute(self, msg: MsgOpen | MsgTopUp | MsgSettle, what: str) -> BroadcastResult:
        try:
            return self.chain.send([msg])
        except AgentError as exc:
            raise PaymentError(f"could not {what}: {exc}") from exc
