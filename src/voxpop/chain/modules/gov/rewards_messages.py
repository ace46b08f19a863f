"""Developer rewards messages: contributors apply to a funding round, reviewers allocate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import InvalidAllocationError
from voxpop.chain.fields import ADDRESS, Doc, ListKind, TextKind, TupleKind, UintKind
from voxpop.chain.module import Msg

MAX_APPLICANTS = 256  # per round: bounds the review messages and the end-of-round step
MAX_LINK_BYTES = 256
MAX_DESCRIPTION_BYTES = 2_000
ROUND_ID = UintKind(1)
ALLOCATIONS = ListKind(
    TupleKind(ADDRESS, UintKind(0, doc="uvox, 0..2^64-1"), names=("applicant", "uvox")),
    max_items=MAX_APPLICANTS,
)


@dataclass(frozen=True, slots=True)
class MsgApply(Msg):
    """Apply to a funding round in its application period, once per address, with the work
    already done."""

    TYPE = "gov/Apply"
    SIGNER = "applicant"
    applicant: Annotated[bytes, ADDRESS, Doc("paid here")]
    round_id: Annotated[int, ROUND_ID]
    link: Annotated[str, TextKind(MAX_LINK_BYTES), Doc("where the work can be seen")]
    description: Annotated[str, TextKind(MAX_DESCRIPTION_BYTES), Doc("the work done")]


@dataclass(frozen=True, slots=True)
class MsgAllocate(Msg):
    """A reviewer's allocation of the round's budget over its applicants, in its review period
    (a later one replaces it; an applicant left out is allocated 0)."""

    TYPE = "gov/Allocate"
    SIGNER = "reviewer"
    reviewer: Annotated[bytes, ADDRESS]
    round_id: Annotated[int, ROUND_ID]
    allocations: Annotated[
        tuple[tuple[bytes, int], ...], ALLOCATIONS, Doc("distinct applicants, at most the budget")
    ]

    def validate(self) -> None:
        # Verify each applicant appears once
        applicants = [applicant for applicant, _ in self.allocations]
        if len(set(applicants)) != len(applicants):
            raise InvalidAllocationError("each applicant may appear once")
