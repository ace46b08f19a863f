"""services/Register, Update, Leave: offers, stakes, the list by kind, unbonding, reputation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chain.harness import Chain, key
from voxpop.chain import errors
from voxpop.chain.abci import RequestQuery
from voxpop.chain.context import BlockInfo, Context
from voxpop.chain.encoding import decode_canonical
from voxpop.chain.gas import InfiniteGasMeter
from voxpop.chain.genesis import default_app_state
from voxpop.chain.kv import Branch
from voxpop.chain.module import parse_msg
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.services import state
from voxpop.chain.modules.services.module import ServicesModule
from voxpop.chain.tx import RawMsg
from voxpop.client.lists import verify_list
from voxpop.crypto.address import encode_address
from voxpop.crypto.keys import PrivateKey

ALICE, BOB, CAROL = key(1), key(2), key(3)
RECEIPT_KEY = key(99).public_key.raw
FUNDS = 10**9
MIN_STAKE = 1_000_000
UNBONDING = 3_600
KINDS = ["stt", "stt-x", "weather", "echo"]


def params(**overrides: Any) -> dict[str, Any]:
    return {
        "kinds": KINDS,
        "min_stake": MIN_STAKE,
        "unbonding_seconds": UNBONDING,
        "max_endpoint_len": 64,
        "max_languages": 4,
    } | overrides


def services_genesis(**fields: Any) -> dict[str, Any]:
    return {"params": params(), "offers": [], "reputations": [], "payers": []} | fields


def start(path: Path, services: dict[str, Any] | None = None, **balances: int) -> Chain:
    funded = [(ALICE.public_key.address, FUNDS), (BOB.public_key.address, FUNDS)]
    funded += [(bytes.fromhex(a), n) for a, n in balances.items()]
    app_state = default_app_state(funded)
    app_state["services"] = services or services_genesis()
    return Chain.start(path, app_state=app_state)


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Chain]:
    c = start(tmp_path / "svc")
    yield c
    c.app.store.close()


def addr(who: PrivateKey) -> bytes:
    return who.public_key.address


def register(who: PrivateKey, kind: str = "stt", **fields: Any) -> tuple[str, dict[str, Any]]:
    return "services/Register", {
        "provider": addr(who),
        "kind": kind,
        "endpoint": "https://stt.example.org:8443/v1",
        "price": 100,
        "languages": ["en-us", "de"],
        "signing_key": RECEIPT_KEY,
        "stake": MIN_STAKE,
    } | fields


def update(who: PrivateKey, kind: str = "stt", **fields: Any) -> tuple[str, dict[str, Any]]:
    return "services/Update", {
        "provider": addr(who),
        "kind": kind,
        "endpoint": "http://10.0.0.7:9000",
        "price": 150,
        "languages": ["fr"],
        "signing_key": key(98).public_key.raw,
        "add_stake": 0,
    } | fields


def leave(who: PrivateKey, kind: str = "stt") -> tuple[str, dict[str, Any]]:
    return "services/Leave", {"provider": addr(who), "kind": kind}


def run(chain: Chain, who: PrivateKey, msg: tuple[str, dict[str, Any]]) -> int:
    """Deliver `msg` in a block if check_tx accepts it; return the result code."""
    tx = chain.tx(who, [msg])
    res = chain.check(tx)
    if res.code != 0:
        chain.sequences[addr(who)] -= 1
        return res.code
    result = chain.deliver(tx)
    assert result.code == 0, result.log
    return 0


def services_state(chain: Chain) -> dict[bytes, bytes]:
    return {k: v for k, v in chain.snapshot().items() if k.startswith(state.PREFIX)}


def refused(chain: Chain, who: PrivateKey, msg: tuple[str, dict[str, Any]]) -> int:
    """The code a block gives `msg`, checking check_tx gave the same, and that it changed no
    services state and took nothing from the signer but the fee."""
    before, balance = services_state(chain), chain.balance(who)
    module_balance = chain.balance(state.MODULE_ADDRESS)
    tx = chain.tx(who, [msg])
    code = chain.check(tx).code
    result = chain.deliver(tx)
    assert result.code == code != 0, result.log
    assert services_state(chain) == before
    # A message that does not parse fails before the fee; one that parses pays it
    fee = 0 if parse_fails(msg) else AuthParams().min_fee(200_000)
    assert chain.balance(who) == balance - fee
    assert chain.balance(state.MODULE_ADDRESS) == module_balance
    return code


def parse_fails(msg: tuple[str, dict[str, Any]]) -> bool:
    try:
        parse_msg(ServicesModule().msg_routes(), RawMsg(*msg), "msg")
    except errors.ChainError:
        return True
    return False


def offer_of(chain: Chain, who: PrivateKey, kind: str = "stt") -> state.Offer | None:
    raw = chain.query("/services/offer", addr(who) + kind.encode())
    return state.Offer.from_value(decode_canonical(raw)) if raw else None


def reputation_of(chain: Chain, who: PrivateKey) -> state.Reputation:
    raw = chain.query("/services/reputation", addr(who))
    return state.Reputation.from_value(decode_canonical(raw)) if raw else state.Reputation()


def listed(chain: Chain, kind: str) -> list[bytes]:
    """The providers of the list by kind, verified against the app hash as a client would."""
    res = chain.app.query(RequestQuery(data=kind.encode(), path="/services/offers", prove=True))
    assert res.code == 0, res.log
    items = verify_list(
        chain.app.last_app_hash, "/services/offers", kind.encode(), res.key, res.value, res.proof
    )
    return [item.id for item in items]


# --- register ---------------------------------------------------------------------------------


def test_register_locks_stake_and_lists_offer(svc: Chain) -> None:
    before = svc.balance(ALICE)
    tx = svc.tx(ALICE, [register(ALICE, stake=3 * MIN_STAKE)])
    result = svc.deliver(tx)
    assert result.code == 0, result.log
    fee = AuthParams().min_fee(200_000)
    assert svc.balance(ALICE) == before - fee - 3 * MIN_STAKE
    assert svc.balance(state.MODULE_ADDRESS) == 3 * MIN_STAKE
    offer = offer_of(svc, ALICE)
    assert offer == state.Offer(
        "https://stt.example.org:8443/v1",
        100,
        ("en-us", "de"),
        RECEIPT_KEY,
        3 * MIN_STAKE,
        registered_at=svc.time,
    )
    assert listed(svc, "stt") == [addr(ALICE)]
    assert listed(svc, "stt-x") == [] and listed(svc, "weather") == []
    rep = reputation_of(svc, ALICE)
    assert (rep.stake, rep.first_registered, rep.settled, rep.payers) == (
        3 * MIN_STAKE,
        svc.time,
        0,
        0,
    )
    event = next(e for e in result.events if e.type == "offer_registered")
    attrs = dict((a.key, a.value) for a in event.attributes)
    assert attrs["kind"] == "stt" and attrs["stake"] == str(3 * MIN_STAKE)


def test_kinds_are_listed_apart(svc: Chain) -> None:
    # "stt" is a prefix of "stt-x": the padded owner keeps the lists apart
    assert run(svc, ALICE, register(ALICE, "stt")) == 0
    assert run(svc, BOB, register(BOB, "stt-x")) == 0
    assert run(svc, BOB, register(BOB, "stt")) == 0
    assert listed(svc, "stt") == sorted([addr(ALICE), addr(BOB)])
    assert listed(svc, "stt-x") == [addr(BOB)]
    assert reputation_of(svc, BOB).stake == 2 * MIN_STAKE


def test_stake_sums_active_offers(svc: Chain) -> None:
    assert run(svc, ALICE, register(ALICE, "stt", stake=2 * MIN_STAKE)) == 0
    assert run(svc, ALICE, register(ALICE, "echo")) == 0
    assert reputation_of(svc, ALICE).stake == 3 * MIN_STAKE
    assert svc.balance(state.MODULE_ADDRESS) == 3 * MIN_STAKE


def test_invalid_register_twice(svc: Chain) -> None:
    assert run(svc, ALICE, register(ALICE)) == 0
    assert refused(svc, ALICE, register(ALICE, price=1)) == errors.OfferExistsError.code


def test_invalid_register_unknown_kind(svc: Chain) -> None:
    assert refused(svc, ALICE, register(ALICE, "knowledge")) == errors.UnknownServiceKindError.code


def test_invalid_register_stake_too_low(svc: Chain) -> None:
    code = refused(svc, ALICE, register(ALICE, stake=MIN_STAKE - 1))
    assert code == errors.StakeTooLowError.code


def test_invalid_register_beyond_balance(svc: Chain) -> None:
    code = refused(svc, ALICE, register(ALICE, stake=FUNDS))
    assert code == errors.InsufficientFundsError.code


@pytest.mark.parametrize(
    "endpoint",
    [
        "ftp://stt.example.org",
        "https://",
        "stt.example.org",
        "https://stt.example.org/a b",
        "https://stt.example.org:99999/",
        "https://[::1",
        "https://stt.example.org/\u00e9",
        "",
        "https://example.org/" + "a" * 50,  # over the params' 64 bytes
        "https://example.org/" + "a" * 2_000,  # over what any params allow
        7,
    ],
)
def test_invalid_endpoint(svc: Chain, endpoint: Any) -> None:
    assert (
        refused(svc, ALICE, register(ALICE, endpoint=endpoint)) == errors.InvalidEndpointError.code
    )


@pytest.mark.parametrize(
    "languages",
    [["en", "en"], ["EN-US"], ["en_us"], [""], ["a" * 17], ["a", "b", "c", "d", "e"], [3]],
)
def test_invalid_languages(svc: Chain, languages: list[Any]) -> None:
    code = refused(svc, ALICE, register(ALICE, languages=languages))
    assert code == errors.InvalidLanguagesError.code


@pytest.mark.parametrize("signing_key", [bytes(32), b"\x01" + bytes(31), RECEIPT_KEY[:31], "ab"])
def test_invalid_signing_key(svc: Chain, signing_key: Any) -> None:
    code = refused(svc, ALICE, register(ALICE, signing_key=signing_key))
    assert code == errors.InvalidSigningKeyError.code


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("kind", "STT", errors.InvalidMessageError),
        ("kind", "a" * 17, errors.InvalidMessageError),
        ("kind", "", errors.InvalidMessageError),
        ("price", 0, errors.InvalidAmountError),
        ("stake", 0, errors.InvalidAmountError),
        ("provider", b"\x01" * 19, errors.InvalidAddressError),
    ],
)
def test_invalid_register_fields(
    svc: Chain, field: str, value: Any, error: type[errors.ChainError]
) -> None:
    tx = svc.tx(ALICE, [register(ALICE, **{field: value})])
    assert svc.check(tx).code == error.code
    svc.sequences[addr(ALICE)] -= 1


def test_invalid_register_for_another_account(svc: Chain) -> None:
    tx = svc.tx(BOB, [register(ALICE)])
    assert svc.check(tx).code == errors.UnauthorizedError.code
    svc.sequences[addr(BOB)] -= 1


# --- update -----------------------------------------------------------------------------------


def test_update_replaces_terms_and_adds_stake(svc: Chain) -> None:
    assert run(svc, ALICE, register(ALICE)) == 0
    registered = offer_of(svc, ALICE)
    assert registered is not None
    before = svc.balance(ALICE)
    assert run(svc, ALICE, update(ALICE, add_stake=500)) == 0
    offer = offer_of(svc, ALICE)
    assert offer == state.Offer(
        "http://10.0.0.7:9000",
        150,
        ("fr",),
        key(98).public_key.raw,
        MIN_STAKE + 500,
        registered_at=registered.registered_at,
    )
    assert svc.balance(ALICE) == before - AuthParams().min_fee(200_000) - 500
    assert svc.balance(state.MODULE_ADDRESS) == MIN_STAKE + 500
    assert reputation_of(svc, ALICE).stake == MIN_STAKE + 500
    assert listed(svc, "stt") == [addr(ALICE)]


def test_update_without_stake(svc: Chain) -> None:
    assert run(svc, ALICE, register(ALICE)) == 0
    assert run(svc, ALICE, update(ALICE, price=1)) == 0
    offer = offer_of(svc, ALICE)
    assert offer is not None and offer.price == 1 and offer.stake == MIN_STAKE


def test_invalid_update_without_offer(svc: Chain) -> None:
    assert refused(svc, ALICE, update(ALICE)) == errors.OfferNotFoundError.code
    assert run(svc, ALICE, register(ALICE)) == 0
    assert refused(svc, ALICE, update(ALICE, "echo")) == errors.OfferNotFoundError.code
    assert refused(svc, BOB, update(BOB)) == errors.OfferNotFoundError.code


def test_invalid_update_beyond_balance(svc: Chain) -> None:
    assert run(svc, ALICE, register(ALICE)) == 0
    code = refused(svc, ALICE, update(ALICE, add_stake=FUNDS))
    assert code == errors.InsufficientFundsError.code


def test_invalid_update_terms(svc: Chain) -> None:
    assert run(svc, ALICE, register(ALICE)) == 0
    long_url = "https://example.org/" + "a" * 50
    assert refused(svc, ALICE, update(ALICE, endpoint=long_url)) == errors.InvalidEndpointError.code
    many = ["a", "b", "c", "d", "e"]
    assert refused(svc, ALICE, update(ALICE, languages=many)) == errors.InvalidLanguagesError.code


# --- leave and unbonding ----------------------------------------------------------------------


def test_leave_unlists_at_once_and_returns_stake_after_unbonding(svc: Chain) -> None:
    assert run(svc, ALICE, register(ALICE, stake=2 * MIN_STAKE)) == 0
    assert run(svc, BOB, register(BOB)) == 0
    tx = svc.tx(ALICE, [leave(ALICE)])
    result = svc.deliver(tx)
    assert result.code == 0, result.log
    left_at = svc.time
    offer = offer_of(svc, ALICE)
    assert offer is not None and offer.leaving_at == left_at + UNBONDING
    assert listed(svc, "stt") == [addr(BOB)]
    assert reputation_of(svc, ALICE).stake == 0
    assert svc.balance(state.MODULE_ADDRESS) == 3 * MIN_STAKE  # still held while unbonding
    balance = svc.balance(ALICE)
    # One second before the end: still held
    svc.block([], advance=UNBONDING - 1)
    assert svc.balance(ALICE) == balance and offer_of(svc, ALICE) is not None
    svc.block([], advance=1)
    assert svc.balance(ALICE) == balance + 2 * MIN_STAKE
    assert offer_of(svc, ALICE) is None
    assert svc.balance(state.MODULE_ADDRESS) == MIN_STAKE
    assert any(e.type == "offer_stake_returned" for e in svc.events)
    # Its age is kept: first_registered does not move when it registers again
    first = reputation_of(svc, ALICE).first_registered
    assert run(svc, ALICE, register(ALICE)) == 0
    assert reputation_of(svc, ALICE).first_registered == first < svc.time
    assert listed(svc, "stt") == sorted([addr(ALICE), addr(BOB)])


def test_invalid_while_leaving(svc: Chain) -> None:
    assert run(svc, ALICE, register(ALICE)) == 0
    assert run(svc, ALICE, leave(ALICE)) == 0
    assert refused(svc, ALICE, register(ALICE)) == errors.OfferLeavingError.code
    assert refused(svc, ALICE, update(ALICE)) == errors.OfferLeavingError.code
    assert refused(svc, ALICE, leave(ALICE)) == errors.OfferLeavingError.code


def test_invalid_leave_without_offer(svc: Chain) -> None:
    assert refused(svc, ALICE, leave(ALICE)) == errors.OfferNotFoundError.code


def test_several_offers_mature_in_one_block(svc: Chain) -> None:
    for who in (ALICE, BOB):
        assert run(svc, who, register(who, "stt")) == 0
        assert run(svc, who, register(who, "echo")) == 0
    tx_a = svc.tx(ALICE, [leave(ALICE, "stt"), leave(ALICE, "echo")])
    tx_b = svc.tx(BOB, [leave(BOB, "echo")])
    assert [r.code for r in svc.block([tx_a, tx_b])] == [0, 0]
    svc.block([], advance=UNBONDING)
    assert svc.balance(state.MODULE_ADDRESS) == MIN_STAKE
    assert [offer_of(svc, ALICE, k) for k in ("stt", "echo")] == [None, None]
    assert offer_of(svc, BOB, "stt") is not None and offer_of(svc, BOB, "echo") is None


# --- reputation -------------------------------------------------------------------------------


def test_record_settlement_counts_value_and_distinct_payers(svc: Chain) -> None:
    def at(time: int) -> Context:
        block = BlockInfo("voxpop-test", svc.app.last_height + 1, time)
        return Context(block, Branch(svc.app.committed), InfiniteGasMeter(), AuthParams().gas)

    provider, alice, bob = addr(CAROL), addr(ALICE), addr(BOB)
    ctx = at(1_000)
    state.record_settlement(ctx, provider, alice, 0)  # nothing settled: nothing recorded
    assert ctx.store.get(state.reputation_key(provider)) is None
    state.record_settlement(ctx, provider, alice, 40)
    state.record_settlement(ctx, provider, alice, 2)
    ctx.block = BlockInfo("voxpop-test", 9, 2_000)
    state.record_settlement(ctx, provider, bob, 8)
    rep = state.get_reputation(ctx, provider)
    assert (rep.settled, rep.payers, rep.first_settled, rep.last_settled) == (50, 2, 1_000, 2_000)
    assert state.get_settled_by(ctx, provider, alice) == 42
    assert state.get_settled_by(ctx, provider, bob) == 8
    assert state.get_reputation(ctx, alice) == state.Reputation()
    # Sums saturate rather than grow past 64 bits
    state.record_settlement(ctx, provider, bob, 2**64 - 1)
    assert state.get_reputation(ctx, provider).settled == 2**64 - 1


# --- queries ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/services/offer", b"\x01" * 20),
        ("/services/offer", b"\x01" * 20 + b"STT"),
        ("/services/offer", b"\x01" * 20 + b"\xff"),
        ("/services/offers", b""),
        ("/services/offers", b"stt\x00"),
        ("/services/offers", b"a" * 17),
        ("/services/reputation", b"\x01" * 19),
        ("/services/payer", b"\x01" * 39),
    ],
)
def test_invalid_query_data(svc: Chain, path: str, data: bytes) -> None:
    res = svc.app.query(RequestQuery(path, data, 0))
    assert res.code == errors.InvalidQueryError.code


def test_offer_is_provable(svc: Chain) -> None:
    from voxpop.client.verify import verify_entry

    assert run(svc, ALICE, register(ALICE)) == 0
    data = addr(ALICE) + b"stt"
    res = svc.app.query(RequestQuery(data=data, path="/services/offer", prove=True))
    assert res.code == 0 and res.key == state.offer_key(addr(ALICE), "stt")
    verify_entry(svc.app.last_app_hash, res.key, res.value, res.proof)


# --- genesis ----------------------------------------------------------------------------------


def test_genesis_export_and_import(svc: Chain, tmp_path: Path) -> None:
    assert run(svc, ALICE, register(ALICE, "stt", stake=2 * MIN_STAKE)) == 0
    assert run(svc, ALICE, register(ALICE, "echo")) == 0
    assert run(svc, BOB, register(BOB, "weather")) == 0
    assert run(svc, BOB, leave(BOB, "weather")) == 0
    ctx = Context(
        BlockInfo("voxpop-test", 99, svc.time),
        Branch(svc.app.committed),
        InfiniteGasMeter(),
        AuthParams().gas,
    )
    state.record_settlement(ctx, addr(ALICE), addr(CAROL), 77)
    exported = ServicesModule().export_genesis(ctx.store)
    assert len(exported["offers"]) == 3 and len(exported["payers"]) == 1
    # The bank genesis gives the services account the stakes it holds
    app_state = default_app_state([(addr(ALICE), FUNDS), (state.MODULE_ADDRESS, 4 * MIN_STAKE)])
    app_state["services"] = exported
    again = Chain.start(tmp_path / "again", app_state=app_state)
    assert ServicesModule().export_genesis(again.app.committed) == exported
    for who, kind in ((ALICE, "stt"), (ALICE, "echo"), (BOB, "weather")):
        assert offer_of(again, who, kind) == offer_of(svc, who, kind)
    assert listed(again, "stt") == [addr(ALICE)] and listed(again, "weather") == []
    assert reputation_of(again, ALICE).settled == 77
    # Bob's leaving offer still matures, and pays him back
    leaving = offer_of(again, BOB, "weather")
    assert leaving is not None
    again.block([], advance=leaving.leaving_at - again.time - 1)
    assert offer_of(again, BOB, "weather") is not None
    again.block([], advance=1)
    assert offer_of(again, BOB, "weather") is None and again.balance(BOB) == MIN_STAKE
    again.app.store.close()


def genesis_offer(**fields: Any) -> dict[str, Any]:
    return {
        "provider": encode_address(addr(ALICE)),
        "kind": "stt",
        "endpoint": "https://a.example",
        "price": 5,
        "languages": [],
        "signing_key": RECEIPT_KEY.hex(),
        "stake": MIN_STAKE,
        "registered_at": 1,
        "leaving_at": 0,
    } | fields


def genesis_reputation(**fields: Any) -> dict[str, Any]:
    return {
        "provider": encode_address(addr(ALICE)),
        "settled": 0,
        "payers": 0,
        "first_settled": 0,
        "last_settled": 0,
        "first_registered": 1,
        "slashes": 0,
    } | fields


def test_genesis_with_an_offer(tmp_path: Path) -> None:
    held = {state.MODULE_ADDRESS.hex(): MIN_STAKE}
    chain = start(
        tmp_path / "g",
        services_genesis(offers=[genesis_offer()], reputations=[genesis_reputation()]),
        **held,
    )
    assert listed(chain, "stt") == [addr(ALICE)]
    assert reputation_of(chain, ALICE).stake == MIN_STAKE
    chain.app.store.close()


@pytest.mark.parametrize(
    ("services", "held"),
    [
        (services_genesis(params=params(unbonding_seconds=3_599)), 0),
        (services_genesis(params=params(min_stake=0)), 0),
        (services_genesis(params=params(kinds=[])), 0),
        (services_genesis(params=params(kinds=["stt", "stt"])), 0),
        (services_genesis(params=params(kinds=["STT"])), 0),
        (services_genesis(params=params(max_languages=65)), 0),
        (services_genesis(params=params(max_endpoint_len=4_096)), 0),
        (services_genesis(params=params(extra=1)), 0),
        (services_genesis(offers={}), 0),
        (services_genesis(extra=[]), 0),
        # The services account must hold exactly the offers' stakes
        (services_genesis(offers=[genesis_offer()], reputations=[genesis_reputation()]), 0),
        (
            services_genesis(offers=[genesis_offer()], reputations=[genesis_reputation()]),
            MIN_STAKE + 1,
        ),
        (services_genesis(), 1),
        (
            services_genesis(
                offers=[genesis_offer(), genesis_offer()], reputations=[genesis_reputation()]
            ),
            2 * MIN_STAKE,
        ),
        (services_genesis(offers=[genesis_offer()]), MIN_STAKE),  # no reputation
        (
            services_genesis(
                offers=[genesis_offer(kind="knowledge")], reputations=[genesis_reputation()]
            ),
            MIN_STAKE,
        ),
        (
            services_genesis(offers=[genesis_offer(stake=1)], reputations=[genesis_reputation()]),
            1,
        ),
        (
            services_genesis(offers=[genesis_offer(price=0)], reputations=[genesis_reputation()]),
            MIN_STAKE,
        ),
        (
            services_genesis(
                offers=[genesis_offer(endpoint="gopher://x")], reputations=[genesis_reputation()]
            ),
            MIN_STAKE,
        ),
        (
            services_genesis(
                offers=[genesis_offer(signing_key="00" * 32)], reputations=[genesis_reputation()]
            ),
            MIN_STAKE,
        ),
        (
            services_genesis(
                offers=[genesis_offer(registered_at=0)],
                reputations=[genesis_reputation(first_registered=0)],
            ),
            MIN_STAKE,
        ),
        (
            services_genesis(
                offers=[genesis_offer()], reputations=[genesis_reputation(first_registered=2)]
            ),
            MIN_STAKE,
        ),
        (
            services_genesis(offers=[genesis_offer()], reputations=[genesis_reputation(payers=1)]),
            MIN_STAKE,
        ),
        (
            services_genesis(
                reputations=[genesis_reputation(payers=1)],
                payers=[
                    {
                        "provider": encode_address(addr(ALICE)),
                        "payer": encode_address(addr(BOB)),
                        "settled": 0,
                    }
                ],
            ),
            0,
        ),
    ],
)
def test_invalid_genesis(tmp_path: Path, services: dict[str, Any], held: int) -> None:
    with pytest.raises(errors.InvalidGenesisError):
        start(tmp_path / "bad", services, **({state.MODULE_ADDRESS.hex(): held} if held else {}))


def test_invalid_register_when_the_kind_is_full(tmp_path: Path) -> None:
    # A kind lists at most 1,000 offers: genesis fills "echo", then one more is refused
    providers = [key(1_000 + i).public_key.address for i in range(state.MAX_OFFERS_PER_KIND)]
    offers = [genesis_offer(provider=encode_address(p), kind="echo") for p in providers]
    reputations = [genesis_reputation(provider=encode_address(p)) for p in providers]
    held = {state.MODULE_ADDRESS.hex(): MIN_STAKE * len(providers)}
    chain = start(
        tmp_path / "full", services_genesis(offers=offers, reputations=reputations), **held
    )
    assert refused(chain, ALICE, register(ALICE, "echo")) == errors.ListFullError.code
    assert run(chain, ALICE, register(ALICE, "stt")) == 0  # another kind has room
    chain.app.store.close()
