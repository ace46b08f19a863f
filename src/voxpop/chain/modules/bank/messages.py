"""Bank messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.fields import ADDRESS, AMOUNT, ListKind, TupleKind, Wire
from voxpop.chain.module import Msg

# The format's bound; the chain's `max_multisend_outputs` parameter is usually tighter
MAX_OUTPUTS = 4096
OUTPUTS = ListKind(
    TupleKind(ADDRESS, AMOUNT, names=("to", "amount")), min_items=1, max_items=MAX_OUTPUTS
)


@dataclass(frozen=True, slots=True)
class MsgSend(Msg):
    """Move `amount` uvox from `sender` (the signer) to `recipient`."""

    TYPE = "bank/Send"
    SIGNER = "sender"
    sender: Annotated[bytes, ADDRESS, Wire("from")]
    recipient: Annotated[bytes, ADDRESS, Wire("to")]
    amount: Annotated[int, AMOUNT]


@dataclass(frozen=True, slots=True)
class MsgMultiSend(Msg):
    """Pay several recipients from one sender, all or nothing."""

    TYPE = "bank/MultiSend"
    SIGNER = "sender"
    sender: Annotated[bytes, ADDRESS, Wire("from")]
    outputs: Annotated[tuple[tuple[bytes, int], ...], OUTPUTS]
