"""market under random post / settle / dispute / close / wait sequences, against a model written
from the README.

Consent's genesis holds a grant for every (offer id, seller, buyer) with counted accesses to
objects 0-2 and an uncounted one to object 3, so settlements succeed or are refused for each
reason. Each tx goes in its own block, so the model knows the block time (and which held payments
the begin-block pays first). After every step: the exact result code, every balance of the four
accounts and of the market account, each offer's counts; the harness checks every module's
invariants after each block (the market account == the open offers' escrow, the due queue == the
held sales, the lists)."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.chain.harness import GENESIS_TIME, Chain, key
from voxpop.chain import errors
from voxpop.chain.genesis import default_app_state
from voxpop.chain.module_accounts import MARKET, module_address
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.consent import state as consent
from voxpop.chain.modules.consent.module import ConsentModule, access_json, grant_json
from voxpop.chain.modules.market import state
from voxpop.chain.modules.market.module import MarketModule

KEYS = [key(80 + i) for i in range(4)]  # 0, 1 buy; 2, 3 sell
ADDR = [k.public_key.address for k in KEYS]
NODES = (key(90).public_key.address, key(91).public_key.address)
MODULE = module_address(MARKET)
GAS = 400_000
FEE = AuthParams().min_fee(GAS)
START = 10_000_000
BLOCK = 5
DISPUTE, SETTLE, ACCESS, LIFE = 30, 50, 100, 100
OFFERS = [bytes([0xA0 + k]) * 32 for k in range(3)]
OBJECTS = [bytes([0xC0 + i]) * 32 for i in range(4)]  # 3 is never counted
OK = 0


def grant_id(offer: int, seller: int, buyer: int) -> bytes:
    return bytes([offer, seller, buyer]) * 10 + b"\x00\x00"


def consent_genesis() -> dict[str, Any]:
    grants, accesses = [], []
    n = 0
    for k in range(len(OFFERS)):
        for seller in (2, 3):
            for buyer in (0, 1):
                gid = grant_id(k, seller, buyer)
                grant = consent.Grant(
                    owner=ADDR[seller],
                    grantee=ADDR[buyer],
                    purpose="asr-training",
                    expiry=GENESIS_TIME + LIFE + ACCESS,  # within every offer's access term
                    max_accesses=100,
                    objects=tuple((o, bytes(32), bytes(32)) for o in OBJECTS),
                    objects_root=b"",
                    object_count=len(OBJECTS),
                    nodes=NODES,
                    threshold=2,
                    delegating_pk=b"\x02" + bytes(32),
                    verifying_pk=b"\x02" + bytes(32),
                    offer_id=OFFERS[k],
                    created_at=1,
                    accesses=3,
                )
                grants.append(grant_json(gid, grant))
                for i, obj in enumerate(OBJECTS):
                    n += 1
                    nodes = NODES if i < 3 else NODES[:1]
                    access = consent.Access(obj, GENESIS_TIME, nodes, 1, 1 if i < 3 else 0)
                    accesses.append(access_json(gid, n.to_bytes(32, "big"), access))
    return {**ConsentModule().default_genesis(), "grants": grants, "accesses": accesses}


@dataclass
class Offer:
    buyer: int
    price: int
    max_objects: int
    closes_at: int
    paid: int = 0
    disputed: int = 0
    held: dict[int, tuple[int, int]] = field(default_factory=dict)  # object -> (payable, seller)
    settled: set[int] = field(default_factory=set)  # objects settled in any status

    def dispute_limit(self) -> int:
        return max(1, self.max_objects * 1_000 // 10_000)


class MarketMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-market-"))
        doc = default_app_state([(a, START) for a in ADDR])
        doc["consent"] = consent_genesis()
        params = state.MarketParams(dispute_seconds=DISPUTE, settle_seconds=SETTLE)
        doc["market"] = {**MarketModule().default_genesis(), "params": params.to_value()}
        self.chain = Chain.start(self.dir / "state", app_state=json.loads(json.dumps(doc)))
        self.balances = [START] * 4
        self.module = 0
        self.offers: dict[int, Offer] = {}
        self.used: set[int] = set()

    def teardown(self) -> None:
        self.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- one tx in its own block, against the model's prediction --------------------------------

    def _pay_due(self, now: int) -> None:
        """What the begin-block of a block at `now` pays before the block's tx runs."""
        for offer in self.offers.values():
            for obj, (payable, seller) in sorted(offer.held.items()):
                if payable <= now:
                    del offer.held[obj]
                    offer.paid += 1
                    self.balances[seller] += offer.price
                    self.module -= offer.price

    def _send(self, signer: int, msg: Any, expected: int) -> bool:
        now = self.chain.time + BLOCK
        self._pay_due(now)
        tx = self.chain.tx(KEYS[signer], [msg], gas_limit=GAS)
        result = self.chain.deliver(tx)
        assert result.code == expected, (msg[0], result.code, expected, result.log)
        event(f"{msg[0]} {result.code}")
        self.balances[signer] -= FEE
        return result.code == OK

    # --- rules ------------------------------------------------------------------------------------

    @initialize(price=st.sampled_from([1, 7, 100]), max_objects=st.integers(1, 4))
    def first_offer(self, price: int, max_objects: int) -> None:
        """Every run starts with an offer (buyer 0, offer 0), so most steps act on one."""
        self.post(0, 0, price, max_objects)

    @rule(
        buyer=st.integers(0, 1),
        k=st.integers(0, len(OFFERS) - 1),
        price=st.sampled_from([1, 7, 100, 4_000_000]),
        max_objects=st.integers(1, 4),
    )
    def post(self, buyer: int, k: int, price: int, max_objects: int) -> None:
        now = self.chain.time + BLOCK
        value = {
            "buyer": ADDR[buyer],
            "offer_id": OFFERS[k],
            "kind": "utterance",
            "language": "en",
            "min_seconds": 0,
            "max_seconds": 30,
            "purpose": "asr-training",
            "price": price,
            "access_seconds": ACCESS,
            "max_objects": max_objects,
            "budget": price * max_objects,
            "expires": now + LIFE,
        }
        budget = price * max_objects
        if k in self.used:
            expected = errors.MarketOfferExistsError.code
        elif self.balances[buyer] - FEE < budget:
            expected = errors.InsufficientFundsError.code
        else:
            expected = OK
        if self._send(buyer, ("market/Post", value), expected):
            self.used.add(k)
            self.offers[k] = Offer(buyer, price, max_objects, now + LIFE + ACCESS + SETTLE)
            self.balances[buyer] -= budget
            self.module += budget

    @rule(
        seller=st.integers(2, 3),
        k=st.sampled_from([0, 0, 0, 1, 2]),
        grantee=st.sampled_from(["buyer", "buyer", "buyer", 0, 1]),
        objects=st.lists(
            st.sampled_from([0, 0, 1, 1, 2, 2, 3]), min_size=1, max_size=3, unique=True
        ),
    )
    def settle(self, seller: int, k: int, grantee: int | str, objects: list[int]) -> None:
        """Mostly under a grant to the offer's buyer (`buyer`), sometimes to a given one."""
        now = self.chain.time + BLOCK
        offer = self.offers.get(k)
        if grantee == "buyer":
            grantee = offer.buyer if offer is not None else 0
        assert isinstance(grantee, int)
        msg = (
            "market/Settle",
            {
                "seller": ADDR[seller],
                "offer_id": OFFERS[k],
                "grant_id": grant_id(k, seller, grantee),
                "object_ids": [OBJECTS[i] for i in objects],
            },
        )
        expected = OK
        if offer is None:
            expected = errors.MarketOfferNotFoundError.code
        elif now >= offer.closes_at:
            expected = errors.MarketOfferEndedError.code
        elif grantee != offer.buyer:
            expected = errors.MarketGrantMismatchError.code
        else:
            self._pay_due(now)
            taken = len(offer.held) + offer.paid
            for i in objects:
                if i in offer.settled:
                    expected = errors.MarketAlreadySettledError.code
                elif i == 3:
                    expected = errors.MarketNotAccessedError.code
                elif taken >= offer.max_objects:
                    expected = errors.MarketOfferFullError.code
                if expected != OK:
                    break
                taken += 1
        if self._send(seller, msg, expected):
            assert offer is not None
            for i in objects:
                offer.settled.add(i)
                offer.held[i] = (now + DISPUTE, seller)

    @rule(data=st.data())
    def dispute(self, data: st.DataObject) -> None:
        """Mostly a held object by its offer's buyer; sometimes anything."""
        now = self.chain.time + BLOCK
        self._pay_due(now)
        held = sorted((k, i) for k, o in self.offers.items() for i in o.held)
        if held and data.draw(st.integers(0, 4)):
            k, obj = data.draw(st.sampled_from(held))
            buyer = self.offers[k].buyer
        else:
            buyer = data.draw(st.integers(0, 1))
            k = data.draw(st.integers(0, len(OFFERS) - 1))
            obj = data.draw(st.integers(0, 3))
        msg = (
            "market/Dispute",
            {
                "buyer": ADDR[buyer],
                "offer_id": OFFERS[k],
                "object_id": OBJECTS[obj],
                "evidence": b"",
            },
        )
        offer = self.offers.get(k)
        if offer is None:
            expected = errors.MarketOfferNotFoundError.code
        elif offer.buyer != buyer:
            expected = errors.MarketWrongBuyerError.code
        elif obj not in offer.held or now >= offer.held[obj][0]:
            expected = errors.MarketNotHeldError.code
        elif offer.disputed >= offer.dispute_limit():
            expected = errors.MarketDisputeLimitError.code
        else:
            expected = OK
        if self._send(buyer, msg, expected):
            assert offer is not None
            del offer.held[obj]
            offer.disputed += 1

    @rule(buyer=st.integers(0, 1), k=st.integers(0, len(OFFERS) - 1))
    def close(self, buyer: int, k: int) -> None:
        now = self.chain.time + BLOCK
        self._pay_due(now)
        offer = self.offers.get(k)
        if offer is None:
            expected = errors.MarketOfferNotFoundError.code
        elif offer.buyer != buyer:
            expected = errors.MarketWrongBuyerError.code
        elif now < offer.closes_at:
            expected = errors.MarketOfferOpenError.code
        elif offer.held:
            expected = errors.MarketPaymentsHeldError.code
        else:
            expected = OK
        msg = ("market/Close", {"buyer": ADDR[buyer], "offer_id": OFFERS[k]})
        if self._send(buyer, msg, expected):
            assert offer is not None
            refund = offer.price * (offer.max_objects - offer.paid)
            self.balances[buyer] += refund
            self.module -= refund
            del self.offers[k]

    @rule(seconds=st.sampled_from([10, 10, 40, 120, 300]))
    def wait(self, seconds: int) -> None:
        self._pay_due(self.chain.time + seconds)
        self.chain.block([], advance=seconds)

    # --- after every step -------------------------------------------------------------------------

    @invariant()
    def balances_match(self) -> None:
        assert [self.chain.balance(a) for a in ADDR] == self.balances
        assert self.chain.balance(MODULE) == self.module
        for k, model in self.offers.items():
            offer = state.find_offer(self.chain.app.committed, OFFERS[k])
            assert offer is not None
            assert (offer.paid, offer.held, offer.disputed) == (
                model.paid,
                len(model.held),
                model.disputed,
            )


MarketMachine.TestCase.settings = settings(max_examples=12, stateful_step_count=40, deadline=None)
test_market_stateful = MarketMachine.TestCase
