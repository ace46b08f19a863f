"""Feegrant messages: grant and revoke a fee allowance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import SelfGrantError
from voxpop.chain.fields import ADDRESS, MSG_TYPE, UINT64, Doc, ListKind
from voxpop.chain.module import Msg
from voxpop.chain.modules.limits import check_period

MAX_ALLOWED_MSGS = 16


@dataclass(frozen=True, slots=True)
class MsgGrantAllowance(Msg):
    """Let `grantee`'s txs name `granter` as their fee payer, within the limits given.

    Granting again to the same grantee replaces the allowance.
    """

    TYPE = "feegrant/Grant"
    SIGNER = "granter"
    granter: Annotated[bytes, ADDRESS]
    grantee: Annotated[bytes, ADDRESS]
    spend_limit: Annotated[int, UINT64, Doc("uvox of fees in all; 0 = no total limit")]
    period_seconds: Annotated[int, UINT64, Doc("length of a period; 0 = none")]
    period_limit: Annotated[int, UINT64, Doc("uvox of fees per period; 0 = none")]
    expiration: Annotated[int, UINT64, Doc("block time (unix s) it ends; 0 = never")]
    allowed_msgs: Annotated[
        tuple[str, ...],
        ListKind(MSG_TYPE, max_items=MAX_ALLOWED_MSGS),
        Doc("the message types it pays for; empty = any"),
    ]

    def validate(self) -> None:
        # Verify the allowance is for another account, with a period only with its cap
        if self.granter == self.grantee:
            raise SelfGrantError("an account cannot grant a fee allowance to itself")
        check_period(self.period_seconds, self.period_limit)


@dataclass(frozen=True, slots=True)
class MsgRevokeAllowance(Msg):
    """End `granter`'s fee allowance for `grantee`, at once."""

    TYPE = "feegrant/Revoke"
    SIGNER = "granter"
    granter: Annotated[bytes, ADDRESS]
    grantee: Annotated[bytes, ADDRESS]
