"""market: post, settle (held, then paid by the begin-block), dispute, close; each refusal typed.

The sales settle against grants and counted accesses of the real consent module, seeded through
its genesis (how accesses come to be counted is consent's own test's business)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.chain.harness import GENESIS_TIME, Chain, key
from voxpop.chain import errors
from voxpop.chain.abci import ExecTxResult
from voxpop.chain.encoding import decode_canonical
from voxpop.chain.genesis import default_app_state
from voxpop.chain.module_accounts import MARKET, module_address
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.consent import state as consent
from voxpop.chain.modules.consent.module import ConsentModule, access_json, grant_json
from voxpop.chain.modules.market import state
from voxpop.chain.modules.market.module import MarketModule
from voxpop.chain.modules.services.state import kind_owner
from voxpop.chain.registry import default_modules
from voxpop.crypto.address import encode_address

BUYER, SELLER, OTHER, NODE1, NODE2 = key(61), key(62), key(63), key(64), key(65)
B, S, X, N1, N2 = (k.public_key.address for k in (BUYER, SELLER, OTHER, NODE1, NODE2))
MODULE = module_address(MARKET)
FEE = AuthParams().min_fee(200_000)
OFFER, OFFER2 = b"\x0a" * 32, b"\x0b" * 32
GRANT, GRANT_OTHER_OFFER, GRANT_OTHER_PURPOSE = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
O1, O2, O3, O4 = (bytes([0xB0 + i]) * 32 for i in range(4))
PRICE = 25
EXPIRES = GENESIS_TIME + 1_000
ACCESS = 1_000
DISPUTE = 100
SETTLE = 100
CLOSES_AT = EXPIRES + ACCESS + SETTLE
PURPOSE = "asr-training"


def _grant(offer_id: bytes, purpose: str = PURPOSE, accesses: int = 0) -> consent.Grant:
    return consent.Grant(
        owner=S,
        grantee=B,
        purpose=purpose,
        expiry=EXPIRES + ACCESS,
        max_accesses=100,
        objects=tuple((o, bytes(32), bytes(32)) for o in (O1, O2, O3, O4)),
        objects_root=b"",
        object_count=4,
        nodes=(N1, N2),
        threshold=2,
        delegating_pk=b"\x02" + bytes(32),
        verifying_pk=b"\x02" + bytes(32),
        offer_id=offer_id,
        created_at=1,
        accesses=accesses,
    )


def _access(grant_id: bytes, n: int, obj: bytes, nodes: tuple[bytes, ...]) -> dict[str, Any]:
    counted = 1 if len(nodes) >= 2 else 0
    access = consent.Access(obj, GENESIS_TIME, nodes, 1, counted)
    return access_json(grant_id, bytes([n]) * 32, access)


def app_state(dispute_seconds: int = DISPUTE) -> dict[str, Any]:
    balances = [(k.public_key.address, 10_000_000) for k in (BUYER, SELLER, OTHER)]
    doc = default_app_state(balances)
    doc["consent"] = {
        **ConsentModule().default_genesis(),
        "grants": [
            grant_json(GRANT, _grant(OFFER, accesses=3)),
            grant_json(GRANT_OTHER_OFFER, _grant(OFFER2, accesses=1)),
            grant_json(GRANT_OTHER_PURPOSE, _grant(OFFER, "research", accesses=1)),
        ],
        "accesses": [
            _access(GRANT, 1, O1, (N1, N2)),
            _access(GRANT, 2, O2, (N2, N1)),
            _access(GRANT, 3, O4, (N1, N2)),
            _access(GRANT, 4, O3, (N1,)),  # one node of two: not counted
            _access(GRANT_OTHER_OFFER, 5, O1, (N1, N2)),
            _access(GRANT_OTHER_PURPOSE, 6, O1, (N1, N2)),
        ],
    }
    params = state.MarketParams(dispute_seconds=dispute_seconds, settle_seconds=SETTLE)
    doc["market"] = {**MarketModule().default_genesis(), "params": params.to_value()}
    return doc


def start(path: Path, dispute_seconds: int = DISPUTE) -> Chain:
    # The genesis file goes through JSON, as a node reads it
    doc = json.loads(json.dumps(app_state(dispute_seconds)))
    return Chain.start(path, app_state=doc, modules=default_modules())


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = start(tmp_path / "state")
    yield c
    c.app.store.close()


# --- helpers ----------------------------------------------------------------------------------


def msg_post(offer_id: bytes = OFFER, **over: Any) -> Any:
    value = {
        "buyer": B,
        "offer_id": offer_id,
        "kind": "utterance",
        "language": "en",
        "min_seconds": 1,
        "max_seconds": 30,
        "purpose": PURPOSE,
        "price": PRICE,
        "access_seconds": ACCESS,
        "max_objects": 3,
        "budget": PRICE * 3,
        "expires": EXPIRES,
    }
    return "market/Post", {**value, **over}


def msg_settle(objects: Sequence[bytes], grant: bytes = GRANT, offer: bytes = OFFER) -> Any:
    return "market/Settle", {
        "seller": S,
        "offer_id": offer,
        "grant_id": grant,
        "object_ids": list(objects),
    }


def msg_dispute(obj: bytes, buyer: bytes = B) -> Any:
    return "market/Dispute", {"buyer": buyer, "offer_id": OFFER, "object_id": obj, "evidence": b"x"}


def msg_close(offer: bytes = OFFER, buyer: bytes = B) -> Any:
    return "market/Close", {"buyer": buyer, "offer_id": offer}


def run(chain: Chain, signer: Any, *msgs: Any) -> ExecTxResult:
    return chain.deliver(chain.tx(signer, list(msgs)))


def run_invalid(chain: Chain, signer: Any, *msgs: Any) -> ExecTxResult:
    """A tx refused before it runs (the message does not parse): the sequence does not move."""
    seq = chain.sequences.get(signer.public_key.address, 0)
    return chain.deliver(chain.tx(signer, list(msgs), sequence=seq))


def ok(result: ExecTxResult) -> None:
    assert result.code == 0, result.log


def refused(result: ExecTxResult, error: type[errors.ChainError]) -> None:
    assert result.code == error.code, result.log


def offer(chain: Chain, offer_id: bytes = OFFER) -> state.Offer | None:
    return state.find_offer(chain.app.committed, offer_id)


def sale(chain: Chain, obj: bytes) -> state.Sale | None:
    return state.find_sale(chain.app.committed, OFFER, obj)


def until(chain: Chain, when: int) -> None:
    """Blocks until the block time reaches `when`."""
    chain.block([], advance=max(1, when - chain.time))


# --- post -------------------------------------------------------------------------------------


def test_post_escrows_the_budget_and_lists_the_offer(chain: Chain) -> None:
    ok(run(chain, BUYER, msg_post()))
    assert chain.balance(BUYER) == 10_000_000 - 3 * PRICE - FEE
    assert chain.balance(MODULE) == 3 * PRICE
    posted = offer(chain)
    assert posted is not None and posted.closes_at == CLOSES_AT and posted.escrow == 75
    reader = chain.app.committed
    assert state.OFFERS_BY_KIND.ids(reader, kind_owner("utterance")) == [OFFER]
    assert state.OFFERS_BY_BUYER.ids(reader, B) == [OFFER]
    shown = decode_canonical(chain.query("/market/offer", OFFER))
    assert shown["price"] == PRICE and shown["buyer"] == B


def test_invalid_post(chain: Chain) -> None:
    refused(run_invalid(chain, BUYER, msg_post(budget=3 * PRICE - 1)), errors.MarketBadBudgetError)
    refused(run_invalid(chain, BUYER, msg_post(max_objects=2)), errors.MarketBadBudgetError)
    refused(run_invalid(chain, BUYER, msg_post(min_seconds=31)), errors.MarketBadTermsError)
    refused(run_invalid(chain, BUYER, msg_post(purpose="Ads!")), errors.MarketBadTermsError)
    refused(run_invalid(chain, BUYER, msg_post(kind="Utterance")), errors.MarketBadTermsError)
    refused(run(chain, BUYER, msg_post(expires=GENESIS_TIME)), errors.MarketBadTermsError)
    refused(run(chain, BUYER, msg_post(purpose="advertising")), errors.MarketBadTermsError)
    far = GENESIS_TIME + state.MarketParams().max_offer_seconds + 100
    refused(run(chain, BUYER, msg_post(expires=far)), errors.MarketBadTermsError)
    big = {"price": 10_000_000, "budget": 30_000_000}
    refused(run(chain, BUYER, msg_post(**big)), errors.InsufficientFundsError)
    refused(run_invalid(chain, OTHER, msg_post()), errors.UnauthorizedError)
    assert chain.balance(MODULE) == 0 and offer(chain) is None
    ok(run(chain, BUYER, msg_post()))
    refused(run(chain, BUYER, msg_post()), errors.MarketOfferExistsError)


# --- settle, dispute, payout, close -------------------------------------------------------------


def test_sale_is_held_then_paid_and_the_rest_returns(chain: Chain) -> None:
    ok(run(chain, BUYER, msg_post()))
    seller_before = chain.balance(SELLER)
    ok(run(chain, SELLER, msg_settle([O1, O2])))
    held = sale(chain, O1)
    assert held is not None and held.status == state.HELD and held.seller == S
    assert chain.balance(SELLER) == seller_before - FEE  # held, not yet paid
    # The buyer refuses O2 within its window: its price stays in the escrow
    ok(run(chain, BUYER, msg_dispute(O2)))
    disputed = sale(chain, O2)
    assert disputed is not None and disputed.status == state.DISPUTED
    until(chain, held.payable_at)
    paid = sale(chain, O1)
    assert paid is not None and paid.status == state.PAID
    assert chain.balance(SELLER) == seller_before - FEE + PRICE
    assert chain.balance(MODULE) == 2 * PRICE
    record = state.get_record(chain.app.committed, S)
    assert (record.sold, record.disputes_against) == (1, 1)
    assert state.get_record(chain.app.committed, B).disputes_made == 1
    # A disputed object is not settled again; nor is a paid one
    refused(run(chain, SELLER, msg_settle([O2])), errors.MarketAlreadySettledError)
    refused(run(chain, SELLER, msg_settle([O1])), errors.MarketAlreadySettledError)
    # The buyer closes once sellers had their time: what was not paid returns
    refused(run(chain, BUYER, msg_close()), errors.MarketOfferOpenError)
    until(chain, CLOSES_AT)
    refused(run(chain, SELLER, msg_settle([O4])), errors.MarketOfferEndedError)
    refused(run(chain, OTHER, msg_close(buyer=X)), errors.MarketWrongBuyerError)
    buyer_before = chain.balance(BUYER)
    ok(run(chain, BUYER, msg_close()))
    assert chain.balance(BUYER) == buyer_before + 2 * PRICE - FEE
    assert chain.balance(MODULE) == 0 and offer(chain) is None and sale(chain, O1) is None
    assert state.OFFERS_BY_KIND.ids(chain.app.committed, kind_owner("utterance")) == []
    # Its id stays used: old grants naming it can never settle against a new offer
    refused(run(chain, BUYER, msg_post()), errors.MarketOfferExistsError)


def test_invalid_settle(chain: Chain) -> None:
    ok(run(chain, BUYER, msg_post()))
    refused(run(chain, SELLER, msg_settle([O3])), errors.MarketNotAccessedError)
    refused(
        run(chain, SELLER, msg_settle([O1], grant=b"\x09" * 32)), errors.MarketGrantNotFoundError
    )
    refused(
        run(chain, SELLER, msg_settle([O1], GRANT_OTHER_OFFER)), errors.MarketGrantMismatchError
    )
    refused(
        run(chain, SELLER, msg_settle([O1], GRANT_OTHER_PURPOSE)), errors.MarketGrantMismatchError
    )
    # Only the grant's owner is paid for it
    other = "market/Settle", {**msg_settle([O1])[1], "seller": X}
    refused(run(chain, OTHER, other), errors.MarketGrantMismatchError)
    refused(run(chain, SELLER, msg_settle([O1], offer=OFFER2)), errors.MarketOfferNotFoundError)
    # One bad object fails the whole message: nothing is held
    refused(run(chain, SELLER, msg_settle([O1, O3])), errors.MarketNotAccessedError)
    assert sale(chain, O1) is None
    # An offer of one object pays for one
    ok(run(chain, BUYER, msg_post(OFFER2, max_objects=1, budget=PRICE)))
    refused(
        run(chain, SELLER, msg_settle([O1, O4], GRANT_OTHER_OFFER, OFFER2)),
        errors.MarketNotAccessedError,
    )
    ok(run(chain, SELLER, msg_settle([O1], GRANT_OTHER_OFFER, OFFER2)))


def test_invalid_dispute(chain: Chain) -> None:
    ok(run(chain, BUYER, msg_post()))
    refused(run(chain, BUYER, msg_dispute(O1)), errors.MarketNotHeldError)
    ok(run(chain, SELLER, msg_settle([O1, O2, O4])))
    refused(run(chain, OTHER, msg_dispute(O1, X)), errors.MarketWrongBuyerError)
    ok(run(chain, BUYER, msg_dispute(O1)))
    # 10 % of 3 objects: one dispute per offer
    refused(run(chain, BUYER, msg_dispute(O2)), errors.MarketDisputeLimitError)
    refused(run(chain, BUYER, msg_dispute(O1)), errors.MarketNotHeldError)
    until(chain, GENESIS_TIME + 10_000)
    refused(run(chain, BUYER, msg_dispute(O2)), errors.MarketNotHeldError)  # paid by now
    posted = offer(chain)
    assert posted is not None and (posted.paid, posted.held, posted.disputed) == (2, 0, 1)


def test_no_dispute_window_pays_at_once(tmp_path: Path) -> None:
    chain = start(tmp_path / "state", dispute_seconds=0)
    try:
        ok(run(chain, BUYER, msg_post()))
        before = chain.balance(SELLER)
        ok(run(chain, SELLER, msg_settle([O1, O2, O4])))
        assert chain.balance(SELLER) == before - FEE + 3 * PRICE
        assert chain.balance(MODULE) == 0
        refused(run(chain, BUYER, msg_dispute(O1)), errors.MarketNotHeldError)
    finally:
        chain.app.store.close()


def test_genesis_round_trip(chain: Chain, tmp_path: Path) -> None:
    ok(run(chain, BUYER, msg_post()))
    ok(run(chain, SELLER, msg_settle([O1, O2])))
    ok(run(chain, BUYER, msg_dispute(O2)))
    exported = MarketModule().export_genesis(chain.app.committed)
    doc = app_state()
    doc["market"] = json.loads(json.dumps(exported))
    doc["bank"]["balances"].append({"address": encode_address(MODULE), "amount": 3 * PRICE})
    again = Chain.start(tmp_path / "again", app_state=doc, modules=default_modules())
    try:
        assert MarketModule().export_genesis(again.app.committed) == exported
    finally:
        again.app.store.close()
