"""The community page's data: proposals with their tallies and the owner's vote, the owner's
stake and the validators to delegate to, the treasury (the community pool) and funding rounds.

`build_*` are pure (unit-tested); `read_community` gathers their inputs from the chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from voxpop.agent.home.views.amounts import Amount, percent, vox
from voxpop.agent.home.views.errors import InputError
from voxpop.agent.home.views.wallet import format_time
from voxpop.chain.encoding import decode_state, decode_uint
from voxpop.chain.module_accounts import COMMUNITY_POOL, module_address
from voxpop.chain.modules.gov import rewards_state, state
from voxpop.chain.modules.gov.messages import MsgVote
from voxpop.chain.modules.staking.messages import MsgDelegate
from voxpop.chain.modules.staking.state import (
    Status,
    Validator,
    compute_tokens,
    consensus_address,
    decode_delegation,
    decode_validator,
)
from voxpop.client.amount import parse_amount
from voxpop.client.errors import AmountError
from voxpop.client.sync import VoxClient
from voxpop.crypto.address import AddressError, decode_address, encode_address

COMMUNITY_POOL_ADDRESS = module_address(COMMUNITY_POOL)
PROPOSALS_SHOWN = 20

# What each choice means, in the words the vote form shows
VOTE_CHOICES: tuple[tuple[str, str], ...] = (
    ("yes", "Yes"),
    ("no", "No"),
    ("abstain", "Abstain (count me, but I do not choose)"),
    ("no_with_veto", "No, and veto (the proposal is harmful or spam)"),
)
_OPTION_BY_NAME = {name: int(option) for option, name in state.OPTION_NAMES.items()}
_CHOICE_LABEL = dict(VOTE_CHOICES)


@dataclass(frozen=True, slots=True)
class TallyBar:
    option: str
    label: str
    amount: Amount
    share: int  # whole percent of the votes cast


@dataclass(frozen=True, slots=True)
class ProposalRow:
    id: int
    title: str
    summary: str
    status: str  # deposit | voting | passed | rejected | failed | dropped
    status_text: str  # in plain words
    can_vote: bool
    my_vote: str | None  # the label of the owner's vote, None if it has not voted
    tally: tuple[TallyBar, ...]  # empty until the voting period ends
    turnout: int  # percent of all bonded stake that voted (0 before the tally)


def status_text(p: state.Proposal, now: int) -> str:
    """What a proposal's status means for an owner, with its next date."""
    name = state.STATUS_NAMES[p.status]
    if name == "voting":
        return f"Open for votes until {format_time(p.voting_end_time)}"
    if name == "deposit":
        return f"Waiting for its deposit until {format_time(p.deposit_end_time)}"
    if name == "passed":
        return "Passed"
    if name == "rejected":
        return "Rejected by the vote"
    if name == "failed":
        return f"Passed, but could not be carried out: {p.failed_reason}"
    return "Dropped: it never got its deposit"


def build_tally(t: state.TallyResult | None) -> tuple[tuple[TallyBar, ...], int]:
    """The bars of a tally (share of the votes cast) and the turnout (share of bonded stake)."""
    if t is None:
        return (), 0
    counts = {"yes": t.yes, "no": t.no, "abstain": t.abstain, "no_with_veto": t.no_with_veto}
    cast = sum(counts.values())
    bars = tuple(
        TallyBar(name, label.split(" (")[0], vox(counts[name]), percent(counts[name], cast))
        for name, label in VOTE_CHOICES
    )
    return bars, percent(cast, t.bonded)


def build_proposals(
    proposals: Sequence[state.Proposal],
    tallies: Mapping[int, state.TallyResult],
    my_votes: Mapping[int, list[list[int]]],
    now: int,
) -> tuple[ProposalRow, ...]:
    """Newest first; `my_votes` holds the owner's recorded options by proposal id."""
    rows = []
    for p in sorted(proposals, key=lambda p: -p.id):
        bars, turnout = build_tally(tallies.get(p.id))
        options = my_votes.get(p.id)
        my_vote = None
        if options:
            names = [state.OPTION_NAMES[state.VoteOption(o)] for o, _ in options]
            my_vote = " / ".join(_CHOICE_LABEL[n].split(" (")[0] for n in names)
        name = state.STATUS_NAMES[p.status]
        rows.append(
            ProposalRow(
                id=p.id,
                title=p.title,
                summary=p.summary,
                status=name,
                status_text=status_text(p, now),
                can_vote=name == "voting" and now < p.voting_end_time,
                my_vote=my_vote,
                tally=bars,
                turnout=turnout,
            )
        )
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class ValidatorRow:
    operator: str
    name: str
    stake: Amount
    commission: str  # e.g. "5 %"
    state: str  # in plain words
    mine: Amount  # what the owner has delegated to it


def validator_state(v: Validator) -> str:
    if v.tombstoned:
        return "removed for misbehaving"
    if v.jailed:
        return "paused (jailed)"
    if v.status == Status.BONDED:
        return "active"
    return "not in the active set"


def build_validators(
    validators: Sequence[Validator], mine: Mapping[bytes, int]
) -> tuple[ValidatorRow, ...]:
    """Active ones first, by stake; `mine` holds the owner's shares by operator."""
    ordered = sorted(validators, key=lambda v: (v.status != Status.BONDED, -v.tokens, v.operator))
    return tuple(
        ValidatorRow(
            operator=encode_address(v.operator),
            name=v.moniker or encode_address(v.operator)[:12],
            stake=vox(v.tokens),
            commission=f"{v.commission_rate_bps / 100:g} %",
            state=validator_state(v),
            mine=vox(compute_tokens(v, mine.get(v.operator, 0))),
        )
        for v in ordered
    )


@dataclass(frozen=True, slots=True)
class RoundRow:
    id: int
    budget: Amount
    status_text: str
    applicants: int
    paid: Amount


def build_rounds(rounds: Sequence[rewards_state.Round], now: int) -> tuple[RoundRow, ...]:
    rows = []
    for r in sorted(rounds, key=lambda r: -r.id):
        if r.status == rewards_state.RoundStatus.PAID:
            text = f"Paid out ({r.reviews} reviews)"
        elif now < r.application_end:
            text = f"Taking applications until {format_time(r.application_end)}"
        else:
            text = f"Under review until {format_time(r.review_end)}"
        rows.append(RoundRow(r.id, vox(r.budget), text, len(r.applicants), vox(r.paid)))
    return tuple(rows)


# --- the forms ------------------------------------------------------------------------------


def vote_msg(owner: bytes, proposal_id: str, choice: str) -> MsgVote:
    """The owner's gov/Vote from the vote form. Raises InputError."""
    if not proposal_id.strip().isdigit():
        raise InputError("unknown_proposal", "Choose a proposal to vote on.")
    option = _OPTION_BY_NAME.get(choice.strip().lower())
    if option is None:
        raise InputError("invalid_vote_option", "Choose yes, no, abstain or veto.")
    return MsgVote(voter=owner, proposal_id=int(proposal_id), option=option)


def delegate_msg(owner: bytes, validator_text: str, amount_text: str) -> MsgDelegate:
    """The owner's staking/Delegate from the delegate form (VOX by default). Raises
    InputError."""
    try:
        validator = decode_address(validator_text.strip())
    except AddressError:
        raise InputError("invalid_validator", "Choose a validator from the list.") from None
    raw = amount_text.strip().lower().replace(" ", "")
    if raw and raw[-1].isdigit():
        raw += "vox"
    try:
        amount = parse_amount(raw)
    except AmountError as exc:
        raise InputError("invalid_amount", f"The amount is not usable: {exc}") from None
    return MsgDelegate(delegator=owner, validator=validator, amount=amount)


# --- the page -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommunityView:
    proposals: tuple[ProposalRow, ...]
    validators: tuple[ValidatorRow, ...]
    staked: Amount
    treasury: Amount
    rounds: tuple[RoundRow, ...]
    height: int


def _last_id(client: VoxClient, key: bytes) -> int:
    raw = client.query("/store", key).value
    return decode_uint(raw) if raw else 0


def read_proposals(
    client: VoxClient, owner: bytes, limit: int = PROPOSALS_SHOWN
) -> tuple[list[state.Proposal], dict[int, state.TallyResult], dict[int, list[list[int]]]]:
    """The newest `limit` proposals, their tallies and the owner's votes."""
    last = _last_id(client, state.SEQ_KEY)
    proposals, tallies, votes = [], {}, {}
    for pid in range(last, max(last - limit, 0), -1):
        raw = client.query("/gov/proposal", state.id_bytes(pid)).value
        if not raw:
            continue
        proposals.append(state.decode_proposal(raw))
        tally = client.query("/gov/tally", state.id_bytes(pid)).value
        if tally:
            tallies[pid] = state.TallyResult(**decode_state(tally))
        vote = client.query("/gov/vote", state.id_bytes(pid) + owner).value
        if vote:
            votes[pid] = decode_state(vote)
    return proposals, tallies, votes


def read_validators(
    client: VoxClient, owner: bytes, consensus_keys: Sequence[bytes]
) -> tuple[list[Validator], dict[bytes, int]]:
    """The validators that sign blocks now, and those the owner delegates to, with the
    owner's shares in each."""
    mine = {item.id: decode_delegation(item.value) for item in client.delegations(owner).items}
    operators = list(mine)
    for key in consensus_keys:
        raw = client.query("/staking/validator_by_consensus", consensus_address(key)).value
        if raw and raw not in operators:
            operators.append(raw)
    validators = []
    for operator in operators:
        raw = client.query("/staking/validator", operator).value
        if raw:
            validators.append(decode_validator(raw))
    return validators, mine


def read_rounds(client: VoxClient, limit: int = PROPOSALS_SHOWN) -> list[rewards_state.Round]:
    last = _last_id(client, rewards_state.ROUND_SEQ_KEY)
    rounds = []
    for rid in range(last, max(last - limit, 0), -1):
        raw = client.query("/gov/round", state.id_bytes(rid)).value
        if raw:
            rounds.append(rewards_state.Round.from_value(decode_state(raw)))
    return rounds


def read_community(client: VoxClient, owner: bytes) -> CommunityView:
    status = client.status()
    now = status.latest_block_time_unix
    proposals, tallies, votes = read_proposals(client, owner)
    validators, mine = read_validators(client, owner, status.validator_pub_keys)
    rows = build_validators(validators, mine)
    return CommunityView(
        proposals=build_proposals(proposals, tallies, votes, now),
        validators=rows,
        staked=vox(sum(r.mine.uvox for r in rows)),
        treasury=vox(client.balance(COMMUNITY_POOL_ADDRESS)),
        rounds=build_rounds(read_rounds(client), now),
        height=status.latest_height,
    )
