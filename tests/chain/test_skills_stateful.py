"""Random registrations, updates, transfers, retirements and settlements (by payers, and by an
agent under authz) against a model of every skill and every balance: royalties reach payouts
exactly, value is conserved between accounts, and each skill's totals are the sum of its
settlements. Every module's invariants run after every block (the harness checks them)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.chain.harness import Chain, key
from tests.chain.test_skills import register, retire, settle, skill, transfer, update
from voxpop.chain.genesis import default_app_state
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.bounds import MAX_UINT64
from voxpop.client.tx import msg_authz_exec, msg_authz_grant

KEYS = [key(40 + i) for i in range(3)]
ADDRS = [k.public_key.address for k in KEYS]
IDS = ["skill-weather.openvoiceos", "ovos-skill-jokes.jarbasskills", "a.b", "x-y.z"]
FEE = AuthParams().min_fee(200_000)  # what each tx of the harness pays
FUNDS = 10**9
PAYER, AGENT = 0, 1  # PAYER lets AGENT settle for it

accounts = st.integers(0, len(KEYS) - 1)
skill_ids = st.sampled_from(IDS)
fees = st.sampled_from([1, 2, 7, 1_000, MAX_UINT64])  # the largest fee overflows at 2 uses
counts = st.sampled_from([1, 2, 3, 5, 8, 13, MAX_UINT64])


class SkillsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-skills-"))
        self.chain = Chain.start(
            self.dir / "s", app_state=default_app_state([(a, FUNDS) for a in ADDRS])
        )
        self.balances = [FUNDS] * len(KEYS)
        grant = msg_authz_grant(ADDRS[PAYER], ADDRS[AGENT], "skills/Settle")
        self._send(PAYER, [grant], ok=True)
        # skill id -> creator, payout, fee, retired, uses, paid, settlements (indexes of KEYS)
        self.skills: dict[str, dict[str, Any]] = {}
        # Two skills to start with, so that most settlements have something to pay
        self.register(0, IDS[0], 3, 1)
        self.register(2, IDS[1], 10, 2)

    def teardown(self) -> None:
        self.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _send(self, signer: int, msgs: list[tuple[str, dict[str, Any]]], ok: bool) -> None:
        tx = self.chain.tx(KEYS[signer], msgs)
        res = self.chain.check(tx)
        event(f"{msgs[0][0]} {'accepted' if ok else 'refused'}")
        assert (res.code == 0) == ok, (res.code, res.log, msgs)
        if not ok:
            self.chain.sequences[ADDRS[signer]] -= 1
            return
        result = self.chain.deliver(tx)
        assert result.code == 0, result.log
        self.balances[signer] -= FEE

    def _owned(self, creator: int, skill_id: str) -> bool:
        s = self.skills.get(skill_id)
        return s is not None and s["creator"] == creator and not s["retired"]

    @rule(creator=accounts, skill_id=skill_ids, fee=fees, payout=accounts)
    def register(self, creator: int, skill_id: str, fee: int, payout: int) -> None:
        ok = skill_id not in self.skills
        self._send(creator, [register(ADDRS[creator], skill_id, fee, ADDRS[payout])], ok)
        if ok:
            self.skills[skill_id] = {
                "creator": creator,
                "payout": payout,
                "fee": fee,
                "retired": False,
                "uses": 0,
                "paid": 0,
                "settlements": 0,
            }

    @rule(creator=accounts, skill_id=skill_ids, fee=fees, payout=accounts)
    def update(self, creator: int, skill_id: str, fee: int, payout: int) -> None:
        ok = self._owned(creator, skill_id)
        self._send(creator, [update(ADDRS[creator], skill_id, fee, ADDRS[payout])], ok)
        if ok:
            self.skills[skill_id] |= {"fee": fee, "payout": payout}

    @rule(creator=accounts, skill_id=skill_ids, to=accounts, payout=accounts)
    def transfer(self, creator: int, skill_id: str, to: int, payout: int) -> None:
        ok = self._owned(creator, skill_id) and to != creator
        msg = transfer(ADDRS[creator], skill_id, ADDRS[to], ADDRS[payout])
        self._send(creator, [msg], ok)
        if ok:
            self.skills[skill_id] |= {"creator": to, "payout": payout}

    @rule(creator=accounts, skill_id=skill_ids)
    def retire(self, creator: int, skill_id: str) -> None:
        ok = self._owned(creator, skill_id)
        self._send(creator, [retire(ADDRS[creator], skill_id)], ok)
        if ok:
            self.skills[skill_id]["retired"] = True

    def _settle(self, payer: int, signer: int, uses: dict[str, int]) -> None:
        entries = sorted(uses.items())
        active = all(s in self.skills and not self.skills[s]["retired"] for s in uses)
        total = sum(n * self.skills[s]["fee"] for s, n in entries) if active else 0
        # The fee is charged before the messages run: the payer's funds left must cover it all
        left = self.balances[payer] - (FEE if payer == signer else 0)
        ok = active and total <= MAX_UINT64 and total <= left
        msg = settle(ADDRS[payer], *entries)
        if signer != payer:
            msg = msg_authz_exec(ADDRS[signer], [msg])
        self._send(signer, [msg], ok)
        if not ok:
            return
        for skill_id, count in entries:
            s = self.skills[skill_id]
            amount = count * s["fee"]
            self.balances[payer] -= amount
            self.balances[s["payout"]] += amount
            s["uses"] += count
            s["paid"] += amount
            s["settlements"] += 1

    @rule(payer=accounts, uses=st.dictionaries(skill_ids, counts, min_size=1, max_size=3))
    def settle(self, payer: int, uses: dict[str, int]) -> None:
        self._settle(payer, payer, uses)

    @rule(uses=st.dictionaries(skill_ids, counts, min_size=1, max_size=3))
    def settle_by_agent(self, uses: dict[str, int]) -> None:
        self._settle(PAYER, AGENT, uses)

    @invariant()
    def balances_match(self) -> None:
        """Royalties reach payouts exactly; nothing else moves but fees."""
        assert [self.chain.balance(a) for a in ADDRS] == self.balances

    @invariant()
    def skills_match(self) -> None:
        """Each skill's terms, and its totals are the sum of its settlements."""
        for skill_id in IDS:
            found = skill(self.chain, skill_id)
            expected = self.skills.get(skill_id)
            if expected is None:
                assert found is None
                continue
            assert found is not None
            assert (found.creator, found.payout, found.fee, found.retired) == (
                ADDRS[expected["creator"]],
                ADDRS[expected["payout"]],
                expected["fee"],
                expected["retired"],
            )
            assert (found.uses, found.paid, found.settlements) == (
                expected["uses"],
                expected["paid"],
                expected["settlements"],
            )


TestSkills = SkillsMachine.TestCase
TestSkills.settings = settings(max_examples=20, stateful_step_count=20, deadline=None)
