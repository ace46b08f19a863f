"""Governance records as the API and the CLI show them (addresses in bech32, bytes in hex)."""

from __future__ import annotations

from typing import Any

from voxpop.chain.errors import ChainError
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.gov.actions import ACTIONS_KIND
from voxpop.chain.modules.gov.rewards_state import (
    ROUND_STATUS_NAMES,
    VESTING_STATUS_NAMES,
    Application,
    Round,
    Vesting,
)
from voxpop.chain.modules.gov.state import (
    OPTION_NAMES,
    STATUS_NAMES,
    Proposal,
    TallyResult,
    VoteOption,
)
from voxpop.chain.modules.gov.tally import INHERITED, Entry


def options_json(options: list[list[int]]) -> list[dict[str, Any]]:
    return [{"option": OPTION_NAMES[VoteOption(o)], "weight": w} for o, w in options]


def proposal_json(p: Proposal) -> dict[str, Any]:
    try:  # stored actions parsed when submitted; shown in their declared JSON shape
        actions = ACTIONS_KIND.to_json(ACTIONS_KIND.parse(p.actions, "actions"))
    except ChainError:  # a declaration changed since (an upgrade): show the stored value
        actions = p.actions
    return {
        "id": p.id,
        "proposer": addr_text(p.proposer),
        "title": p.title,
        "summary": p.summary,
        "actions": actions,
        "status": STATUS_NAMES[p.status],
        "submit_time": p.submit_time,
        "deposit_end_time": p.deposit_end_time,
        "total_deposit": p.total_deposit,
        "voting_start_time": p.voting_start_time,
        "voting_end_time": p.voting_end_time,
        "failed_reason": p.failed_reason,
    }


def tally_json(t: TallyResult) -> dict[str, Any]:
    return {
        "yes": t.yes,
        "abstain": t.abstain,
        "no": t.no,
        "no_with_veto": t.no_with_veto,
        "bonded": t.bonded,
        "height": t.height,
        "count": t.count,
        "root": t.root.hex(),
    }


def entry_json(e: Entry) -> dict[str, Any]:
    voter, kind, weight, options, delegations = e
    return {
        "voter": addr_text(voter),
        "kind": "inherited" if kind == INHERITED else "own",
        "weight": weight,
        "options": options_json(options),
        "delegations": [{"validator": addr_text(op), "shares": s} for op, s in delegations],
    }


def vesting_json(v: Vesting) -> dict[str, Any]:
    return {
        "id": v.id,
        "proposal": v.proposal,
        "recipient": addr_text(v.recipient),
        "total": v.total,
        "paid": v.paid,
        "returned": v.returned,
        "start_time": v.start_time,
        "end_time": v.end_time,
        "status": VESTING_STATUS_NAMES[v.status],
    }


def round_json(r: Round) -> dict[str, Any]:
    return {
        "id": r.id,
        "proposal": r.proposal,
        "budget": r.budget,
        "reviewers": [addr_text(a) for a in r.reviewers],
        "applicants": [addr_text(a) for a in r.applicants],
        "start_time": r.start_time,
        "application_end": r.application_end,
        "review_end": r.review_end,
        "status": ROUND_STATUS_NAMES[r.status],
        "reviews": r.reviews,
        "paid": r.paid,
        "returned": r.returned,
    }


def application_json(applicant: bytes, a: Application) -> dict[str, Any]:
    return {
        "applicant": addr_text(applicant),
        "link": a.link,
        "description": a.description,
        "median": a.median,
        "payout": a.payout,
    }


def allocation_json(reviewer: bytes, allocation: list[list[Any]] | None) -> dict[str, Any]:
    """A reviewer's allocations (None: it submitted none)."""
    return {
        "reviewer": addr_text(reviewer),
        "allocations": None
        if allocation is None
        else [{"applicant": addr_text(a), "uvox": v} for a, v in allocation],
    }
