"""Random staking, reward and slashing sequences; every module's invariants after every block,
and exact reward accounting: everything distributed is held or was claimed."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.chain.pos import (
    CONS1,
    CONS2,
    CONS3,
    DELEGATOR,
    DELEGATOR2,
    OP1,
    OP2,
    OP3,
    claim_msg,
    cons,
    create_msg,
    delegate_msg,
    pool,
    redelegate_msg,
    start,
    uint,
    undelegate_msg,
)
from voxpop.chain.abci import Misbehavior, MisbehaviorType, Validator
from voxpop.chain.app import check_invariants, event_attrs

PEOPLE = [DELEGATOR, DELEGATOR2, OP1]
VALS = [OP1, OP2, OP3]
PAYOUTS = ("claim_rewards", "claim_commission")


class PosMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-pos-"))
        self.chain = start(self.dir / "s")
        self.txs: list[bytes] = []
        self.paid = 0

    def teardown(self) -> None:
        self.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _add(self, who: object, msg: tuple[str, dict[str, object]]) -> None:
        tx = self.chain.tx(who, [msg])  # type: ignore[arg-type]
        if self.chain.check(tx).code == 0:
            self.txs.append(tx)
        else:
            self.chain.sequences[who.public_key.address] -= 1  # type: ignore[attr-defined]

    @rule(p=st.integers(0, 2), v=st.integers(0, 2), amount=st.integers(1, 50_000_000))
    def delegate(self, p: int, v: int, amount: int) -> None:
        self._add(PEOPLE[p], delegate_msg(PEOPLE[p], VALS[v], amount))

    @rule(p=st.integers(0, 2), v=st.integers(0, 2), amount=st.integers(1, 20_000_000))
    def undelegate(self, p: int, v: int, amount: int) -> None:
        self._add(PEOPLE[p], undelegate_msg(PEOPLE[p], VALS[v], amount))

    @rule(
        p=st.integers(0, 2), v=st.integers(0, 2), w=st.integers(0, 2), amount=st.integers(1, 10**7)
    )
    def redelegate(self, p: int, v: int, w: int, amount: int) -> None:
        self._add(PEOPLE[p], redelegate_msg(PEOPLE[p], VALS[v], VALS[w], amount))

    @rule(p=st.integers(0, 2), v=st.integers(0, 2))
    def claim(self, p: int, v: int) -> None:
        self._add(PEOPLE[p], claim_msg(PEOPLE[p], VALS[v]))

    @rule(bond=st.integers(1_000_000, 200_000_000))
    def create_validator(self, bond: int) -> None:
        self._add(OP3, create_msg(OP3, CONS3, bond))

    @rule(v=st.integers(0, 1))
    def claim_commission(self, v: int) -> None:
        self._add(
            VALS[v], ("distribution/ClaimCommission", {"operator": VALS[v].public_key.address})
        )

    @rule(
        advance=st.integers(1, 400),
        offline=st.sampled_from([(), (CONS1,), (CONS2,)]),
        evidence=st.booleans(),
    )
    def make_block(self, advance: int, offline: tuple[object, ...], evidence: bool) -> None:
        misbehavior = []
        if evidence and self.chain.app.last_height > 2:
            misbehavior.append(
                Misbehavior(
                    MisbehaviorType.DUPLICATE_VOTE,
                    Validator(cons(CONS2), 100),
                    self.chain.app.last_height - 1,
                    self.chain.time,
                    200,
                )
            )
        results = self.chain.block(
            self.txs,
            advance=advance,
            absent={cons(k) for k in offline},  # type: ignore[arg-type]
            misbehavior=misbehavior,
        )
        self.txs = []
        for res in results:
            if res.code == 0:
                self.paid += sum(
                    int(event_attrs(e)["amount"]) for e in res.events if e.type in PAYOUTS
                )
        # Settlements in begin-block (a slashed redelegation) pay out too
        self.paid += sum(
            int(event_attrs(e)["amount"]) for e in self.chain.events if e.type == "claim_rewards"
        )

    @invariant()
    def invariants_hold(self) -> None:
        assert check_invariants(self.chain.app) == []

    @invariant()
    def rewards_accounted(self) -> None:
        held = pool(self.chain, "community_pool") + pool(self.chain, "distribution")
        assert uint(self.chain, "/distribution/distributed") == held + self.paid


PosMachine.TestCase.settings = settings(max_examples=20, stateful_step_count=30, deadline=None)
TestPos = PosMachine.TestCase
