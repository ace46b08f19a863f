"""Governance transitions: submit, deposit, vote; and, at the end of each block, the deadlines."""

from __future__ import annotations

from dataclasses import replace

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    ChainError,
    DepositClosedError,
    DepositTooSmallError,
    InvalidProposalActionError,
    NotVotingPeriodError,
)
from voxpop.chain.module_accounts import GOV
from voxpop.chain.modules.bank.state import burn, move
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.gov import state, tally
from voxpop.chain.modules.gov.actions import ACTIONS_KIND, ActionEnv, actions_from_wire
from voxpop.chain.modules.gov.messages import (
    MsgDeposit,
    MsgSubmitProposal,
    MsgVote,
    MsgWeightedVote,
)
from voxpop.chain.modules.gov.state import GOV_ADDRESS, WEIGHT_ONE, Proposal, Status


def process_submit(ctx: Context, msg: MsgSubmitProposal, env: ActionEnv) -> None:
    params = state.get_params(ctx)
    due_now = params.min_deposit * params.min_initial_deposit_bps // state.BPS
    # Verify the part of the minimum deposit due at submission
    if msg.deposit < due_now:
        raise DepositTooSmallError(f"a proposal needs at least {due_now} uvox deposited with it")
    # Verify each action against current state (it is checked again when it would apply)
    for i, action in enumerate(msg.actions):
        try:
            action.check(ctx, env)
        except InvalidProposalActionError as exc:
            raise InvalidProposalActionError(f"actions[{i}]: {exc.message}") from None
    now = ctx.block.time_unix
    proposal = Proposal(
        id=state.next_proposal_id(ctx),
        proposer=msg.proposer,
        title=msg.title,
        summary=msg.summary,
        actions=ACTIONS_KIND.to_wire(msg.actions),
        status=Status.DEPOSIT,
        submit_time=now,
        deposit_end_time=now + params.max_deposit_period_seconds,
        total_deposit=0,
    )
    state.set_proposal(ctx, proposal)
    state.enqueue(ctx, state.DEPOSIT_QUEUE_PREFIX, proposal.deposit_end_time, proposal.id)
    ctx.emit(
        "proposal_submitted",
        proposal_id=str(proposal.id),
        proposer=addr_text(msg.proposer),
        actions=",".join(a.TYPE for a in msg.actions) or "text",
    )
    if msg.deposit:
        add_deposit(ctx, proposal, msg.proposer, msg.deposit)


def process_deposit(ctx: Context, msg: MsgDeposit) -> None:
    proposal = state.require_proposal(ctx, msg.proposal_id)
    # Verify the proposal still takes deposits
    if proposal.status not in (Status.DEPOSIT, Status.VOTING):
        raise DepositClosedError(f"proposal {proposal.id} is closed")
    add_deposit(ctx, proposal, msg.depositor, msg.amount)


def add_deposit(ctx: Context, proposal: Proposal, depositor: bytes, amount: int) -> None:
    """Hold `amount` of the depositor's in the gov account; start voting once the minimum is in.
    Raises InsufficientFundsError."""
    move(ctx, depositor, GOV_ADDRESS, amount)
    state.add_deposit(ctx, proposal.id, depositor, amount)
    proposal = replace(proposal, total_deposit=proposal.total_deposit + amount)
    ctx.emit(
        "proposal_deposit",
        proposal_id=str(proposal.id),
        depositor=addr_text(depositor),
        amount=str(amount),
    )
    if proposal.status == Status.DEPOSIT and proposal.total_deposit >= (
        state.get_params(ctx).min_deposit
    ):
        proposal = start_voting(ctx, proposal)
    state.set_proposal(ctx, proposal)


def start_voting(ctx: Context, proposal: Proposal) -> Proposal:
    now = ctx.block.time_unix
    end = now + state.get_params(ctx).voting_period_seconds
    state.dequeue(ctx, state.DEPOSIT_QUEUE_PREFIX, proposal.deposit_end_time, proposal.id)
    state.enqueue(ctx, state.VOTING_QUEUE_PREFIX, end, proposal.id)
    ctx.emit("voting_started", proposal_id=str(proposal.id), voting_end=str(end))
    return replace(proposal, status=Status.VOTING, voting_start_time=now, voting_end_time=end)


def process_vote(ctx: Context, msg: MsgVote) -> None:
    cast_vote(ctx, msg.voter, msg.proposal_id, [[msg.option, WEIGHT_ONE]])


def process_weighted_vote(ctx: Context, msg: MsgWeightedVote) -> None:
    options = sorted([option, weight] for option, weight in msg.options)
    cast_vote(ctx, msg.voter, msg.proposal_id, options)


def cast_vote(ctx: Context, voter: bytes, proposal_id: int, options: list[list[int]]) -> None:
    """Record (or replace) a vote. An account with no stake may vote: its vote weighs what it
    has bonded when voting ends, which may be nothing (as in Cosmos)."""
    proposal = state.require_proposal(ctx, proposal_id)
    # Verify the proposal is in its voting period
    if proposal.status != Status.VOTING:
        raise NotVotingPeriodError(f"proposal {proposal_id} is not in its voting period")
    state.set_vote(ctx, proposal_id, voter, options)
    ctx.emit(
        "proposal_vote",
        proposal_id=str(proposal_id),
        voter=addr_text(voter),
        options=",".join(f"{o}:{w}" for o, w in options),
    )


# --- end of block -----------------------------------------------------------------------------


def process_deadlines(ctx: Context, env: ActionEnv) -> None:
    """Drop proposals whose deposit period ended short of the minimum (their deposits are
    burned: spam costs), then tally those whose voting period ended, in deadline order."""
    now = ctx.block.time_unix
    for proposal_id in state.due(ctx, state.DEPOSIT_QUEUE_PREFIX, now):
        proposal = state.require_proposal(ctx, proposal_id)
        state.dequeue(ctx, state.DEPOSIT_QUEUE_PREFIX, proposal.deposit_end_time, proposal.id)
        burn_deposits(ctx, proposal)
        state.set_status(ctx, proposal, Status.DROPPED, "the deposit period ended")
        ctx.emit("proposal_dropped", proposal_id=str(proposal.id))
    for proposal_id in state.due(ctx, state.VOTING_QUEUE_PREFIX, now):
        proposal = state.require_proposal(ctx, proposal_id)
        state.dequeue(ctx, state.VOTING_QUEUE_PREFIX, proposal.voting_end_time, proposal.id)
        end_voting(ctx, proposal, env)


def end_voting(ctx: Context, proposal: Proposal, env: ActionEnv) -> None:
    """Tally from state as it is now, settle the deposits, and apply the actions if it passed."""
    params = state.get_params(ctx)
    result, chunks = tally.tally(ctx.store, proposal.id, ctx.block.height)
    state.set_tally(ctx, proposal.id, result, chunks)
    verdict = tally.outcome(
        result, params.quorum_bps, params.threshold_bps, params.veto_threshold_bps
    )
    if verdict in ("vetoed", "no_quorum"):
        burn_deposits(ctx, proposal)
    else:
        refund_deposits(ctx, proposal)
    status, reason = Status.REJECTED, verdict
    if verdict == "passed":
        status, reason = apply_actions(ctx, proposal, env)
    state.set_status(ctx, proposal, status, "" if status == Status.PASSED else reason)
    ctx.emit(
        "proposal_ended",
        proposal_id=str(proposal.id),
        result=state.STATUS_NAMES[status],
        verdict=verdict,
        yes=str(result.yes),
        abstain=str(result.abstain),
        no=str(result.no),
        no_with_veto=str(result.no_with_veto),
    )


def apply_actions(ctx: Context, proposal: Proposal, env: ActionEnv) -> tuple[Status, str]:
    """Apply every action in one branch: all or none. A failure is recorded, never raised."""
    run = ctx.branch()
    env = replace(env, proposal_id=proposal.id)
    try:
        for i, action in enumerate(actions_from_wire(proposal.actions)):
            try:
                action.apply(run, env)
            except ChainError as exc:
                raise type(exc)(f"actions[{i}] ({action.TYPE}): {exc.message}") from None
    except ChainError as exc:
        return Status.FAILED, f"{exc.name}: {exc.message}"
    ctx.write(run)
    return Status.PASSED, ""


def refund_deposits(ctx: Context, proposal: Proposal) -> None:
    for depositor, amount in state.pop_deposits(ctx, proposal.id):
        move(ctx, GOV_ADDRESS, depositor, amount)


def burn_deposits(ctx: Context, proposal: Proposal) -> None:
    total = sum(amount for _, amount in state.pop_deposits(ctx, proposal.id))
    if total:
        burn(ctx, GOV, total)
