"""Staking messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from voxpop.chain.errors import InvalidCommissionError
from voxpop.chain.module import (
    Msg,
    field_address,
    field_amount,
    field_bytes,
    field_text,
    field_uint,
    require_fields,
)

BPS = 10_000
MAX_MONIKER = 70
MAX_DETAILS = 280


def field_bps(value: Mapping[str, Any], name: str) -> int:
    n = field_uint(value, name)
    # Verify a rate within 0..100 %
    if n > BPS:
        raise InvalidCommissionError(f"{name} must be at most {BPS} basis points")
    return n


@dataclass(frozen=True, slots=True)
class MsgCreateValidator(Msg):
    """Create a validator run by `operator`, self-bonding `self_bond` uvox from its balance."""

    TYPE = "staking/CreateValidator"
    operator: bytes
    consensus_pub_key: bytes  # Ed25519, 32 bytes: the key the node signs blocks with
    self_bond: int
    commission_rate_bps: int
    max_commission_rate_bps: int
    max_commission_change_bps: int  # per day
    moniker: str
    details: str

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        require_fields(
            value,
            "operator",
            "consensus_pub_key",
            "self_bond",
            "commission_rate_bps",
            "max_commission_rate_bps",
            "max_commission_change_bps",
            "moniker",
            "details",
        )
        msg = cls(
            operator=field_address(value, "operator"),
            consensus_pub_key=field_bytes(value, "consensus_pub_key", 32),
            self_bond=field_amount(value, "self_bond"),
            commission_rate_bps=field_bps(value, "commission_rate_bps"),
            max_commission_rate_bps=field_bps(value, "max_commission_rate_bps"),
            max_commission_change_bps=field_bps(value, "max_commission_change_bps"),
            moniker=field_text(value, "moniker", MAX_MONIKER),
            details=field_text(value, "details", MAX_DETAILS),
        )
        # Verify the rate is within its own maximum, and so is the daily change
        if msg.commission_rate_bps > msg.max_commission_rate_bps:
            raise InvalidCommissionError("commission_rate_bps exceeds max_commission_rate_bps")
        if msg.max_commission_change_bps > msg.max_commission_rate_bps:
            raise InvalidCommissionError(
                "max_commission_change_bps exceeds max_commission_rate_bps"
            )
        return msg

    def to_value(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "consensus_pub_key": self.consensus_pub_key,
            "self_bond": self.self_bond,
            "commission_rate_bps": self.commission_rate_bps,
            "max_commission_rate_bps": self.max_commission_rate_bps,
            "max_commission_change_bps": self.max_commission_change_bps,
            "moniker": self.moniker,
            "details": self.details,
        }

    def signers(self) -> tuple[bytes, ...]:
        return (self.operator,)


@dataclass(frozen=True, slots=True)
class MsgEditValidator(Msg):
    """Change a validator's commission rate (bounded, at most once a day) and description."""

    TYPE = "staking/EditValidator"
    operator: bytes
    commission_rate_bps: int
    moniker: str
    details: str

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        require_fields(value, "operator", "commission_rate_bps", "moniker", "details")
        return cls(
            operator=field_address(value, "operator"),
            commission_rate_bps=field_bps(value, "commission_rate_bps"),
            moniker=field_text(value, "moniker", MAX_MONIKER),
            details=field_text(value, "details", MAX_DETAILS),
        )

    def to_value(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "commission_rate_bps": self.commission_rate_bps,
            "moniker": self.moniker,
            "details": self.details,
        }

    def signers(self) -> tuple[bytes, ...]:
        return (self.operator,)


@dataclass(frozen=True, slots=True)
class _DelegationMsg(Msg):
    """A delegator, a validator (its operator address) and an amount of uvox."""

    delegator: bytes
    validator: bytes
    amount: int

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        require_fields(value, "delegator", "validator", "amount")
        return cls(
            delegator=field_address(value, "delegator"),
            validator=field_address(value, "validator"),
            amount=field_amount(value, "amount"),
        )

    def to_value(self) -> dict[str, Any]:
        return {"delegator": self.delegator, "validator": self.validator, "amount": self.amount}

    def signers(self) -> tuple[bytes, ...]:
        return (self.delegator,)


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
    delegator: bytes
    src_validator: bytes
    dst_validator: bytes
    amount: int

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        require_fields(value, "delegator", "src_validator", "dst_validator", "amount")
        return cls(
            delegator=field_address(value, "delegator"),
            src_validator=field_address(value, "src_validator"),
            dst_validator=field_address(value, "dst_validator"),
            amount=field_amount(value, "amount"),
        )

    def to_value(self) -> dict[str, Any]:
        return {
            "delegator": self.delegator,
            "src_validator": self.src_validator,
            "dst_validator": self.dst_validator,
            "amount": self.amount,
        }

    def signers(self) -> tuple[bytes, ...]:
        return (self.delegator,)
