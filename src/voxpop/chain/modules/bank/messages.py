"""Bank messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from voxpop.chain.errors import InvalidMessageError
from voxpop.chain.module import Msg, field_address, field_amount, require_fields


@dataclass(frozen=True, slots=True)
class MsgSend(Msg):
    """Move `amount` uvox from `sender` (the signer) to `recipient`."""

    TYPE = "bank/Send"
    sender: bytes
    recipient: bytes
    amount: int

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        require_fields(value, "from", "to", "amount")
        return cls(
            field_address(value, "from"), field_address(value, "to"), field_amount(value, "amount")
        )

    def to_value(self) -> dict[str, Any]:
        return {"from": self.sender, "to": self.recipient, "amount": self.amount}

    def signers(self) -> tuple[bytes, ...]:
        return (self.sender,)


@dataclass(frozen=True, slots=True)
class MsgMultiSend(Msg):
    """Pay several recipients from one sender, all or nothing."""

    TYPE = "bank/MultiSend"
    sender: bytes
    outputs: tuple[tuple[bytes, int], ...]

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> Self:
        require_fields(value, "from", "outputs")
        outputs = value["outputs"]
        # Verify a non-empty list of [address, amount] pairs
        if not isinstance(outputs, list) or not outputs:
            raise InvalidMessageError("outputs must be a non-empty list")
        parsed = []
        for i, out in enumerate(outputs):
            if not isinstance(out, list) or len(out) != 2:
                raise InvalidMessageError(f"outputs[{i}] must be [address, amount]")
            pair = {"to": out[0], "amount": out[1]}
            parsed.append((field_address(pair, "to"), field_amount(pair, "amount")))
        return cls(field_address(value, "from"), tuple(parsed))

    def to_value(self) -> dict[str, Any]:
        return {"from": self.sender, "outputs": [[a, n] for a, n in self.outputs]}

    def signers(self) -> tuple[bytes, ...]:
        return (self.sender,)
