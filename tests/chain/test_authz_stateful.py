"""authz and feegrant under random sequences, against a model written from the READMEs.

Each tx goes in its own block, so the model knows the block time it runs at. After every step:
the exact result code, every balance, every sequence, every grant and allowance, and every
module's invariants (bank: sum of balances = supply, supply = genesis + minted - burned).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.chain.harness import CHAIN_ID, Chain, key, send_msg
from voxpop.chain import errors
from voxpop.chain.app import check_invariants
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.authz.state import decode_grant
from voxpop.chain.modules.feegrant.state import decode_allowance
from voxpop.client.tx import (
    build_tx,
    msg_authz_exec,
    msg_authz_grant,
    msg_authz_revoke,
    msg_feegrant_grant,
    msg_feegrant_revoke,
    sign_tx,
)

KEYS = [key(20 + i) for i in range(4)]
ADDR = [k.public_key.address for k in KEYS]
GAS = 200_000
FEE = AuthParams().min_fee(GAS)
START = 1_000_000
BLOCK = 5  # seconds the harness advances per block
SEND = "bank/Send"
OK = 0
MAYBE_PAYER = st.sampled_from([None, None, None, 0, 1, 2, 3])  # mostly the signer pays


@dataclass(frozen=True)
class Limit:
    """The model's own account of a limit: total left (None = none), uses left (None = none),
    expiration (None = never), a per-period cap (seconds, cap) with its window and spending."""

    total: int | None = None
    uses: int | None = None
    expiration: int | None = None
    period: tuple[int, int] | None = None
    window: int = 0
    spent: int = 0


def spend(limit: Limit, amount: int, now: int) -> Limit | None:
    """The limit after spending `amount` at `now`, or None if it does not allow it."""
    if limit.total is not None and amount > limit.total:
        return None
    window, spent = limit.window, limit.spent
    if limit.period is not None:
        seconds, cap = limit.period
        while now >= window + seconds:
            window, spent = window + seconds, 0
        if spent + amount > cap:
            return None
        spent += amount
    total = None if limit.total is None else limit.total - amount
    uses = None if limit.uses is None else limit.uses - 1
    return replace(limit, total=total, uses=uses, window=window, spent=spent)


def used_up(limit: Limit) -> bool:
    return limit.total == 0 or limit.uses == 0


class DelegationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-authz-"))
        # The last key starts empty: an agent that only ever acts through grants
        self.chain = Chain.start(self.dir / "s", [(k, START) for k in KEYS[:3]])
        self.bal = {a: (START if i < 3 else 0) for i, a in enumerate(ADDR)}
        self.seq = dict.fromkeys(ADDR, 0)
        self.grants: dict[tuple[bytes, bytes], Limit] = {}  # bank/Send grants
        self.allowances: dict[tuple[bytes, bytes], tuple[Limit, bool]] = {}  # (limit, exec only)

    def teardown(self) -> None:
        self.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- running one tx in its own block, against the model's prediction ------------------------

    def _run(self, signer: int, msgs: list[Any], fee_granter: int | None, predict: Any) -> None:
        """Deliver one tx; `predict(now)` applies the model and returns the expected code.

        The ante is modelled here: who pays, and whether the allowance allows it."""
        k, who = KEYS[signer], ADDR[signer]
        now = self.chain.time + BLOCK
        body = build_tx(
            chain_id=CHAIN_ID,
            pub_key=k.public_key.raw,
            sequence=self.seq[who],
            msgs=msgs,
            fee=FEE,
            gas_limit=GAS,
            fee_granter=b"" if fee_granter is None else ADDR[fee_granter],
        )
        expected = self._ante(who, fee_granter, [t for t, _ in msgs], now)
        if expected == OK:
            self.seq[who] += 1
            saved = (dict(self.bal), dict(self.grants))
            expected = predict(now)
            if expected != OK:  # the messages' effects are dropped; the fee stays paid
                self.bal, self.grants = saved
        result = self.chain.block([sign_tx(body, k)])[0]
        event(f"{msgs[0][0]} -> {result.code}")
        assert result.code == expected, (result.code, expected, result.log)
        self._prune(now)

    def _ante(self, who: bytes, fee_granter: int | None, types: list[str], now: int) -> int:
        payer = who if fee_granter is None else ADDR[fee_granter]
        if fee_granter is not None:
            found = self.allowances.get((payer, who))
            if found is None:
                return errors.NoAllowanceError.code
            limit, exec_only = found
            if limit.expiration is not None and now >= limit.expiration:
                return errors.AllowanceExpiredError.code
            if exec_only and set(types) != {"authz/Exec"}:
                return errors.MessageNotAllowedError.code
            after = spend(replace(limit, uses=None), FEE, now)
            if after is None:
                return errors.AllowanceExceededError.code
            if self.bal[payer] < FEE:
                return errors.InsufficientFundsError.code
            if after.total == 0:
                del self.allowances[(payer, who)]
            else:
                self.allowances[(payer, who)] = (after, exec_only)
        elif self.bal[payer] < FEE:
            return errors.InsufficientFundsError.code
        self.bal[payer] -= FEE
        return OK

    def _prune(self, now: int) -> None:
        self.grants = {
            k: g for k, g in self.grants.items() if g.expiration is None or g.expiration > now
        }
        self.allowances = {
            k: a
            for k, a in self.allowances.items()
            if a[0].expiration is None or a[0].expiration > now
        }

    # --- rules ----------------------------------------------------------------------------------

    @initialize(
        total=st.none() | st.integers(1, 5000),
        period=st.none() | st.tuples(st.integers(1, 20), st.integers(1, 3000)),
        fees=st.none() | st.integers(1, 4),
    )
    def owner_and_agent(
        self, total: int | None, period: tuple[int, int] | None, fees: int | None
    ) -> None:
        """Every run starts with an owner (key 0) granting its agent (key 3, empty) sends and
        fees, so most runs exercise the grants rather than first having to make them."""
        self.grant(0, 3, total, None, None, period)
        self.allow(0, 3, fees, None, None, exec_only=True)

    @rule(
        granter=st.integers(0, 3),
        grantee=st.integers(0, 3),
        total=st.none() | st.integers(1, 5000),
        uses=st.none() | st.integers(1, 3),
        ttl=st.none() | st.integers(1, 30),
        period=st.none() | st.tuples(st.integers(1, 20), st.integers(1, 3000)),
    )
    def grant(
        self,
        granter: int,
        grantee: int,
        total: int | None,
        uses: int | None,
        ttl: int | None,
        period: tuple[int, int] | None,
    ) -> None:
        g, e = ADDR[granter], ADDR[grantee]
        msg = msg_authz_grant(
            g,
            e,
            SEND,
            spend_limit=total or 0,
            period_seconds=period[0] if period else 0,
            period_limit=period[1] if period else 0,
            expiration=self.chain.time + BLOCK + ttl if ttl else 0,
            max_uses=uses or 0,
        )
        if g == e:  # refused when parsed: nothing changes, the sequence is not used
            tx = self.chain.tx(KEYS[granter], [msg], sequence=self.seq[g], gas_limit=GAS)
            assert self.chain.deliver(tx).code == errors.SelfGrantError.code
            self._prune(self.chain.time)
            return

        def predict(now: int) -> int:
            expiration = now + ttl if ttl else None
            self.grants[(g, e)] = Limit(total, uses, expiration, period, now, 0)
            return OK

        self._run(granter, [msg], None, predict)

    @rule(granter=st.integers(0, 3), grantee=st.integers(0, 3), data=st.data())
    def revoke(self, granter: int, grantee: int, data: st.DataObject) -> None:
        if self.grants and data.draw(st.booleans()):
            granter, grantee = (
                ADDR.index(a) for a in data.draw(st.sampled_from(sorted(self.grants)))
            )
        g, e = ADDR[granter], ADDR[grantee]

        def predict(now: int) -> int:
            if self.grants.pop((g, e), None) is None:
                return errors.NoAuthorizationError.code
            return OK

        self._run(granter, [msg_authz_revoke(g, e, SEND)], None, predict)

    @rule(data=st.data(), amounts=st.lists(st.integers(1, 1500), min_size=1, max_size=3))
    def exec_sends(self, data: st.DataObject, amounts: list[int]) -> None:
        """Mostly through grants that exist (else random pairs), paid mostly by an allowance
        the grantee holds (else by itself or a random fee granter)."""
        pairs = sorted(self.grants) if self.grants else []
        senders, grantee = [], data.draw(st.integers(0, 3))
        for _ in amounts:
            if pairs and data.draw(st.integers(0, 4)):
                g, e = data.draw(st.sampled_from(pairs))
                senders.append(ADDR.index(g))
                grantee = ADDR.index(e)
            else:
                senders.append(data.draw(st.integers(0, 3)))
        sends = [
            (f, data.draw(st.integers(0, 3)), n) for f, n in zip(senders, amounts, strict=True)
        ]
        payers = [ADDR.index(g) for g, e in sorted(self.allowances) if e == ADDR[grantee]]
        fee_granter = (
            data.draw(st.sampled_from(payers))
            if payers and data.draw(st.booleans())
            else data.draw(MAYBE_PAYER)
        )
        e = ADDR[grantee]
        inner = [send_msg(ADDR[f], ADDR[t], n) for f, t, n in sends]

        def predict(now: int) -> int:
            for f, t, n in sends:
                g = ADDR[f]
                if g != e:  # a grant is needed, and spends one use and the amount
                    limit = self.grants.get((g, e))
                    if limit is None:
                        return errors.NoAuthorizationError.code
                    if limit.expiration is not None and now >= limit.expiration:
                        return errors.AuthorizationExpiredError.code
                    after = spend(limit, n, now)
                    if after is None:
                        return errors.AuthorizationExceededError.code
                    if used_up(after):
                        del self.grants[(g, e)]
                    else:
                        self.grants[(g, e)] = after
                if self.bal[g] < n:
                    return errors.InsufficientFundsError.code
                self.bal[g] -= n
                self.bal[ADDR[t]] += n
            return OK

        self._run(grantee, [msg_authz_exec(e, inner)], fee_granter, predict)

    @rule(
        sender=st.integers(0, 3),
        to=st.integers(0, 3),
        amount=st.integers(1, 3000),
        data=st.data(),
    )
    def send(self, sender: int, to: int, amount: int, data: st.DataObject) -> None:
        s = ADDR[sender]
        payers = [ADDR.index(g) for g, e in sorted(self.allowances) if e == s]
        fee_granter = (
            data.draw(st.sampled_from(payers))
            if payers and data.draw(st.booleans())
            else data.draw(MAYBE_PAYER)
        )

        def predict(now: int) -> int:
            if self.bal[s] < amount:
                return errors.InsufficientFundsError.code
            self.bal[s] -= amount
            self.bal[ADDR[to]] += amount
            return OK

        self._run(sender, [send_msg(s, ADDR[to], amount)], fee_granter, predict)

    @rule(
        granter=st.integers(0, 2),
        grantee=st.integers(0, 3),
        total=st.none() | st.integers(1, 4) | st.just(FEE + 1),
        ttl=st.none() | st.integers(1, 30),
        period=st.none() | st.tuples(st.integers(1, 20), st.integers(1, 3)),
        exec_only=st.booleans(),
    )
    def allow(
        self,
        granter: int,
        grantee: int,
        total: int | None,
        ttl: int | None,
        period: tuple[int, int] | None,
        exec_only: bool,
    ) -> None:
        g, e = ADDR[granter], ADDR[grantee]
        # Limits in fees: counted in multiples of FEE
        total_uvox = total * FEE if total and total != FEE + 1 else total
        msg = msg_feegrant_grant(
            g,
            e,
            spend_limit=total_uvox or 0,
            period_seconds=period[0] if period else 0,
            period_limit=period[1] * FEE if period else 0,
            expiration=self.chain.time + BLOCK + ttl if ttl else 0,
            allowed_msgs=["authz/Exec"] if exec_only else [],
        )
        if g == e:
            tx = self.chain.tx(KEYS[granter], [msg], sequence=self.seq[g], gas_limit=GAS)
            assert self.chain.deliver(tx).code == errors.SelfGrantError.code
            self._prune(self.chain.time)
            return

        def predict(now: int) -> int:
            expiration = now + ttl if ttl else None
            cap = (period[0], period[1] * FEE) if period else None
            self.allowances[(g, e)] = (Limit(total_uvox, None, expiration, cap, now, 0), exec_only)
            return OK

        self._run(granter, [msg], None, predict)

    @rule(granter=st.integers(0, 3), grantee=st.integers(0, 3), data=st.data())
    def disallow(self, granter: int, grantee: int, data: st.DataObject) -> None:
        if self.allowances and data.draw(st.booleans()):
            pairs = sorted(self.allowances)
            granter, grantee = (ADDR.index(a) for a in data.draw(st.sampled_from(pairs)))
        g, e = ADDR[granter], ADDR[grantee]

        def predict(now: int) -> int:
            if self.allowances.pop((g, e), None) is None:
                return errors.NoAllowanceError.code
            return OK

        self._run(granter, [msg_feegrant_revoke(g, e)], None, predict)

    @rule(seconds=st.integers(1, 30))
    def idle(self, seconds: int) -> None:
        self.chain.block([], advance=seconds)
        self._prune(self.chain.time)

    # --- after every step -----------------------------------------------------------------------

    @invariant()
    def state_matches_model(self) -> None:
        assert check_invariants(self.chain.app) == []
        for a in ADDR:
            assert self.chain.balance(a) == self.bal[a]
            assert self.chain.sequence(KEYS[ADDR.index(a)]) == self.seq[a]
        for g in ADDR:
            for e in ADDR:
                raw = self.chain.query("/authz/grant", g + e + SEND.encode())
                model = self.grants.get((g, e))
                assert bool(raw) == (model is not None), (g.hex(), e.hex())
                if raw and model is not None:
                    grant = decode_grant(raw)
                    assert grant.limits.spend_limit == (model.total or 0)
                    assert grant.uses_left == (model.uses or 0)
                raw = self.chain.query("/feegrant/allowance", g + e)
                held = self.allowances.get((g, e))
                assert bool(raw) == (held is not None)
                if raw and held is not None:
                    assert decode_allowance(raw).limits.spend_limit == (held[0].total or 0)


DelegationMachine.TestCase.settings = settings(
    max_examples=30, stateful_step_count=25, deadline=None
)
TestDelegation = DelegationMachine.TestCase
