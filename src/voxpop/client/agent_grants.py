"""What an owner grants the agent that serves its devices, and the messages that grant, revoke and
read it: one place the CLI (`voxpop agent authorize|revoke|grants`), the agent role and the home
web app share.

An agent acts for its owner only inside `authz/Exec`, each inner message naming the owner as its
signer, under a grant per message type (docs/keys.md). Its fees come from a fee allowance of the
owner's, for `authz/Exec` txs only. The three types that move the owner's uvox (channel deposits
and top-ups, skill royalty settlements) are capped per day, each grant on its own. Vouchers need
no grant: the agent's key is the channels' voucher key.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from voxpop.chain.module import Msg
from voxpop.chain.modules.authz.messages import MsgGrant, MsgRevoke
from voxpop.chain.modules.authz.state import Grant, decode_grant
from voxpop.chain.modules.feegrant.messages import MsgGrantAllowance, MsgRevokeAllowance
from voxpop.chain.modules.feegrant.state import Allowance, decode_allowance
from voxpop.chain.registry import default_modules
from voxpop.client.sync import VoxClient

# The message kinds of the agent key's row of docs/keys.md, in that order
AGENT_MSG_TYPES: tuple[str, ...] = (
    "devices/RequestPairing",  # pairing requests
    "devices/Update",  # version reports, names the owner gave on a device
    "settings/Put",  # uploads from devices: skill list, skill settings metadata and values
    "settings/Delete",
    "inbox/Post",  # messages to the owner
    "channels/Open",  # paying providers per call
    "channels/TopUp",
    "skills/Settle",  # skill royalties
)
# The ones that move the owner's uvox: each grant carries the daily cap
SPENDING_MSG_TYPES = frozenset({"channels/Open", "channels/TopUp", "skills/Settle"})
# The fee allowance pays for the agent's txs acting for the owner, and nothing else
FEE_ALLOWED_MSGS: tuple[str, ...] = ("authz/Exec",)
DAY_SECONDS = 86_400
DEFAULT_CAP_PER_DAY = 10_000_000  # uvox (10 vox) per spending type per day
DEFAULT_FEE_CAP_PER_DAY = 1_000_000  # uvox (1 vox) of fees per day


@dataclass(frozen=True, slots=True)
class AgentCaps:
    """The limits of an authorization (uvox; block time in unix seconds)."""

    cap_per_day: int = DEFAULT_CAP_PER_DAY  # each spending type, per day
    fee_cap_per_day: int = DEFAULT_FEE_CAP_PER_DAY
    expiration: int = 0  # 0: never

    def __post_init__(self) -> None:
        # Verify each cap is a positive amount: a cap of 0 would be no cap at all on chain
        for name in ("cap_per_day", "fee_cap_per_day"):
            value = getattr(self, name)
            if type(value) is not int or value <= 0:
                raise ValueError(f"{name} must be a positive number of uvox")
        if type(self.expiration) is not int or self.expiration < 0:
            raise ValueError("expiration must be a block time (unix seconds) or 0")


def known_msg_types() -> frozenset[str]:
    """The message types of the chain this client was built with."""
    return frozenset(t for m in default_modules() for t in m.msg_routes())


def granted_types(known: Collection[str] | None = None) -> tuple[str, ...]:
    """The agent's message types the chain knows (`known`; default: this build's), in table
    order: the chain refuses a grant of a type it does not know."""
    have = known_msg_types() if known is None else known
    return tuple(t for t in AGENT_MSG_TYPES if t in have)


def authorize_msgs(
    owner: bytes, agent: bytes, caps: AgentCaps, known: Collection[str] | None = None
) -> list[Msg]:
    """The owner's messages (one tx) that authorize the agent: a grant per type, the spending
    ones capped per day, and a fee allowance capped per day. Granting again replaces them."""
    msgs: list[Msg] = []
    for msg_type in granted_types(known):
        capped = msg_type in SPENDING_MSG_TYPES
        msgs.append(
            MsgGrant(
                granter=owner,
                grantee=agent,
                msg_type=msg_type,
                spend_limit=0,
                period_seconds=DAY_SECONDS if capped else 0,
                period_limit=caps.cap_per_day if capped else 0,
                expiration=caps.expiration,
                max_uses=0,
            )
        )
    msgs.append(
        MsgGrantAllowance(
            granter=owner,
            grantee=agent,
            spend_limit=0,
            period_seconds=DAY_SECONDS,
            period_limit=caps.fee_cap_per_day,
            expiration=caps.expiration,
            allowed_msgs=FEE_ALLOWED_MSGS,
        )
    )
    for msg in msgs:
        msg.validate()
    return msgs


@dataclass(frozen=True, slots=True)
class AgentGrants:
    """What an owner has granted an agent, as read from the chain."""

    owner: bytes
    agent: bytes
    grants: dict[str, Grant]  # message type -> grant (every type, not only the agent's table)
    allowance: Allowance | None
    height: int
    verified: bool  # the grants list proven complete and the allowance proven

    @property
    def is_empty(self) -> bool:
        return not self.grants and self.allowance is None


def read_agent_grants(
    client: VoxClient, owner: bytes, agent: bytes, *, prove: bool = True
) -> AgentGrants:
    """Every grant and the fee allowance `owner` gives `agent`; with prove, the owner's grants
    list is proven complete (none left out) and the allowance proven, or
    ProofVerificationError."""
    listed = client.query_list("/authz/grants", owner, prove=prove)
    grants = {
        item.id[len(agent) :].decode(): decode_grant(item.value)
        for item in listed.items
        if item.id[: len(agent)] == agent
    }
    answer = client.query("/feegrant/allowance", owner + agent, prove=prove)
    allowance = decode_allowance(answer.value) if answer.value else None
    verified = listed.verified and answer.verified
    return AgentGrants(owner, agent, grants, allowance, listed.height, verified)


def revoke_msgs(
    owner: bytes, agent: bytes, grant_types: Iterable[str], has_allowance: bool
) -> list[Msg]:
    """The owner's messages (one tx) that take back everything it gave the agent: each grant it
    holds (`grant_types`, as read: revoking one that does not exist fails the tx) and the fee
    allowance. Raises ValueError if there is nothing to revoke."""
    msgs: list[Msg] = [MsgRevoke(owner, agent, t) for t in sorted(grant_types)]
    if has_allowance:
        msgs.append(MsgRevokeAllowance(owner, agent))
    if not msgs:
        raise ValueError("the agent holds no grant and no fee allowance of this owner")
    return msgs


__all__ = [
    "AGENT_MSG_TYPES",
    "DAY_SECONDS",
    "DEFAULT_CAP_PER_DAY",
    "DEFAULT_FEE_CAP_PER_DAY",
    "FEE_ALLOWED_MSGS",
    "SPENDING_MSG_TYPES",
    "AgentCaps",
    "AgentGrants",
    "authorize_msgs",
    "granted_types",
    "known_msg_types",
    "read_agent_grants",
    "revoke_msgs",
]
