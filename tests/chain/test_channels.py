"""channels: open, top up, claim, close, settle, collect; bad vouchers refused, nothing changed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from tests.chain.harness import CHAIN_ID, Chain, key
from voxpop.chain import errors
from voxpop.chain.abci import ExecTxResult
from voxpop.chain.app import event_attrs
from voxpop.chain.encoding import decode_canonical
from voxpop.chain.module_accounts import CHANNELS, module_address
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.channels.state import (
    MIN_SETTLE_SECONDS,
    Channel,
    ChannelParams,
    decode_channel,
)
from voxpop.chain.modules.services.state import iter_reputations
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.vouchers import derive_channel_id, sign_voucher

PAYER, PAYEE, OTHER = key(41), key(42), key(43)
P, E, X = (k.public_key.address for k in (PAYER, PAYEE, OTHER))
MODULE = module_address(CHANNELS)
VOUCHER_KEY = SigningKey(bytes(range(1, 33)))  # the payer's agent's key, not the payer's
VK = bytes(VOUCHER_KEY.verify_key)
GAS = 200_000
FEE = AuthParams().min_fee(GAS)
SETTLE = ChannelParams().settle_seconds


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain.start(
        tmp_path / "state", [(PAYER, 10_000_000), (PAYEE, 1_000_000), (OTHER, 1_000_000)]
    )
    yield c
    c.app.store.close()


# --- helpers ----------------------------------------------------------------------------------


def msg_open(payer: bytes = P, payee: bytes = E, vk: bytes = VK, deposit: int = 1_000_000) -> Any:
    return "channels/Open", {"payer": payer, "payee": payee, "voucher_key": vk, "deposit": deposit}


def msg_top_up(cid: bytes, amount: int, payer: bytes = P) -> Any:
    return "channels/TopUp", {"payer": payer, "channel_id": cid, "amount": amount}


def msg_claim(vouchers: Sequence[tuple[bytes, int, bytes]], payee: bytes = E) -> Any:
    return "channels/Claim", {"payee": payee, "vouchers": [list(v) for v in vouchers]}


def msg_close(cid: bytes, payee: bytes = E) -> Any:
    return "channels/Close", {"payee": payee, "channel_id": cid}


def msg_settle(cid: bytes, payer: bytes = P) -> Any:
    return "channels/Settle", {"payer": payer, "channel_id": cid}


def msg_collect(cid: bytes, payer: bytes = P) -> Any:
    return "channels/Collect", {"payer": payer, "channel_id": cid}


def voucher(
    cid: bytes, amount: int, signer: SigningKey = VOUCHER_KEY, chain_id: str = CHAIN_ID
) -> tuple[bytes, int, bytes]:
    v = sign_voucher(signer, chain_id, cid, amount)
    return v.channel_id, v.amount, v.signature


def ok(chain: Chain, signer: PrivateKey, *msgs: Any, gas: int = GAS) -> ExecTxResult:
    res = chain.deliver(chain.tx(signer, list(msgs), gas_limit=gas))
    assert res.code == 0, res.log
    return res


def open_channel(chain: Chain, deposit: int = 1_000_000, vk: bytes = VK) -> bytes:
    res = ok(chain, PAYER, msg_open(deposit=deposit, vk=vk))
    opened = [event_attrs(e) for e in res.events if e.type == "channel_open"]
    assert len(opened) == 1
    return bytes.fromhex(opened[0]["channel_id"])


def channel(chain: Chain, cid: bytes) -> Channel | None:
    raw = chain.query("/channels/channel", cid)
    return decode_channel(raw) if raw else None


def channel_state(chain: Chain) -> dict[bytes, bytes]:
    return {
        k: v
        for k, v in chain.snapshot().items()
        if k.startswith((b"channels/", b"services/"))
        or k in {b"bank/bal/" + a for a in (P, E, X, MODULE)}
    }


def refused(
    chain: Chain,
    signer: PrivateKey,
    msgs: Sequence[Any],
    error: type[errors.ChainError],
    gas: int = GAS,
) -> None:
    """Refused with `error` at check_tx and in a block; nothing but the signer's fee moves."""
    tx = chain.tx(signer, list(msgs), gas_limit=gas)
    assert chain.check(tx).code == error.code
    before = channel_state(chain)
    paid = chain.balance(signer)
    res = chain.deliver(tx)
    assert res.code == error.code, res.log
    after = channel_state(chain)
    signer_key = b"bank/bal/" + signer.public_key.address
    assert {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} <= {
        signer_key
    }
    assert chain.balance(signer) == paid - AuthParams().min_fee(gas)


# --- open -------------------------------------------------------------------------------------


def test_open_moves_the_deposit_and_derives_the_id(chain: Chain) -> None:
    supply = chain.supply()
    cid = open_channel(chain, 700_000)
    assert cid == derive_channel_id(CHAIN_ID, P, 0)
    assert chain.balance(PAYER) == 10_000_000 - 700_000 - FEE
    assert chain.balance(MODULE) == 700_000
    c = channel(chain, cid)
    assert c == Channel(P, E, VK, 700_000, 0, 0, chain.time)
    assert int.from_bytes(chain.query("/channels/nonce", P), "big") == 1
    # The next channel of the same payer gets the next id, never the first again
    assert open_channel(chain, 1) == derive_channel_id(CHAIN_ID, P, 1)
    assert chain.supply() >= supply  # issuance only adds; the channel moved, it did not create


def test_invalid_open(chain: Chain) -> None:
    refused(chain, PAYER, [msg_open(deposit=10**12)], errors.InsufficientFundsError)
    refused(chain, PAYER, [msg_open(payee=MODULE)], errors.BlockedRecipientError)
    # Parsed before anything runs: refused with its code, no fee, no sequence
    for bad, error in (
        (msg_open(payee=P), errors.SelfChannelError),
        (msg_open(deposit=0), errors.InvalidAmountError),
        (msg_open(vk=bytes(31)), errors.InvalidMessageError),
    ):
        tx = chain.tx(PAYER, [bad], gas_limit=GAS)
        assert chain.check(tx).code == error.code
        chain.sequences[P] -= 1
    assert int.from_bytes(chain.query("/channels/nonce", P) or bytes(8), "big") == 0


# --- top-up -----------------------------------------------------------------------------------


def test_top_up(chain: Chain) -> None:
    cid = open_channel(chain, 100)
    ok(chain, PAYER, msg_top_up(cid, 50))
    c = channel(chain, cid)
    assert c is not None and c.deposit == 150
    assert chain.balance(MODULE) == 150


def test_invalid_top_up(chain: Chain) -> None:
    cid = open_channel(chain, 100)
    refused(chain, PAYER, [msg_top_up(bytes(32), 5)], errors.ChannelNotFoundError)
    refused(chain, OTHER, [msg_top_up(cid, 5, payer=X)], errors.WrongPayerError)
    refused(chain, PAYER, [msg_top_up(cid, 10**12)], errors.InsufficientFundsError)
    ok(chain, PAYER, msg_settle(cid))
    refused(chain, PAYER, [msg_top_up(cid, 5)], errors.ChannelSettlingError)


# --- claim ------------------------------------------------------------------------------------


def test_claim_pays_the_increment_and_records_reputation(chain: Chain) -> None:
    cid = open_channel(chain, 1_000)
    e_bal = chain.balance(PAYEE)
    res = ok(chain, PAYEE, msg_claim([voucher(cid, 300)]))
    claim = next(event_attrs(e) for e in res.events if e.type == "channel_claim")
    assert claim == {
        "channel_id": cid.hex(),
        "payee": claim["payee"],
        "amount": "300",
        "claimed": "300",
    }
    ok(chain, PAYEE, msg_claim([voucher(cid, 750)]))
    assert chain.balance(PAYEE) == e_bal + 750 - 2 * FEE
    assert chain.balance(MODULE) == 250
    c = channel(chain, cid)
    assert c is not None and (c.deposit, c.claimed) == (1_000, 750)
    rep = dict(iter_reputations(chain.app.committed))[E]
    assert rep.settled == 750 and rep.payers == 1


def test_claim_many_channels_in_one_message(chain: Chain) -> None:
    ids = [open_channel(chain, 500) for _ in range(3)]
    ok(chain, PAYEE, msg_claim([voucher(ids[0], 100), voucher(ids[1], 500), voucher(ids[2], 1)]))
    assert [c.claimed for c in (channel(chain, i) for i in ids) if c] == [100, 500, 1]
    assert chain.balance(MODULE) == 400 + 0 + 499
    # Two vouchers of one channel in one claim are taken in order: the second pays its increment
    ok(chain, PAYEE, msg_claim([voucher(ids[0], 200), voucher(ids[0], 300)]))
    c = channel(chain, ids[0])
    assert c is not None and c.claimed == 300


def test_invalid_claim_forged_stale_over_deposit(chain: Chain) -> None:
    cid = open_channel(chain, 1_000)
    ok(chain, PAYEE, msg_claim([voucher(cid, 400)]))
    # Forged: random bytes, or a real signature over another amount
    refused(chain, PAYEE, [msg_claim([(cid, 500, bytes(64))])], errors.VoucherInvalidError)
    _, _, sig = voucher(cid, 450)
    refused(chain, PAYEE, [msg_claim([(cid, 500, sig)])], errors.VoucherInvalidError)
    # Replayed, and older than what was claimed
    refused(chain, PAYEE, [msg_claim([voucher(cid, 400)])], errors.VoucherStaleError)
    refused(chain, PAYEE, [msg_claim([voucher(cid, 100)])], errors.VoucherStaleError)
    # Beyond the deposit
    refused(chain, PAYEE, [msg_claim([voucher(cid, 1_001)])], errors.OverDepositError)


def test_invalid_claim_wrong_key_chain_channel_payee(chain: Chain) -> None:
    cid = open_channel(chain, 1_000)
    other = open_channel(chain, 1_000, vk=bytes(SigningKey(bytes(32)).verify_key))
    # Signed by the payer's account key (not the channel's voucher key)
    payer_key = SigningKey(PAYER.seed)
    refused(chain, PAYEE, [msg_claim([voucher(cid, 10, payer_key)])], errors.VoucherInvalidError)
    # For another chain
    refused(
        chain,
        PAYEE,
        [msg_claim([voucher(cid, 10, chain_id="voxpop-other")])],
        errors.VoucherInvalidError,
    )
    # Another channel's voucher presented for this one
    _, _, sig = voucher(other, 10)
    refused(chain, PAYEE, [msg_claim([(cid, 10, sig)])], errors.VoucherInvalidError)
    # Claimed by someone who is not the payee
    refused(chain, OTHER, [msg_claim([voucher(cid, 10)], payee=X)], errors.WrongPayeeError)
    # Unknown channel
    refused(chain, PAYEE, [msg_claim([voucher(bytes(32), 10)])], errors.ChannelNotFoundError)


def test_one_bad_voucher_fails_the_whole_claim(chain: Chain) -> None:
    a, b = open_channel(chain, 1_000), open_channel(chain, 1_000)
    refused(
        chain,
        PAYEE,
        [msg_claim([voucher(a, 500), voucher(b, 500), (b, 600, bytes(64))])],
        errors.VoucherInvalidError,
    )


def test_claim_during_the_settle_window_then_not_after(chain: Chain) -> None:
    cid = open_channel(chain, 1_000)
    ok(chain, PAYER, msg_settle(cid))
    ok(chain, PAYEE, msg_claim([voucher(cid, 600)]))  # the payee still has time
    chain.block([], advance=SETTLE)
    refused(chain, PAYEE, [msg_claim([voucher(cid, 700)])], errors.SettleWindowEndedError)
    p_bal = chain.balance(PAYER)
    ok(chain, PAYER, msg_collect(cid))
    assert chain.balance(PAYER) == p_bal + 400 - FEE
    assert channel(chain, cid) is None and chain.balance(MODULE) == 0


def test_claims_on_closed_and_collected_channels(chain: Chain) -> None:
    cid = open_channel(chain, 1_000)
    ok(chain, PAYEE, msg_close(cid))
    refused(chain, PAYEE, [msg_claim([voucher(cid, 10)])], errors.ChannelNotFoundError)


def test_too_many_vouchers(chain: Chain) -> None:
    cid = open_channel(chain, 1_000)
    # 65 is refused by the declaration when parsed, before any fee
    tx = chain.tx(PAYEE, [msg_claim([voucher(cid, i + 1) for i in range(65)])], gas_limit=GAS)
    assert chain.check(tx).code == errors.InvalidMessageError.code
    chain.sequences[E] -= 1


def test_claim_gas_is_charged_per_voucher(chain: Chain) -> None:
    ids = [open_channel(chain, 1_000) for _ in range(4)]
    one = ok(chain, PAYEE, msg_claim([voucher(ids[0], 1)]))
    four = ok(chain, PAYEE, msg_claim([voucher(i, 2) for i in ids]))
    assert four.gas_used - one.gas_used >= 3 * ChannelParams().gas_per_voucher
    # A claim whose gas cannot cover its signatures runs out instead of verifying them
    refused(
        chain,
        PAYEE,
        [msg_claim([voucher(i, 3) for i in ids])],
        errors.OutOfGasError,
        gas=four.gas_used - ChannelParams().gas_per_voucher,
    )


def test_claim_then_close_in_one_tx(chain: Chain) -> None:
    cid = open_channel(chain, 1_000)
    p_bal, e_bal = chain.balance(PAYER), chain.balance(PAYEE)
    ok(chain, PAYEE, msg_claim([voucher(cid, 250)]), msg_close(cid))
    assert chain.balance(PAYEE) == e_bal + 250 - FEE
    assert chain.balance(PAYER) == p_bal + 750
    assert channel(chain, cid) is None and chain.balance(MODULE) == 0


# --- close, settle, collect -------------------------------------------------------------------


def test_invalid_close(chain: Chain) -> None:
    cid = open_channel(chain, 1_000)
    refused(chain, PAYER, [msg_close(cid, payee=P)], errors.WrongPayeeError)
    refused(chain, PAYEE, [msg_close(bytes(32))], errors.ChannelNotFoundError)


def test_settle_sets_the_window(chain: Chain) -> None:
    cid = open_channel(chain, 1_000)
    ok(chain, PAYER, msg_settle(cid))
    c = channel(chain, cid)
    assert c is not None and c.settle_at == chain.time + SETTLE
    refused(chain, PAYER, [msg_settle(cid)], errors.ChannelSettlingError)
    refused(chain, OTHER, [msg_settle(cid, payer=X)], errors.WrongPayerError)


def test_invalid_collect_before_the_window_ends(chain: Chain) -> None:
    cid = open_channel(chain, 1_000)
    refused(chain, PAYER, [msg_collect(cid)], errors.SettleWindowOpenError)  # never settled
    ok(chain, PAYER, msg_settle(cid))
    chain.block([], advance=SETTLE - 20)
    refused(chain, PAYER, [msg_collect(cid)], errors.SettleWindowOpenError)
    refused(chain, OTHER, [msg_collect(cid, payer=X)], errors.WrongPayerError)
    chain.block([], advance=20)
    ok(chain, PAYER, msg_collect(cid))
    refused(chain, PAYER, [msg_collect(cid)], errors.ChannelNotFoundError)


def test_a_new_channel_never_takes_an_old_voucher(chain: Chain) -> None:
    old = open_channel(chain, 1_000)
    stale = voucher(old, 900)
    ok(chain, PAYEE, msg_close(old))
    new = open_channel(chain, 1_000)
    assert new != old
    refused(chain, PAYEE, [msg_claim([(new, 900, stale[2])])], errors.VoucherInvalidError)


def listed(chain: Chain, name: str, owner: bytes) -> list[bytes]:
    """The ids of a list query's items, each checked to point at its channel."""
    doc = decode_canonical(chain.query(f"/channels/{name}", owner))
    for item_id, item_key, value, _ in doc["items"]:
        assert item_key == b"channels/ch/" + item_id and decode_channel(value)
    return [item[0] for item in doc["items"]]


# --- queries and lists ------------------------------------------------------------------------


def test_lists_by_payer_and_payee(chain: Chain) -> None:
    a, b = open_channel(chain, 10), open_channel(chain, 10)
    assert listed(chain, "by_payer", P) == sorted([a, b])
    assert listed(chain, "by_payee", E) == sorted([a, b])
    assert listed(chain, "by_payee", X) == []
    ok(chain, PAYEE, msg_close(a))
    assert listed(chain, "by_payer", P) == listed(chain, "by_payee", E) == [b]


# --- genesis ----------------------------------------------------------------------------------


def test_genesis_round_trip_and_bounds(chain: Chain, tmp_path: Path) -> None:
    """A chain started from an export holds the same channels, nonces and balances; genesis
    refuses a settle window under an hour and a module account that does not match."""
    cid = open_channel(chain, 1_000)
    ok(chain, PAYEE, msg_claim([voucher(cid, 10)]))
    exported = chain.app.export_genesis()
    data = exported["channels"]
    assert data["channels"][0]["id"] == cid.hex() and data["channels"][0]["claimed"] == 10
    assert data["nonces"] == [{"payer": data["channels"][0]["payer"], "nonce": 1}]
    again = Chain.start(tmp_path / "again", app_state=exported)
    try:
        assert channel(again, cid) == channel(chain, cid)
        assert again.balance(MODULE) == 990
        # The new chain's next channel of this payer does not reuse the id
        assert int.from_bytes(again.query("/channels/nonce", P), "big") == 1
    finally:
        again.app.store.close()
    short = {**data["params"], "settle_seconds": MIN_SETTLE_SECONDS - 1}
    with pytest.raises(errors.InvalidGenesisError):
        ChannelParams.from_value(short)
    with pytest.raises(errors.InvalidGenesisError):
        Chain.start(
            tmp_path / "short", app_state={**exported, "channels": {**data, "params": short}}
        )
    huge = {**data, "nonces": [{**data["nonces"][0], "nonce": (1 << 64) - 1}]}
    with pytest.raises(errors.InvalidGenesisError, match="nonce"):
        Chain.start(tmp_path / "huge", app_state={**exported, "channels": huge})
    unfunded = {**data, "channels": [{**data["channels"][0], "claimed": 0}]}
    with pytest.raises(errors.InvalidGenesisError, match="module account"):
        Chain.start(tmp_path / "unfunded", app_state={**exported, "channels": unfunded})
