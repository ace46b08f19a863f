"""htlc: lock, claim with the 32-byte preimage, refund after the timeout; swap offers."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.chain.conftest import ALICE, BOB, CAROL
from tests.chain.harness import Chain
from voxpop.chain import errors
from voxpop.chain.app import event_attrs
from voxpop.chain.modules.htlc import state
from voxpop.chain.modules.htlc.messages import MsgLock

A, B, C = (k.public_key.address for k in (ALICE, BOB, CAROL))
SECRET = bytes(range(32))
HASHLOCK = hashlib.sha256(SECRET).digest()
LOCK_ID = state.compute_lock_id(A, B, HASHLOCK)


def lock_msg(chain: Chain, *, amount: int = 1_000, after: int = 60, **over: Any) -> Any:
    value = {
        "sender": A,
        "recipient": B,
        "amount": amount,
        "hashlock": HASHLOCK,
        "timeout": chain.time + after,
    } | over
    return (MsgLock.TYPE, value)


def run(chain: Chain, signer: Any, msg: Any, *, advance: int = 5) -> Any:
    res = chain.block([chain.tx(signer, [msg])], advance=advance)[0]
    # A message refused at parse uses no sequence: keep the harness's count in step
    chain.sequences[signer.public_key.address] = chain.sequence(signer)
    return res


def get_lock(chain: Chain, lock_id: bytes = LOCK_ID) -> state.Lock:
    return state.decode_lock(chain.query("/htlc/lock", lock_id))


def test_lock_then_claim_reveals_the_preimage(chain: Chain) -> None:
    a0, b0 = chain.balance(A), chain.balance(B)
    res = run(chain, ALICE, lock_msg(chain))
    assert res.code == 0, res.log
    assert chain.balance(state.MODULE_ADDRESS) == 1_000
    assert chain.balance(A) < a0 - 1_000 + 1  # the amount and the fee
    res = run(chain, BOB, ("htlc/Claim", {"claimer": B, "lock_id": LOCK_ID, "preimage": SECRET}))
    assert res.code == 0, res.log
    claim = next(e for e in res.events if e.type == "htlc_claim")
    assert event_attrs(claim)["preimage"] == SECRET.hex()
    lock = get_lock(chain)
    assert lock.status == state.CLAIMED and lock.preimage == SECRET
    assert chain.balance(state.MODULE_ADDRESS) == 0
    assert chain.balance(B) > b0  # 1,000 in, one fee out (fees are smaller)


def test_anyone_may_claim_for_the_recipient(chain: Chain) -> None:
    run(chain, ALICE, lock_msg(chain))
    b0 = chain.balance(B)
    res = run(chain, ALICE, ("htlc/Claim", {"claimer": A, "lock_id": LOCK_ID, "preimage": SECRET}))
    assert res.code == 0, res.log
    assert chain.balance(B) == b0 + 1_000


def test_refund_after_timeout(chain: Chain) -> None:
    run(chain, ALICE, lock_msg(chain, after=20))
    res = run(chain, ALICE, ("htlc/Refund", {"claimer": A, "lock_id": LOCK_ID}), advance=30)
    assert res.code == 0, res.log
    assert get_lock(chain).status == state.REFUNDED
    assert chain.balance(state.MODULE_ADDRESS) == 0


def test_invalid_wrong_preimage(chain: Chain) -> None:
    run(chain, ALICE, lock_msg(chain))
    wrong = bytes(32)
    res = run(chain, BOB, ("htlc/Claim", {"claimer": B, "lock_id": LOCK_ID, "preimage": wrong}))
    assert res.code == errors.HtlcWrongPreimageError.code
    assert get_lock(chain).is_open


def test_invalid_preimage_not_32_bytes(chain: Chain) -> None:
    run(chain, ALICE, lock_msg(chain))
    long = SECRET + b"\x00"
    res = run(chain, BOB, ("htlc/Claim", {"claimer": B, "lock_id": LOCK_ID, "preimage": long}))
    assert res.code == errors.InvalidMessageError.code
    assert get_lock(chain).is_open


def test_invalid_claim_after_timeout(chain: Chain) -> None:
    run(chain, ALICE, lock_msg(chain, after=20))
    msg = ("htlc/Claim", {"claimer": B, "lock_id": LOCK_ID, "preimage": SECRET})
    res = run(chain, BOB, msg, advance=30)
    assert res.code == errors.HtlcExpiredError.code


def test_invalid_refund_before_timeout(chain: Chain) -> None:
    run(chain, ALICE, lock_msg(chain))
    res = run(chain, ALICE, ("htlc/Refund", {"claimer": A, "lock_id": LOCK_ID}))
    assert res.code == errors.HtlcNotExpiredError.code


def test_invalid_double_claim_and_refund_after_claim(chain: Chain) -> None:
    run(chain, ALICE, lock_msg(chain, after=20))
    claim = ("htlc/Claim", {"claimer": B, "lock_id": LOCK_ID, "preimage": SECRET})
    assert run(chain, BOB, claim).code == 0
    assert run(chain, BOB, claim).code == errors.HtlcSettledError.code
    refund = ("htlc/Refund", {"claimer": A, "lock_id": LOCK_ID})
    assert run(chain, ALICE, refund, advance=30).code == errors.HtlcSettledError.code


def test_invalid_lock_reused_or_bad(chain: Chain) -> None:
    assert run(chain, ALICE, lock_msg(chain)).code == 0
    assert run(chain, ALICE, lock_msg(chain)).code == errors.HtlcLockExistsError.code
    past = lock_msg(chain, after=0)
    assert run(chain, ALICE, past).code == errors.HtlcBadTimeoutError.code
    far = lock_msg(chain, after=31 * 86_400, hashlock=bytes(32))
    assert run(chain, ALICE, far).code == errors.HtlcBadTimeoutError.code
    selfish = lock_msg(chain, recipient=A, hashlock=bytes(32))
    assert run(chain, ALICE, selfish).code == errors.HtlcSelfLockError.code
    poor = lock_msg(chain, amount=10**15, hashlock=bytes(32))
    assert run(chain, ALICE, poor).code == errors.InsufficientFundsError.code


def offer_msg(chain: Chain, **over: Any) -> Any:
    value = {
        "offerer": A,
        "side": "sell",
        "amount": 5_000,
        "asset": "ETH",
        "asset_amount": "1000000000000000000",
        "other_address": "0x" + "11" * 20,
        "hashlock": HASHLOCK,
        "offerer_seconds": 7_200,
        "taker_seconds": 3_600,
        "expires_at": chain.time + 600,
    } | over
    return ("htlc/Offer", value)


def offer_id_of(res: Any) -> bytes:
    event = next(e for e in res.events if e.type == "htlc_offer")
    return bytes.fromhex(event_attrs(event)["offer_id"])


def test_offer_take_cancel(chain: Chain) -> None:
    res = run(chain, ALICE, offer_msg(chain))
    assert res.code == 0, res.log
    offer_id = offer_id_of(res)
    assert state.OPEN_OFFERS.ids(chain.app.committed, b"") == [offer_id]
    take = ("htlc/Take", {"taker": B, "offer_id": offer_id, "other_address": "0x" + "22" * 20})
    assert run(chain, BOB, take).code == 0
    offer = state.decode_offer(chain.query("/htlc/offer", offer_id))
    assert offer.taker == B and offer.taker_address == "0x" + "22" * 20
    assert state.OPEN_OFFERS.ids(chain.app.committed, b"") == []
    assert run(chain, BOB, take).code == errors.HtlcOfferTakenError.code
    cancel = ("htlc/Cancel", {"offerer": B, "offer_id": offer_id})
    assert run(chain, BOB, cancel).code == errors.HtlcNotOffererError.code
    cancel = ("htlc/Cancel", {"offerer": A, "offer_id": offer_id})
    assert run(chain, ALICE, cancel).code == 0
    assert run(chain, BOB, take).code == errors.HtlcOfferNotFoundError.code


def test_invalid_offers(chain: Chain) -> None:
    for bad in (
        {"side": "swap"},
        {"asset": "DOGE"},
        {"asset_amount": "01"},
        {"asset_amount": "1e18"},
        {"taker_seconds": 7_200},
    ):
        assert run(chain, ALICE, offer_msg(chain, **bad)).code == errors.HtlcBadOfferError.code
    expired = offer_msg(chain, expires_at=chain.time)
    assert run(chain, ALICE, expired).code == errors.HtlcBadTimeoutError.code


def test_offers_expire(chain: Chain) -> None:
    offer_id = offer_id_of(run(chain, ALICE, offer_msg(chain, expires_at=chain.time + 20)))
    chain.block([], advance=30)
    assert chain.app.committed.get(state.offer_key(offer_id)) is None
    take = ("htlc/Take", {"taker": B, "offer_id": offer_id, "other_address": "x"})
    assert run(chain, BOB, take).code == errors.HtlcOfferNotFoundError.code


@pytest.mark.parametrize("path", ["/htlc/lock", "/htlc/offer"])
def test_invalid_query_data(chain: Chain, path: str) -> None:
    from voxpop.chain.abci import RequestQuery

    assert chain.app.query(RequestQuery(path, b"\x00" * 3, 0)).code != 0


def test_genesis_round_trip(chain: Chain, tmp_path: Any) -> None:
    """A chain started from an export holds the same locks (open and claimed), offers, nonces
    and module balance; genesis refuses a lock whose id or funding does not match."""
    run(chain, ALICE, lock_msg(chain))
    other = hashlib.sha256(b"\x01" * 32).digest()
    run(chain, ALICE, lock_msg(chain, hashlock=other))
    claim = ("htlc/Claim", {"claimer": B, "lock_id": LOCK_ID, "preimage": SECRET})
    assert run(chain, BOB, claim).code == 0
    offer_id = offer_id_of(run(chain, ALICE, offer_msg(chain)))
    exported = chain.app.export_genesis()
    data = exported["htlc"]
    assert len(data["locks"]) == 2 and len(data["offers"]) == 1
    again = Chain.start(tmp_path / "again", app_state=exported)
    try:
        assert again.query("/htlc/lock", LOCK_ID) == chain.query("/htlc/lock", LOCK_ID)
        assert again.query("/htlc/offer", offer_id) == chain.query("/htlc/offer", offer_id)
        assert again.balance(state.MODULE_ADDRESS) == 1_000
    finally:
        again.app.store.close()
    bad_id = {**data, "locks": [{**data["locks"][0], "id": "00" * 32}, data["locks"][1]]}
    with pytest.raises(errors.InvalidGenesisError, match="id"):
        Chain.start(tmp_path / "bad", app_state={**exported, "htlc": bad_id})
    opened = [{**lock, "status": "open", "preimage": ""} for lock in data["locks"]]
    with pytest.raises(errors.InvalidGenesisError, match="module account"):
        Chain.start(
            tmp_path / "unfunded", app_state={**exported, "htlc": {**data, "locks": opened}}
        )
