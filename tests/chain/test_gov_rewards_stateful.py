"""Random vesting spends, cancellations, funding rounds, applications, allocations and blocks of
random lengths, on a real chain: each block's vesting payments against the floor formula, each
round's payouts against a reference median, the community pool to the uvox, and supply
conserved (every module's invariants, the gov escrow among them, are checked by the harness)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.chain.harness import key, send_msg
from tests.chain.pos import DELEGATOR, DELEGATOR2, OP1, OP2, addr
from tests.chain.test_gov import MIN_DEPOSIT, NOBODY, YES, gov_chain, submit_msg, vote_msg
from tests.chain.test_gov_rewards import (
    POOL,
    allocate_msg,
    apply_msg,
    cancel,
    funding_round,
    vested,
)
from voxpop.chain.app import event_attrs
from voxpop.chain.module_accounts import GOV, module_address
from voxpop.chain.modules.gov.state import read_deposits
from voxpop.crypto.address import decode_address
from voxpop.crypto.keys import PrivateKey

PEOPLE = [OP1, OP2, DELEGATOR, DELEGATOR2, NOBODY]
REVIEWER_SETS = [[DELEGATOR], [DELEGATOR, DELEGATOR2], [DELEGATOR, DELEGATOR2, NOBODY]]
DURATIONS = [1, 7, 40, 200]
FUNDING = 300_000_000


@dataclass
class ModelVesting:
    recipient: bytes
    total: int
    start: int
    end: int
    paid: int = 0
    active: bool = True


@dataclass
class ModelRound:
    budget: int
    reviewers: list[bytes]
    applicants: list[bytes] = field(default_factory=list)
    allocations: dict[bytes, dict[bytes, int]] = field(default_factory=dict)
    paid: bool = False


def reference_payouts(r: ModelRound) -> list[int]:
    """Medians of the submitted reviews (an applicant left out of a review: 0), rounded down,
    scaled down to the budget if they exceed it."""
    medians = []
    for applicant in r.applicants:
        values = sorted(review.get(applicant, 0) for review in r.allocations.values())
        if not values:
            medians.append(0)
            continue
        low, high = values[(len(values) - 1) // 2], values[len(values) // 2]
        medians.append((low + high) // 2)
    if sum(medians) > r.budget:
        return [m * r.budget // sum(medians) for m in medians]
    return medians


STATS = {"payouts": 0, "vestings_done": 0, "cancelled": 0}


class RewardsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-rewards-"))
        self.chain = gov_chain(self.dir / "s")
        self.pending: list[tuple[bytes, Callable[[], None]]] = []
        self.vestings: dict[int, ModelVesting] = {}
        self.rounds: dict[int, ModelRound] = {}
        self.recipients = 0
        self.pool_checked = False  # from after the block that funds the pool

    def teardown(self) -> None:
        self.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _add(
        self, who: PrivateKey, msg: tuple[str, dict[str, Any]], then: Callable[[], None]
    ) -> None:
        tx = self.chain.tx(who, [msg], gas_limit=1_000_000)
        if self.chain.check(tx).code == 0:
            self.pending.append((tx, then))
        else:
            self.chain.sequences[addr(who)] -= 1

    def _propose(self, *actions: dict[str, Any]) -> None:
        self._add(OP1, submit_msg(OP1, actions, MIN_DEPOSIT), lambda: None)

    def _round(self, n: int) -> int:
        return 1 + n % max(len(self.rounds), 1)

    # --- rules ------------------------------------------------------------------------------------

    @initialize(
        budget=st.integers(1, 50_000_000),
        reviewers=st.sampled_from(REVIEWER_SETS),
        amount=st.integers(1, 50_000_000),
        duration=st.sampled_from(DURATIONS),
        parts=st.lists(st.integers(0, 500), min_size=2, max_size=2),
        parts2=st.lists(st.integers(0, 500), min_size=2, max_size=2),
    )
    def start(
        self,
        budget: int,
        reviewers: list[PrivateKey],
        amount: int,
        duration: int,
        parts: list[int],
        parts2: list[int],
    ) -> None:
        """A round with two applicants and first reviews, and a vesting, from the start (passed
        at once), so every example pays both; the rules add more of everything."""
        self._add(OP2, send_msg(OP2, POOL, FUNDING), lambda: None)
        self.block(5)
        self.pool_checked = True
        self.propose_round(budget, reviewers, 30, 30)
        self.propose_vesting(amount, duration)
        self.block(5)  # voting starts; OP1's yes votes are queued by block()
        self.block(5)
        self.block(60)  # voting ends: both pass
        assert len(self.rounds) == 1 and self.vestings
        self.apply(0, 0)
        self.apply(1, 0)
        self.block(5)
        self.block(25)  # the review period
        assert len(self.rounds[1].applicants) == 2
        self.allocate(0, 0, parts)
        self.allocate(1, 0, parts2)  # refused if the round has one reviewer

    @rule(amount=st.integers(1, 50_000_000), duration=st.sampled_from(DURATIONS))
    def propose_vesting(self, amount: int, duration: int) -> None:
        self.recipients += 1
        self._propose(vested(key(800 + self.recipients).public_key.address, amount, duration))

    @rule(n=st.integers(0, 8))
    def propose_cancel(self, n: int) -> None:
        self._propose(cancel(1 + n % max(len(self.vestings), 1)))

    @rule(
        budget=st.integers(1, 50_000_000),
        reviewers=st.sampled_from(REVIEWER_SETS),
        apply=st.sampled_from([10, 30]),
        review=st.sampled_from([10, 30]),
    )
    def propose_round(
        self, budget: int, reviewers: list[PrivateKey], apply: int, review: int
    ) -> None:
        action = funding_round(budget, reviewers, apply)
        action["value"]["review_seconds"] = review
        self._propose(action)

    @rule(p=st.integers(0, 4), n=st.integers(0, 5))
    def apply(self, p: int, n: int) -> None:
        who, round_id = PEOPLE[p], self._round(n)

        def then() -> None:
            self.rounds[round_id].applicants.append(addr(who))

        self._add(who, apply_msg(who, round_id), then)

    @rule(
        r=st.integers(0, 2),
        n=st.integers(0, 5),
        parts=st.lists(st.integers(0, 1_000), max_size=5),
    )
    def allocate(self, r: int, n: int, parts: list[int]) -> None:
        """Parts of the budget (thousandths) to the round's applicants in order, so that they
        often sum within the budget and sometimes above it (then refused)."""
        who, round_id = REVIEWER_SETS[2][r], self._round(n)
        model = self.rounds.get(round_id)
        if model is None:
            return
        allocation = {
            applicant: model.budget * part // 1_000
            for applicant, part in zip(model.applicants, parts, strict=False)
        }

        def then() -> None:
            model.allocations[addr(who)] = allocation

        self._add(who, allocate_msg(who, round_id, list(allocation.items())), then)

    @rule(advance=st.sampled_from([1, 5, 20, 60]))
    def block(self, advance: int) -> None:
        txs, self.pending = self.pending, []
        pool, supply = self.chain.balance(POOL), self.chain.supply()
        results = self.chain.block([tx for tx, _ in txs], advance=advance)
        for (_, then), result in zip(txs, results, strict=True):
            if result.code == 0:
                then()
        events = [*(e for r in results for e in r.events), *self.chain.events]
        pool_change = self.check_rewards([(e.type, event_attrs(e)) for e in events])
        # The pool: the tax in, deposits never, rewards out and back exactly as the events say
        taxed = sum(int(event_attrs(e)["amount"]) for e in events if e.type == "community_pool")
        if self.pool_checked:
            assert self.chain.balance(POOL) == pool + taxed + pool_change
        # Supply: only minting and burning change it (rewards move, never burn)
        minted = sum(int(event_attrs(e)["amount"]) for e in events if e.type == "mint")
        burned = sum(int(event_attrs(e)["amount"]) for e in events if e.type == "burn")
        assert self.chain.supply() == supply + minted - burned
        # Queue OP1's yes vote on each proposal submitted in this block
        for type_, attrs in [(e.type, event_attrs(e)) for e in events]:
            if type_ == "proposal_submitted":
                self._add(OP1, vote_msg(OP1, int(attrs["proposal_id"]), YES), lambda: None)

    def check_rewards(self, events: list[tuple[str, dict[str, str]]]) -> int:
        """Follow the block's reward events through the model; returns the pool's change."""
        now = self.chain.time
        change = 0
        payouts: dict[int, list[int]] = {}
        for type_, a in events:
            if type_ == "vesting_started":
                vid, total = int(a["vesting_id"]), int(a["amount"])
                assert vid == len(self.vestings) + 1
                self.vestings[vid] = ModelVesting(
                    recipient=decode_address(a["recipient"]),
                    total=total,
                    start=now,
                    end=int(a["end_time"]),
                )
                change -= total
            elif type_ == "vesting_cancelled":
                v = self.vestings[int(a["vesting_id"])]
                assert v.active and int(a["returned"]) == v.total - v.paid
                v.active = False
                change += v.total - v.paid
                STATS["cancelled"] += 1
            elif type_ == "round_started":
                rid = int(a["round_id"])
                assert rid == len(self.rounds) + 1
                reviewers = [decode_address(r) for r in a["reviewers"].split(",")]
                self.rounds[rid] = ModelRound(int(a["budget"]), reviewers)
                change -= int(a["budget"])
            elif type_ == "round_payout":
                payouts.setdefault(int(a["round_id"]), []).append(int(a["amount"]))
            elif type_ == "round_paid":
                rid = int(a["round_id"])
                model = self.rounds[rid]
                expected = reference_payouts(model)
                assert payouts.get(rid, []) == expected
                assert int(a["paid"]) == sum(expected)
                assert int(a["returned"]) == model.budget - sum(expected)
                change += model.budget - sum(expected)
                model.paid = True
                STATS["payouts"] += sum(1 for p in expected if p)
        # Each active vesting has paid exactly the floor formula by now
        for v in self.vestings.values():
            if not v.active:
                continue
            due = v.total if now >= v.end else v.total * (now - v.start) // (v.end - v.start)
            v.paid = due
            if due == v.total:
                v.active = False
                STATS["vestings_done"] += 1
        return change

    @invariant()
    def recipients_hold_what_vested(self) -> None:
        """Vesting recipients are fresh accounts: each holds exactly what it was paid."""
        held: dict[bytes, int] = {}
        for v in self.vestings.values():
            held[v.recipient] = held.get(v.recipient, 0) + v.paid
        for recipient, paid in held.items():
            assert self.chain.balance(recipient) == paid

    @invariant()
    def gov_holds_escrow(self) -> None:
        """The gov account holds the deposits, the open rounds' budgets and what the vestings
        have not paid, by the model."""
        open_budgets = sum(r.budget for r in self.rounds.values() if not r.paid)
        unpaid = sum(v.total - v.paid for v in self.vestings.values() if v.active)
        deposits = sum(amount for _, _, amount in read_deposits(self.chain.app.committed))
        assert self.chain.balance(module_address(GOV)) == deposits + open_budgets + unpaid


RewardsMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=50, deadline=None)
TestRewards = RewardsMachine.TestCase


def test_zz_rewards_were_exercised() -> None:
    """The machine above paid applicants, completed vestings (runs after it, in file order)."""
    assert STATS["payouts"] >= 3 and STATS["vestings_done"] >= 3, STATS
