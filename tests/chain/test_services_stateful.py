"""services under random sequences of register / update / leave / time passing / channel
payments, against a model written from its README.

Each tx goes in its own block, so the model knows the block time it runs at and which leaving
offers mature at the end of that block. After every step: every module's invariants (the
services account holds exactly all offers' stakes, the lists by kind hold exactly the active
offers, the unbonding queue matches the leaving offers, reputation counts what it should; bank's
supply), every balance, every offer, each kind's proven list and each reputation.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from nacl.signing import SigningKey

from tests.chain.harness import CHAIN_ID, Chain, key
from voxpop.chain import errors
from voxpop.chain.abci import RequestQuery
from voxpop.chain.app import check_invariants
from voxpop.chain.encoding import decode_canonical
from voxpop.chain.genesis import default_app_state
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.services import state
from voxpop.chain.tx import encode_tx, make_body
from voxpop.client.lists import verify_list
from voxpop.crypto.vouchers import derive_channel_id, sign_voucher

KEYS = [key(40 + i) for i in range(3)]
ADDR = [k.public_key.address for k in KEYS]
GAS = 200_000
FEE = AuthParams().min_fee(GAS)
MIN_STAKE = 1_000
START = 10 * MIN_STAKE
UNBONDING = 3_600
BLOCK = 5  # seconds the harness advances per block
KINDS = ["stt", "echo"]
ASKED_KINDS = [*KINDS, "weather"]  # the last is not in the params
KIND_DRAWS = ["stt", "stt", "echo", "echo", "weather"]  # mostly kinds the chain offers
STAKES = [MIN_STAKE - 1, MIN_STAKE, MIN_STAKE, 3 * MIN_STAKE, 100 * START]
ADDED = [0, 7, 100 * START]
SIGNING_KEY = key(99).public_key.raw
OK = 0


@dataclass(frozen=True)
class ModelOffer:
    stake: int
    price: int
    registered_at: int
    leaving_at: int = 0


@dataclass
class ModelReputation:
    settled: int = 0
    payers: set[bytes] = field(default_factory=set)
    first_settled: int = 0
    last_settled: int = 0
    first_registered: int = 0


def offer_msg(kind: str, provider: bytes, price: int, stake_field: str, stake: int) -> Any:
    return {
        "provider": provider,
        "kind": kind,
        "endpoint": "https://p.example/v1",
        "price": price,
        "languages": ["en-us"],
        "signing_key": SIGNING_KEY,
        stake_field: stake,
    }


class ServicesMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-services-"))
        app_state = default_app_state([(a, START) for a in ADDR])
        app_state["services"] = {
            "params": {
                "kinds": KINDS,
                "min_stake": MIN_STAKE,
                "unbonding_seconds": UNBONDING,
                "max_endpoint_len": 256,
                "max_languages": 16,
            },
            "offers": [],
            "reputations": [],
            "payers": [],
        }
        self.chain = Chain.start(self.dir / "s", app_state=app_state)
        self.bal = dict.fromkeys(ADDR, START)
        self.seq = dict.fromkeys(ADDR, 0)
        self.nonce = dict.fromkeys(ADDR, 0)  # each payer's next channel nonce
        self.offers: dict[tuple[bytes, str], ModelOffer] = {}
        self.reps: dict[bytes, ModelReputation] = {}

    def teardown(self) -> None:
        self.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- one tx in its own block, against the model's prediction ---------------------------------

    def _run(self, signer: int, msgs: list[tuple[str, Any]], predict: Any) -> int:
        """Deliver one tx; `predict(now)` applies the model and returns the expected code (its
        changes are dropped unless OK). Then the leaving offers due by `now` mature."""
        k, who = KEYS[signer], ADDR[signer]
        now = self.chain.time + BLOCK
        body = make_body(
            chain_id=CHAIN_ID,
            pub_key=k.public_key.raw,
            sequence=self.seq[who],
            fee=FEE,
            gas_limit=GAS,
            msgs=msgs,
        )
        expected = errors.InsufficientFundsError.code
        if self.bal[who] >= FEE:  # the ante: the fee, then the messages
            self.bal[who] -= FEE
            self.seq[who] += 1
            saved = (dict(self.bal), dict(self.offers), copy.deepcopy(self.reps))
            expected = predict(now)
            if expected != OK:
                self.bal, self.offers, self.reps = saved
        result = self.chain.block([encode_tx(body, k.sign(body.sign_bytes()))])[0]
        event(f"{msgs[0][0]} -> {result.code}")
        assert result.code == expected, (msgs[0][0], result.code, expected, result.log)
        self._mature(now)
        return result.code

    def _mature(self, now: int) -> None:
        for (provider, kind), offer in sorted(self.offers.items()):
            if offer.leaving_at and offer.leaving_at <= now:
                self.bal[provider] += offer.stake
                del self.offers[(provider, kind)]

    def _rep(self, provider: bytes) -> ModelReputation:
        return self.reps.setdefault(provider, ModelReputation())

    @initialize()
    def some_offers(self) -> None:
        """Start with offers, so updates, leaves and the lists are exercised from the first step."""
        self.register(0, "stt", MIN_STAKE, 10)
        self.register(1, "echo", 2 * MIN_STAKE, 1)
        self.register(1, "stt", MIN_STAKE, 20)

    # --- rules -----------------------------------------------------------------------------------

    @rule(
        p=st.integers(0, 2),
        kind=st.sampled_from(KIND_DRAWS),
        stake=st.sampled_from(STAKES),
        price=st.integers(1, 1_000),
    )
    def register(self, p: int, kind: str, stake: int, price: int) -> None:
        provider = ADDR[p]

        def predict(now: int) -> int:
            if kind not in KINDS:
                return errors.UnknownServiceKindError.code
            if stake < MIN_STAKE:
                return errors.StakeTooLowError.code
            existing = self.offers.get((provider, kind))
            if existing is not None:
                if existing.leaving_at:
                    return errors.OfferLeavingError.code
                return errors.OfferExistsError.code
            if self.bal[provider] < stake:
                return errors.InsufficientFundsError.code
            self.bal[provider] -= stake
            self.offers[(provider, kind)] = ModelOffer(stake, price, now)
            rep = self._rep(provider)
            rep.first_registered = rep.first_registered or now
            return OK

        msg = offer_msg(kind, provider, price, "stake", stake)
        self._run(p, [("services/Register", msg)], predict)

    @rule(
        p=st.integers(0, 2),
        kind=st.sampled_from(KIND_DRAWS),
        add=st.sampled_from(ADDED),
        price=st.integers(1, 1_000),
    )
    def update(self, p: int, kind: str, add: int, price: int) -> None:
        provider = ADDR[p]

        def predict(now: int) -> int:
            offer = self.offers.get((provider, kind))
            if offer is None:
                return errors.OfferNotFoundError.code
            if offer.leaving_at:
                return errors.OfferLeavingError.code
            if self.bal[provider] < add:
                return errors.InsufficientFundsError.code
            self.bal[provider] -= add
            self.offers[(provider, kind)] = replace(offer, stake=offer.stake + add, price=price)
            return OK

        msg = offer_msg(kind, provider, price, "add_stake", add)
        self._run(p, [("services/Update", msg)], predict)

    @rule(p=st.integers(0, 2), kind=st.sampled_from(KIND_DRAWS))
    def leave(self, p: int, kind: str) -> None:
        provider = ADDR[p]

        def predict(now: int) -> int:
            offer = self.offers.get((provider, kind))
            if offer is None:
                return errors.OfferNotFoundError.code
            if offer.leaving_at:
                return errors.OfferLeavingError.code
            self.offers[(provider, kind)] = replace(offer, leaving_at=now + UNBONDING)
            return OK

        self._run(p, [("services/Leave", {"provider": provider, "kind": kind})], predict)

    @rule(data=st.data())
    def leave_an_offer(self, data: st.DataObject) -> None:
        """Leave one of the offers there are (leaving ones included: refused)."""
        if self.offers:
            provider, kind = data.draw(st.sampled_from(sorted(self.offers)))
            self.leave(ADDR.index(provider), kind)

    @rule(seconds=st.sampled_from([1, UNBONDING // 2, UNBONDING]))
    def wait(self, seconds: int) -> None:
        self.chain.block([], advance=seconds)
        self._mature(self.chain.time)

    @rule(payer=st.integers(0, 2), payee=st.integers(0, 2), amount=st.integers(1, 500))
    def pay(self, payer: int, payee: int, amount: int) -> None:
        """The payer opens a channel to the payee with `amount`, and the payee claims it all with
        the payer's voucher: the claim is recorded in the payee's reputation."""
        if payer == payee or self.bal[ADDR[payer]] < amount + FEE or self.bal[ADDR[payee]] < FEE:
            return
        who, to = ADDR[payer], ADDR[payee]
        voucher_key = KEYS[payer]

        def open_channel(now: int) -> int:
            self.bal[who] -= amount
            return OK

        opened = {
            "payer": who,
            "payee": to,
            "voucher_key": voucher_key.public_key.raw,
            "deposit": amount,
        }
        self._run(payer, [("channels/Open", opened)], open_channel)
        channel_id = derive_channel_id(CHAIN_ID, who, self.nonce[who])
        self.nonce[who] += 1
        signature = sign_voucher(
            SigningKey(voucher_key.seed), CHAIN_ID, channel_id, amount
        ).signature

        def claim(now: int) -> int:
            self.bal[to] += amount
            rep = self._rep(to)
            rep.settled += amount
            rep.payers.add(who)
            rep.first_settled = rep.first_settled or now
            rep.last_settled = now
            return OK

        claimed = {"payee": to, "vouchers": [[channel_id, amount, signature]]}
        self._run(payee, [("channels/Claim", claimed)], claim)

    # --- after every step ------------------------------------------------------------------------

    @invariant()
    def state_matches_model(self) -> None:
        chain = self.chain
        assert check_invariants(chain.app) == []
        for a in ADDR:
            assert chain.balance(a) == self.bal[a]
        assert chain.balance(state.MODULE_ADDRESS) == sum(o.stake for o in self.offers.values())
        for provider in ADDR:
            for kind in ASKED_KINDS:
                raw = chain.query("/services/offer", provider + kind.encode())
                model = self.offers.get((provider, kind))
                assert bool(raw) == (model is not None)
                if raw and model is not None:
                    offer = state.Offer.from_value(decode_canonical(raw))
                    assert (offer.stake, offer.price) == (model.stake, model.price)
                    assert (offer.registered_at, offer.leaving_at) == (
                        model.registered_at,
                        model.leaving_at,
                    )
            raw = chain.query("/services/reputation", provider)
            rep = state.Reputation.from_value(decode_canonical(raw)) if raw else state.Reputation()
            m = self.reps.get(provider, ModelReputation())
            active = sum(
                o.stake for (p, _), o in self.offers.items() if p == provider and not o.leaving_at
            )
            assert rep == state.Reputation(
                m.settled,
                len(m.payers),
                m.first_settled,
                m.last_settled,
                active,
                m.first_registered,
                0,
            )
        for kind in KINDS:
            res = chain.app.query(
                RequestQuery(data=kind.encode(), path="/services/offers", prove=True)
            )
            items = verify_list(
                chain.app.last_app_hash,
                "/services/offers",
                kind.encode(),
                res.key,
                res.value,
                res.proof,
            )
            expected = sorted(
                p for (p, k), o in self.offers.items() if k == kind and not o.leaving_at
            )
            assert [i.id for i in items] == expected


ServicesMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
TestServices = ServicesMachine.TestCase
