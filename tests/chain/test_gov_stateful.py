"""Random proposals, deposits, votes, delegations and redelegations during voting: every tally
checked against a reference model, and every uvox of deposits refunded or burned as the model
says, with every module's invariants after each block (the harness checks them)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from tests.chain.pos import (
    DELEGATOR,
    DELEGATOR2,
    OP1,
    OP2,
    addr,
    delegate_msg,
    redelegate_msg,
    undelegate_msg,
)
from tests.chain.test_gov import (
    MIN_DEPOSIT,
    NOBODY,
    PARAMS,
    burned_total,
    deposit_msg,
    gov_chain,
    param_change,
    submit_msg,
    vote_msg,
    weighted_msg,
)
from voxpop.chain.app import event_attrs
from voxpop.chain.encoding import decode_state
from voxpop.chain.modules.gov.state import WEIGHT_ONE, id_bytes
from voxpop.chain.modules.staking.state import Status, read_delegations, read_validators
from voxpop.crypto.keys import PrivateKey

PEOPLE = [DELEGATOR, DELEGATOR2, NOBODY, OP1, OP2]
VALS = [OP1, OP2]
OPTIONS = [1, 2, 3, 4]
SPLITS = [
    [(1, WEIGHT_ONE)],
    [(1, 600_000), (3, 400_000)],
    [(2, 333_333), (3, 333_333), (4, 333_334)],
]


@dataclass
class ModelProposal:
    deposits: dict[bytes, int] = field(default_factory=dict)
    votes: dict[bytes, list[list[int]]] = field(default_factory=dict)


def model_tally(chain_state: object, votes: dict[bytes, list[list[int]]]) -> dict[int, int]:
    """Per-option totals by the rules, the straightforward way: every delegation of every bonded
    validator goes to its delegator's vote, or else to its validator's."""
    reader = chain_state
    vals = {v.operator: v for v in read_validators(reader) if v.status == Status.BONDED}  # type: ignore[arg-type]
    weight: dict[tuple[bytes, str], int] = {}
    for operator, delegator, shares in read_delegations(reader):  # type: ignore[arg-type]
        val = vals.get(operator)
        if val is None or delegator not in votes:
            continue
        worth = val.tokens if shares == val.shares else shares * val.tokens // val.shares
        weight[(delegator, "own")] = weight.get((delegator, "own"), 0) + worth
        weight[(operator, "covered")] = weight.get((operator, "covered"), 0) + worth
    for voter in votes:
        weight.setdefault((voter, "own"), 0)
    for operator, val in vals.items():
        if operator in votes:
            weight[(operator, "rest")] = val.tokens - weight.get((operator, "covered"), 0)
    totals = dict.fromkeys(OPTIONS, 0)
    for (who, kind), w in weight.items():
        if kind == "covered":
            continue
        for option, part in votes[who]:
            totals[option] += w * part // WEIGHT_ONE
    return totals


def model_verdict(totals: dict[int, int], bonded: int) -> str:
    voted = sum(totals.values())
    if bonded == 0 or voted == 0 or voted * 10_000 < bonded * PARAMS.quorum_bps:
        return "no_quorum"
    if totals[4] > 0 and totals[4] * 10_000 >= voted * PARAMS.veto_threshold_bps:
        return "vetoed"
    deciding = voted - totals[2]
    if deciding and totals[1] * 10_000 > deciding * PARAMS.threshold_bps:
        return "passed"
    return "rejected"


TALLIES: list[int] = []  # votes of each tally checked, over every example


class GovMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-gov-"))
        self.chain = gov_chain(self.dir / "s")
        self.pending: list[tuple[bytes, Callable[[], None]]] = []
        self.proposals: dict[int, ModelProposal] = {}
        self.next_id = 1
        self.tallied = 0

    def teardown(self) -> None:
        self.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _add(
        self, who: PrivateKey, msg: tuple[str, dict[str, object]], then: Callable[[], None]
    ) -> None:
        tx = self.chain.tx(who, [msg], gas_limit=1_000_000)
        if self.chain.check(tx).code == 0:
            self.pending.append((tx, then))
        else:
            self.chain.sequences[addr(who)] -= 1

    def _pid(self, n: int) -> int:
        return 1 + n % max(self.next_id, 1)

    # --- rules ------------------------------------------------------------------------------------

    @initialize(
        change=st.booleans(),
        full=st.booleans(),
        first=st.sampled_from(OPTIONS),
        second=st.sampled_from(OPTIONS),
    )
    def open_proposals(self, change: bool, full: bool, first: int, second: int) -> None:
        """Two proposals to vote on from the start, with two votes on the first, so that every
        example reaches a tally with votes once voting ends (rules add more)."""
        self.submit(3, True, change)
        self.submit(0, full, not change)
        self.block(5)
        self.vote(3, 0, first)
        self.vote(1, 0, second)

    @rule(p=st.integers(0, 4), full=st.booleans(), change=st.booleans())
    def submit(self, p: int, full: bool, change: bool) -> None:
        who = PEOPLE[p]
        amount = MIN_DEPOSIT if full else MIN_DEPOSIT // 4
        actions = [param_change("staking", max_validators=50)] if change else []

        def then() -> None:
            self.proposals[self.next_id] = ModelProposal({addr(who): amount})
            self.next_id += 1

        self._add(who, submit_msg(who, actions, amount), then)

    @rule(p=st.integers(0, 4), n=st.integers(0, 5), amount=st.integers(1, MIN_DEPOSIT))
    def deposit(self, p: int, n: int, amount: int) -> None:
        who, pid = PEOPLE[p], self._pid(n)

        def then() -> None:
            held = self.proposals[pid].deposits
            held[addr(who)] = held.get(addr(who), 0) + amount

        self._add(who, deposit_msg(who, pid, amount), then)

    @rule(p=st.integers(0, 4), n=st.integers(0, 5), option=st.sampled_from(OPTIONS))
    def vote(self, p: int, n: int, option: int) -> None:
        who, pid = PEOPLE[p], self._pid(n)

        def then() -> None:
            self.proposals[pid].votes[addr(who)] = [[option, WEIGHT_ONE]]

        self._add(who, vote_msg(who, pid, option), then)

    @rule(p=st.integers(0, 4), n=st.integers(0, 5), split=st.sampled_from(SPLITS))
    def weighted_vote(self, p: int, n: int, split: list[tuple[int, int]]) -> None:
        who, pid = PEOPLE[p], self._pid(n)

        def then() -> None:
            self.proposals[pid].votes[addr(who)] = sorted([o, w] for o, w in split)

        self._add(who, weighted_msg(who, pid, split), then)

    @rule(p=st.integers(0, 4), v=st.integers(0, 1), amount=st.integers(1, 80_000_000))
    def delegate(self, p: int, v: int, amount: int) -> None:
        self._add(PEOPLE[p], delegate_msg(PEOPLE[p], VALS[v], amount), lambda: None)

    @rule(p=st.integers(0, 4), v=st.integers(0, 1), amount=st.integers(1, 40_000_000))
    def undelegate(self, p: int, v: int, amount: int) -> None:
        self._add(PEOPLE[p], undelegate_msg(PEOPLE[p], VALS[v], amount), lambda: None)

    @rule(p=st.integers(0, 4), v=st.integers(0, 1), amount=st.integers(1, 40_000_000))
    def redelegate(self, p: int, v: int, amount: int) -> None:
        msg = redelegate_msg(PEOPLE[p], VALS[v], VALS[1 - v], amount)
        self._add(PEOPLE[p], msg, lambda: None)

    @rule(advance=st.sampled_from([5, 20, 60]))
    def block(self, advance: int) -> None:
        txs, self.pending = self.pending, []
        burned = burned_total(self.chain)
        supply = self.chain.supply()
        results = self.chain.block([tx for tx, _ in txs], advance=advance)
        for (_, then), result in zip(txs, results, strict=True):
            if result.code == 0:
                then()
        expected_burn = 0
        for event in self.chain.events:
            attrs = event_attrs(event)
            if event.type == "proposal_dropped":
                pid = int(attrs["proposal_id"])
                expected_burn += sum(self.proposals.pop(pid).deposits.values())
            elif event.type == "proposal_ended":
                pid = int(attrs["proposal_id"])
                model = self.proposals.pop(pid)
                verdict = self.check_tally(pid, model)
                assert attrs["verdict"] == verdict
                if verdict in ("vetoed", "no_quorum"):
                    expected_burn += sum(model.deposits.values())
        # Supply: what was minted is new, what was burned is gone; of the burns, gov's are
        # exactly the deposits the model says
        events = [*self.chain.events, *(e for r in results for e in r.events)]
        burns = [event_attrs(e) for e in events if e.type == "burn"]
        assert sum(int(b["amount"]) for b in burns if b["module"] == "gov") == expected_burn
        assert burned_total(self.chain) - burned == sum(int(b["amount"]) for b in burns)
        minted = sum(int(event_attrs(e)["amount"]) for e in events if e.type == "mint")
        assert self.chain.supply() == supply + minted - burned_total(self.chain) + burned

    def check_tally(self, pid: int, model: ModelProposal) -> str:
        stored = decode_state(self.chain.query("/gov/tally", id_bytes(pid)))
        totals = model_tally(self.chain.app.committed, model.votes)
        assert [stored["yes"], stored["abstain"], stored["no"], stored["no_with_veto"]] == [
            totals[1],
            totals[2],
            totals[3],
            totals[4],
        ]
        bonded = sum(
            v.tokens for v in read_validators(self.chain.app.committed) if v.status == Status.BONDED
        )
        assert stored["bonded"] == bonded
        self.tallied += 1
        TALLIES.append(len(model.votes))
        return model_verdict(totals, bonded)


GovMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=50, deadline=None)
TestGov = GovMachine.TestCase


def test_zz_tallies_were_checked() -> None:
    """The machine above reached tallies with votes (runs after it, in file order)."""
    assert sum(1 for votes in TALLIES if votes) >= 3, TALLIES
