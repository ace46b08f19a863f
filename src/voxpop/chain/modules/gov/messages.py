"""Governance messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import InvalidVoteWeightsError
from voxpop.chain.fields import ADDRESS, Doc, ListKind, TextKind, TupleKind, UintKind
from voxpop.chain.module import Msg
from voxpop.chain.modules.gov.actions import ACTIONS_KIND, Action
from voxpop.chain.modules.gov.state import WEIGHT_ONE

PROPOSAL_ID = UintKind(1)
OPTION = UintKind(1, 4, doc="1 yes, 2 abstain, 3 no, 4 no_with_veto")
DEPOSIT = UintKind(0, doc="uvox, 0..2^64-1")
WEIGHTED = ListKind(
    TupleKind(OPTION, UintKind(1, WEIGHT_ONE), names=("option", "weight")),
    min_items=1,
    max_items=4,
)
MAX_TITLE_BYTES = 140
MAX_SUMMARY_BYTES = 10_000


@dataclass(frozen=True, slots=True)
class MsgSubmitProposal(Msg):
    """Submit a proposal with its first deposit. No actions: a text proposal."""

    TYPE = "gov/SubmitProposal"
    SIGNER = "proposer"
    proposer: Annotated[bytes, ADDRESS]
    title: Annotated[str, TextKind(MAX_TITLE_BYTES)]
    summary: Annotated[str, TextKind(MAX_SUMMARY_BYTES)]
    actions: Annotated[tuple[Action, ...], ACTIONS_KIND, Doc("applied together if it passes")]
    deposit: Annotated[int, DEPOSIT, Doc("at least min_deposit x min_initial_deposit_bps")]


@dataclass(frozen=True, slots=True)
class MsgDeposit(Msg):
    """Add to a proposal's deposit, in its deposit or voting period."""

    TYPE = "gov/Deposit"
    SIGNER = "depositor"
    depositor: Annotated[bytes, ADDRESS]
    proposal_id: Annotated[int, PROPOSAL_ID]
    amount: Annotated[int, UintKind(1, doc="uvox, 1..2^64-1")]


@dataclass(frozen=True, slots=True)
class MsgVote(Msg):
    """Vote one option with all the voter's stake (a later vote replaces it)."""

    TYPE = "gov/Vote"
    SIGNER = "voter"
    voter: Annotated[bytes, ADDRESS]
    proposal_id: Annotated[int, PROPOSAL_ID]
    option: Annotated[int, OPTION]


@dataclass(frozen=True, slots=True)
class MsgWeightedVote(Msg):
    """Split the voter's stake over options; the weights (parts of 1,000,000) sum to 1,000,000."""

    TYPE = "gov/WeightedVote"
    SIGNER = "voter"
    voter: Annotated[bytes, ADDRESS]
    proposal_id: Annotated[int, PROPOSAL_ID]
    options: Annotated[tuple[tuple[int, int], ...], WEIGHTED, Doc("distinct options")]

    def validate(self) -> None:
        # Verify distinct options whose weights sum to one
        chosen = [option for option, _ in self.options]
        if len(set(chosen)) != len(chosen):
            raise InvalidVoteWeightsError("each option may appear once")
        if sum(weight for _, weight in self.options) != WEIGHT_ONE:
            raise InvalidVoteWeightsError(f"weights must sum to {WEIGHT_ONE} (that is, 1)")
