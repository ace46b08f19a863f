"""Distribution messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from voxpop.chain.module import Msg, field_address, require_fields


@dataclass(frozen=True, slots=True)
class MsgClaimRewards(Msg):
    """Pay the delegator its pending rewards from one validator."""

    TYPE = "distribution/ClaimRewards"
    delegator: bytes
    validator: bytes

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        require_fields(value, "delegator", "validator")
        return cls(
            delegator=field_address(value, "delegator"),
            validator=field_address(value, "validator"),
        )

    def to_value(self) -> dict[str, Any]:
        return {"delegator": self.delegator, "validator": self.validator}

    def signers(self) -> tuple[bytes, ...]:
        return (self.delegator,)


@dataclass(frozen=True, slots=True)
class MsgClaimCommission(Msg):
    """Pay a validator's operator the commission it has earned."""

    TYPE = "distribution/ClaimCommission"
    operator: bytes

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        require_fields(value, "operator")
        return cls(operator=field_address(value, "operator"))

    def to_value(self) -> dict[str, Any]:
        return {"operator": self.operator}

    def signers(self) -> tuple[bytes, ...]:
        return (self.operator,)
