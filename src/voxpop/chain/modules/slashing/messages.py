"""Slashing messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.fields import ADDRESS
from voxpop.chain.module import Msg


@dataclass(frozen=True, slots=True)
class MsgUnjail(Msg):
    """Let a validator jailed for downtime back into the active set after its jail term."""

    TYPE = "slashing/Unjail"
    SIGNER = "operator"
    operator: Annotated[bytes, ADDRESS]
