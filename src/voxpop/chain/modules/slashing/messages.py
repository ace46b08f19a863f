"""Slashing messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from voxpop.chain.module import Msg, field_address, require_fields


@dataclass(frozen=True, slots=True)
class MsgUnjail(Msg):
    """Let a validator jailed for downtime back into the active set after its jail term."""

    TYPE = "slashing/Unjail"
    operator: bytes

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        require_fields(value, "operator")
        return cls(operator=field_address(value, "operator"))

    def to_value(self) -> dict[str, Any]:
        return {"operator": self.operator}

    def signers(self) -> tuple[bytes, ...]:
        return (self.operator,)
