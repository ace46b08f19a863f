"""The gov module: proposals, deposits and stake-weighted votes that change the chain itself
(any module's params, registrars, service kinds, community pool spends, software upgrades),
and developer rewards paid from the community pool (vesting spends, retro funding rounds)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.errors import InvalidGenesisError, InvalidQueryError
from voxpop.chain.kv import KVReader
from voxpop.chain.module import Invariant, Module, MsgRoute, ParamsSpec
from voxpop.chain.modules.bank.state import read_balance
from voxpop.chain.modules.gov import handlers, rewards, state
from voxpop.chain.modules.gov import rewards_state as rs
from voxpop.chain.modules.gov.actions import ActionEnv
from voxpop.chain.modules.gov.messages import (
    MsgDeposit,
    MsgSubmitProposal,
    MsgVote,
    MsgWeightedVote,
)
from voxpop.chain.modules.gov.rewards_messages import MsgAllocate, MsgApply
from voxpop.chain.modules.gov.upgrades import KNOWN_UPGRADES, Migration, process_upgrade

ID = state.ID_LEN
ADDR = state.ADDRESS_LEN


def _id_query(make_key: Callable[[int], bytes]) -> Callable[[bytes], bytes]:
    def route(data: bytes) -> bytes:
        # Verify the query names one proposal id
        if len(data) != ID:
            raise InvalidQueryError("query data must be an 8-byte big-endian proposal id")
        return make_key(int.from_bytes(data, "big"))

    return route


def _id_address_query(prefix: bytes) -> Callable[[bytes], bytes]:
    def route(data: bytes) -> bytes:
        # Verify the query names a proposal id and an address
        if len(data) != ID + ADDR:
            raise InvalidQueryError("query data must be a proposal id (8 bytes) || address (20)")
        return prefix + data

    return route


def _round_address_query(prefix: bytes) -> Callable[[bytes], bytes]:
    def route(data: bytes) -> bytes:
        # Verify the query names a round id and an address
        if len(data) != ID + ADDR:
            raise InvalidQueryError("query data must be a round id (8 bytes) || address (20)")
        return prefix + data

    return route


def _chunk_query(data: bytes) -> bytes:
    # Verify the query names a proposal id and a chunk index
    if len(data) != ID + 4:
        raise InvalidQueryError("query data must be a proposal id (8 bytes) || chunk (4 bytes)")
    return state.TALLY_LIST_PREFIX + data


class GovModule(Module):
    name = "gov"
    prefix = state.PREFIX

    def __init__(
        self,
        modules: Mapping[str, Module] | None = None,
        upgrades: Mapping[str, Migration] | None = None,
    ) -> None:
        # The modules whose params ParamChange reaches: by default the chain's own (a module
        # object holds no state, so the registry's instances serve as well as the app's)
        self._modules = modules
        self._upgrades = upgrades

    @property
    def env(self) -> ActionEnv:
        if self._modules is None:
            from voxpop.chain.registry import default_modules  # the registry lists gov itself

            self._modules = {m.name: m for m in default_modules()}
        return ActionEnv(self._modules)

    @property
    def upgrades(self) -> Mapping[str, Migration]:
        return self._upgrades if self._upgrades is not None else KNOWN_UPGRADES

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.GovParams.from_value, state.GovParams)

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgSubmitProposal.TYPE: MsgRoute(
                MsgSubmitProposal, lambda ctx, msg: handlers.process_submit(ctx, msg, self.env)
            ),
            MsgDeposit.TYPE: MsgRoute(MsgDeposit, handlers.process_deposit),
            MsgVote.TYPE: MsgRoute(MsgVote, handlers.process_vote),
            MsgWeightedVote.TYPE: MsgRoute(MsgWeightedVote, handlers.process_weighted_vote),
            MsgApply.TYPE: MsgRoute(MsgApply, rewards.process_apply),
            MsgAllocate.TYPE: MsgRoute(MsgAllocate, rewards.process_allocate),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "params": lambda _: state.PARAMS_KEY,
            "proposal": _id_query(state.proposal_key),
            "tally": _id_query(state.tally_key),
            "tally_chunk": _chunk_query,
            "deposit": _id_address_query(state.DEPOSIT_PREFIX),
            "vote": _id_address_query(state.VOTE_PREFIX),
            "plan": lambda _: state.PLAN_KEY,
            "vesting": _id_query(rs.vesting_key),
            "round": _id_query(rs.round_key),
            "application": _round_address_query(rs.APPLICATION_PREFIX),
            "allocation": _round_address_query(rs.ALLOCATION_PREFIX),
        }

    def default_genesis(self) -> dict[str, Any]:
        return {"params": asdict(state.GovParams())}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        if set(data) != {"params"} or not isinstance(data["params"], dict):
            raise InvalidGenesisError("gov genesis needs exactly params")
        state.set_params(ctx, state.GovParams.from_value(dict(data["params"])))

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        """Params only: proposals do not carry over to a new chain (see the README)."""
        return {"params": self.params_value(reader)}

    def begin_block(self, ctx: Context) -> None:
        process_upgrade(ctx, self.upgrades)

    def end_block(self, ctx: Context) -> list[Any]:
        handlers.process_deadlines(ctx, self.env)
        rewards.process_vestings(ctx)
        rewards.process_rounds(ctx)
        return []

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("gov/deposits-held", _deposits_held),
            Invariant("gov/queues", _queues),
            Invariant("gov/rewards", _rewards),
        ]


def _deposits_held(reader: KVReader) -> str | None:
    """The gov account holds exactly the deposits of open proposals plus the rewards escrow
    (open rounds' budgets, vestings' unpaid rest), and each open proposal's total is the sum of
    its deposits."""
    deposits = state.read_deposits(reader)
    held = read_balance(reader, state.GOV_ADDRESS)
    owed = sum(amount for _, _, amount in deposits) + rs.escrow_held(reader)
    if held != owed:
        return f"gov account holds {held}, deposits and rewards escrow sum to {owed}"
    by_proposal: dict[int, int] = {}
    for proposal_id, _, amount in deposits:
        by_proposal[proposal_id] = by_proposal.get(proposal_id, 0) + amount
    for proposal in state.read_proposals(reader):
        open_ = proposal.status in (state.Status.DEPOSIT, state.Status.VOTING)
        expected = proposal.total_deposit if open_ else 0
        if by_proposal.get(proposal.id, 0) != expected:
            return f"proposal {proposal.id} deposits do not match its total"
    return None


def _queues(reader: KVReader) -> str | None:
    """Each proposal in its deposit period is queued by its deposit deadline, each in its voting
    period by its voting deadline, and nothing else is queued."""
    expected = set()
    for p in state.read_proposals(reader):
        if p.status == state.Status.DEPOSIT:
            expected.add(state.queue_key(state.DEPOSIT_QUEUE_PREFIX, p.deposit_end_time, p.id))
        elif p.status == state.Status.VOTING:
            expected.add(state.queue_key(state.VOTING_QUEUE_PREFIX, p.voting_end_time, p.id))
    queued = {k for k, _ in reader.iterate(state.DEPOSIT_QUEUE_PREFIX)}
    queued |= {k for k, _ in reader.iterate(state.VOTING_QUEUE_PREFIX)}
    if queued != expected:
        return f"{len(queued ^ expected)} queue entries do not match the proposals"
    return None


def _rewards(reader: KVReader) -> str | None:
    """Each vesting has paid at most its total (all of it once completed, and with what it
    returned, all of it once cancelled) and only active ones are listed as active; each paid
    round paid and returned exactly its budget; exactly the open rounds are queued."""
    active = set()
    for v in rs.read_vestings(reader):
        if v.status == rs.VestingStatus.ACTIVE:
            active.add(v.id)
        settled = {
            rs.VestingStatus.ACTIVE: v.paid <= v.total and v.returned == 0,
            rs.VestingStatus.COMPLETED: v.paid == v.total and v.returned == 0,
            rs.VestingStatus.CANCELLED: v.paid + v.returned == v.total,
        }[v.status]
        if not settled:
            return f"vesting {v.id} paid {v.paid} and returned {v.returned} of {v.total}"
    if rs.read_active_vesting_ids(reader) != active:
        return "the active vesting index does not match the vestings"
    queued = set()
    for r in rs.read_rounds(reader):
        if r.status == rs.RoundStatus.OPEN:
            queued.add(rs.round_queue_key(r.review_end, r.id))
        elif r.paid + r.returned != r.budget:
            return f"round {r.id} paid {r.paid} and returned {r.returned} of {r.budget}"
    if rs.read_round_queue(reader) != queued:
        return "the round queue does not match the open rounds"
    return None
