"""The Bitcoin HTLC script, its reference and its witnesses, without a node."""

from __future__ import annotations

import hashlib
import math

import pytest
from bitcoin.core import CTransaction
from bitcoin.wallet import CKey
from hypothesis import given
from hypothesis import strategies as st

from voxpop.swap.btc import BtcLockRef
from voxpop.swap.btc_errors import BtcFundsError, BtcTermsError
from voxpop.swap.btc_script import (
    MAX_CSV_BLOCKS,
    HtlcScript,
    claim_witness,
    parse_htlc_script,
    preimage_from_witness,
    refund_witness,
)
from voxpop.swap.btc_timing import least_seconds, most_seconds
from voxpop.swap.btc_tx import build_htlc_spend

SENDER = CKey(b"\x01" * 32)
RECIPIENT = CKey(b"\x02" * 32)
SECRET = b"\x07" * 32
HASHLOCK = hashlib.sha256(SECRET).digest()


def htlc(csv_blocks: int = 144) -> HtlcScript:
    return HtlcScript(HASHLOCK, bytes(RECIPIENT.pub), bytes(SENDER.pub), csv_blocks)


def test_script_is_the_standard_htlc() -> None:
    script = htlc(144).script
    assert bytes(script).hex() == (
        "63" + "82" + "0120" + "88" + "a8" + "20" + HASHLOCK.hex() + "88"
        "21" + bytes(RECIPIENT.pub).hex() + "67" + "029000" + "b2" + "75"
        "21" + bytes(SENDER.pub).hex() + "68" + "ac"
    )
    # P2WSH: OP_0 <sha256(script)>, bech32 on regtest
    assert bytes(htlc().script_pubkey) == b"\x00\x20" + hashlib.sha256(bytes(script)).digest()
    assert htlc().address("regtest").startswith("bcrt1q")


@given(
    hashlock=st.binary(min_size=32, max_size=32),
    csv_blocks=st.integers(1, MAX_CSV_BLOCKS),
    swap=st.booleans(),
)
def test_parse_inverts_build(hashlock: bytes, csv_blocks: int, swap: bool) -> None:
    keys = (bytes(RECIPIENT.pub), bytes(SENDER.pub))
    recipient, sender = keys[::-1] if swap else keys
    built = HtlcScript(hashlock, recipient, sender, csv_blocks)
    assert parse_htlc_script(bytes(built.script)) == built


@pytest.mark.parametrize("csv_blocks", [0, -1, MAX_CSV_BLOCKS + 1])
def test_invalid_timeout(csv_blocks: int) -> None:
    with pytest.raises(BtcTermsError):
        htlc(csv_blocks)


def test_invalid_keys_and_hashlock() -> None:
    with pytest.raises(BtcTermsError, match="compressed"):
        HtlcScript(HASHLOCK, b"\x04" * 33, bytes(SENDER.pub), 10)
    with pytest.raises(BtcTermsError, match="hashlock"):
        HtlcScript(HASHLOCK[:31], bytes(RECIPIENT.pub), bytes(SENDER.pub), 10)


def test_invalid_script_not_parsed() -> None:
    script = bytes(htlc().script)
    for bad in (b"", script[:-1], script + b"\xac", script.replace(b"\xb2", b"\xb1"), b"\xff"):
        with pytest.raises(BtcTermsError):
            parse_htlc_script(bad)


def test_preimage_read_from_claim_witness_only() -> None:
    script = bytes(htlc().script)
    sig = b"\x30" * 71
    assert preimage_from_witness(claim_witness(sig, SECRET, script), htlc()) == SECRET
    assert preimage_from_witness(refund_witness(sig, script), htlc()) is None
    # a preimage that does not open this lock, or another script, reveals nothing
    assert preimage_from_witness(claim_witness(sig, b"\x08" * 32, script), htlc()) is None
    assert preimage_from_witness(claim_witness(sig, SECRET, script), htlc(145)) is None


def test_lock_ref_round_trip_and_invalid() -> None:
    ref = BtcLockRef("ab" * 32, 1, htlc())
    assert BtcLockRef.parse(str(ref)) == ref
    for bad in ("", "ab" * 32, f"{'ab' * 32}:x:00", f"{'ab' * 31}:0:00", f"{ref!s}:1"):
        with pytest.raises(BtcTermsError):
            BtcLockRef.parse(bad)


def test_claim_and_refund_tx_shapes() -> None:
    claim = build_htlc_spend(
        RECIPIENT, htlc(), "cd" * 32, 0, 100_000, b"\x00\x14" + b"\x00" * 20, 2, SECRET
    )
    refund = build_htlc_spend(
        SENDER, htlc(), "cd" * 32, 0, 100_000, b"\x00\x14" + b"\x00" * 20, 2, None
    )
    for tx in (claim, refund):
        assert tx.nVersion == 2
        assert CTransaction.deserialize(tx.serialize()) == tx
    # the refund carries the CSV timeout in nSequence; the claim has no relative lock and
    # signals replaceability (BIP 125)
    assert refund.vin[0].nSequence == 144
    assert claim.vin[0].nSequence == 0xFFFFFFFD
    assert list(claim.wit.vtxinwit[0].scriptWitness.stack)[1:3] == [SECRET, b"\x01"]
    assert list(refund.wit.vtxinwit[0].scriptWitness.stack)[1] == b""
    # the fee comes out of the output: about 2 sat/vB of a ~150 vB tx
    assert 100_000 - 400 < claim.vout[0].nValue < 100_000 - 200


def test_invalid_spend_fee_above_output() -> None:
    with pytest.raises(BtcFundsError):
        build_htlc_spend(
            RECIPIENT, htlc(), "cd" * 32, 0, 1_000, b"\x00\x14" + b"\x00" * 20, 10, SECRET
        )


def _gamma_cdf(blocks: int, t: float) -> float:
    """P(blocks Poisson arrivals of rate 1 take less than t) = P(Poisson(t) >= blocks), exact."""
    below = sum(math.exp(k * math.log(t) - t - math.lgamma(k + 1)) for k in range(blocks))
    return 1.0 - below


@pytest.mark.parametrize("blocks", [6, 12, 24, 36, 72, 144, 1000])
def test_least_seconds_is_the_one_in_a_thousand_fast_run(blocks: int) -> None:
    seconds = least_seconds(blocks, 600)
    assert 0 < seconds < blocks * 600
    # one run in a thousand is faster, to within 10 % (and on the safe side from below)
    assert 0.0007 < _gamma_cdf(blocks, seconds / 600) < 0.0011


@pytest.mark.parametrize("blocks", [6, 12, 24, 36, 72, 144, 1000])
def test_most_seconds_is_the_one_in_a_thousand_slow_run(blocks: int) -> None:
    seconds = most_seconds(blocks, 600)
    assert seconds > blocks * 600
    assert 0.9989 < _gamma_cdf(blocks, seconds / 600) < 0.9993


def test_least_seconds_small_counts() -> None:
    assert least_seconds(0, 600) == 0
    # under a few blocks the bound is near zero: a lock that close to its end has no time left
    assert least_seconds(1, 600) <= 1
    assert least_seconds(2, 600) < 60
