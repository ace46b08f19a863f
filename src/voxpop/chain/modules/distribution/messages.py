"""Distribution messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.fields import ADDRESS
from voxpop.chain.module import Msg


@dataclass(frozen=True, slots=True)
class MsgClaimRewards(Msg):
    """Pay the delegator its pending rewards from one validator."""

    TYPE = "distribution/ClaimRewards"
    SIGNER = "delegator"
    delegator: Annotated[bytes, ADDRESS]
    validator: Annotated[bytes, ADDRESS]


@dataclass(frozen=True, slots=True)
class MsgClaimCommission(Msg):
    """Pay a validator's operator the commission it has earned."""

    TYPE = "distribution/ClaimCommission"
    SIGNER = "operator"
    operator: Annotated[bytes, ADDRESS]
