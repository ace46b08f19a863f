"""Staking messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import InvalidCommissionError
from voxpop.chain.fields import ADDRESS, AMOUNT, PUBKEY, Doc, TextKind, UintKind
from voxpop.chain.module import Msg

BPS = 10_000
MAX_MONIKER = 70
MAX_DETAILS = 280
# A rate in basis points, 0..100 %
RATE = UintKind(0, BPS, doc="basis points, 0..10,000", error=InvalidCommissionError)
MONIKER = TextKind(MAX_MONIKER)
DETAILS = TextKind(MAX_DETAILS)


@dataclass(frozen=True, slots=True)
class MsgCreateValidator(Msg):
    """Create a validator run by `operator`, self-bonding `self_bond` uvox from its balance."""

    TYPE = "staking/CreateValidator"
    SIGNER = "operator"
    operator: Annotated[bytes, ADDRESS]
    consensus_pub_key: Annotated[bytes, PUBKEY, Doc("Ed25519 key the node signs blocks with")]
    self_bond: Annotated[int, AMOUNT]
    commission_rate_bps: Annotated[int, RATE]
    max_commission_rate_bps: Annotated[int, RATE]
    max_commission_change_bps: Annotated[int, RATE, Doc("per day")]
    moniker: Annotated[str, MONIKER]
    details: Annotated[str, DETAILS]

    def validate(self) -> None:
        # Verify the rate is within its own maximum, and so is the daily change
        if self.commission_rate_bps > self.max_commission_rate_bps:
            raise InvalidCommissionError("commission_rate_bps exceeds max_commission_rate_bps")
        if self.max_commission_change_bps > self.max_commission_rate_bps:
            raise InvalidCommissionError(
                "max_commission_change_bps exceeds max_commission_rate_bps"
            )


@dataclass(frozen=True, slots=True)
class MsgEditValidator(Msg):
    """Change a validator's commission rate (bounded, at most once a day) and description."""

    TYPE = "staking/EditValidator"
    SIGNER = "operator"
    operator: Annotated[bytes, ADDRESS]
    commission_rate_bps: Annotated[int, RATE]
    moniker: Annotated[str, MONIKER]
    details: Annotated[str, DETAILS]


@dataclass(frozen=True, slots=True)
class _DelegationMsg(Msg):
    """A delegator, a validator (its operator address) and an amount of uvox."""

    SIGNER = "delegator"
    delegator: Annotated[bytes, ADDRESS]
    validator: Annotated[bytes, ADDRESS, Doc("operator")]
    amount: Annotated[int, AMOUNT]


@dataclass(frozen=True, slots=True)
class MsgDelegate(_DelegationMsg):
    """Bond `amount` uvox of the delegator's to a validator."""

    TYPE = "staking/Delegate"


@dataclass(frozen=True, slots=True)
class MsgUndelegate(_DelegationMsg):
    """Unbond `amount` uvox; it returns to the delegator after the unbonding time."""

    TYPE = "staking/Undelegate"


@dataclass(frozen=True, slots=True)
class MsgRedelegate(Msg):
    """Move `amount` uvox of stake from one validator to another at once."""

    TYPE = "staking/Redelegate"
    SIGNER = "delegator"
    delegator: Annotated[bytes, ADDRESS]
    src_validator: Annotated[bytes, ADDRESS]
    dst_validator: Annotated[bytes, ADDRESS]
    amount: Annotated[int, AMOUNT]
