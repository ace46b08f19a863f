"""Governance records as the API and the CLI show them (addresses in bech32, bytes in hex)."""

from __future__ import annotations

from typing import Any

from voxpop.chain.errors import ChainError
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.gov.actions import ACTIONS_KIND
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
