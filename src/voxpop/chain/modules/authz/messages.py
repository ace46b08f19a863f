"""Authz messages: grant and revoke authorizations, and act for a granter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import NotDelegableError, SelfGrantError
from voxpop.chain.fields import ADDRESS, MSG_TYPE, UINT64, Doc, MsgsKind
from voxpop.chain.module import Msg
from voxpop.chain.modules.limits import check_period
from voxpop.chain.tx import RawMsg

PREFIX = "authz/"
MAX_EXEC_MSGS = 16


def is_delegable(msg_type: str) -> bool:
    """Whether a grantee may send `msg_type` for a granter: never authz's own messages, so a
    grantee cannot widen, pass on or nest what it was granted."""
    return not msg_type.startswith(PREFIX)


@dataclass(frozen=True, slots=True)
class MsgGrant(Msg):
    """Let `grantee` send `msg_type` messages on `granter`'s behalf, within the limits given.

    A grant of a type that declares what it spends (`MsgRoute.spend_of`: bank/Send's amount,
    channels/Open's deposit, ...) may carry a spend limit and a per-period limit: the uvox each
    message moves counts against them. Granting the same (grantee, type) again replaces it.
    """

    TYPE = "authz/Grant"
    SIGNER = "granter"
    granter: Annotated[bytes, ADDRESS]
    grantee: Annotated[bytes, ADDRESS]
    msg_type: Annotated[str, MSG_TYPE]
    spend_limit: Annotated[int, UINT64, Doc("spending types only: uvox in all; 0 = no total limit")]
    period_seconds: Annotated[int, UINT64, Doc("spending types only: length of a period; 0 = none")]
    period_limit: Annotated[int, UINT64, Doc("spending types only: uvox per period; 0 = none")]
    expiration: Annotated[int, UINT64, Doc("block time (unix s) it ends; 0 = never")]
    max_uses: Annotated[int, UINT64, Doc("messages it may authorize; 0 = no limit")]

    @property
    def limits_spending(self) -> bool:
        return bool(self.spend_limit or self.period_limit)

    def validate(self) -> None:
        # Verify the grant is to another account, for a type that may be delegated
        if self.granter == self.grantee:
            raise SelfGrantError("an account cannot grant an authorization to itself")
        if not is_delegable(self.msg_type):
            raise NotDelegableError("authz messages cannot be granted")
        # Verify a period comes with its cap (whether the type spends is known to the handler)
        check_period(self.period_seconds, self.period_limit)


@dataclass(frozen=True, slots=True)
class MsgRevoke(Msg):
    """End `granter`'s authorization of `grantee` for `msg_type`, at once."""

    TYPE = "authz/Revoke"
    SIGNER = "granter"
    granter: Annotated[bytes, ADDRESS]
    grantee: Annotated[bytes, ADDRESS]
    msg_type: Annotated[str, MSG_TYPE]


@dataclass(frozen=True, slots=True)
class MsgExec(Msg):
    """Run `msgs` as their own signers (the granters), authorized by their grants to `grantee`.

    Each inner message is exactly what its granter would send; handlers see the granter as the
    acting account. The grantee signs the tx and pays (or names a fee granter).
    """

    TYPE = "authz/Exec"
    SIGNER = "grantee"
    grantee: Annotated[bytes, ADDRESS]
    msgs: Annotated[tuple[RawMsg, ...], MsgsKind(max_items=MAX_EXEC_MSGS)]

    def inner_msgs(self) -> tuple[RawMsg, ...]:
        return self.msgs

    def validate(self) -> None:
        # Verify no inner message is authz's own (no Exec in Exec, no moving grants through one)
        for m in self.msgs:
            if not is_delegable(m.type):
                raise NotDelegableError("authz messages cannot run inside authz/Exec")
