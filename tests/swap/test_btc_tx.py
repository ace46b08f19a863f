"""The lock payment's coin selection and fee, without a node: value is conserved, the fee is the
rate times the virtual size (plus change too small to keep), and a shortfall is a typed error."""

from __future__ import annotations

import hashlib

import pytest
from bitcoin.wallet import CKey
from hypothesis import given, settings
from hypothesis import strategies as st

from voxpop.swap.btc_errors import BtcFundsError, BtcTermsError
from voxpop.swap.btc_script import HtlcScript, p2wpkh_script_pubkey
from voxpop.swap.btc_tx import DUST_LIMIT, Utxo, build_payment, vsize_of

KEY = CKey(b"\x03" * 32)
OURS = bytes(p2wpkh_script_pubkey(bytes(KEY.pub)))
HTLC = HtlcScript(hashlib.sha256(b"\x09" * 32).digest(), bytes(KEY.pub), bytes(KEY.pub), 10)


@settings(max_examples=60, deadline=None)
@given(
    amounts=st.lists(st.integers(1_000, 10**8), min_size=1, max_size=4),
    amount=st.integers(DUST_LIMIT, 2 * 10**8),
    fee_rate=st.integers(1, 50),
)
def test_payment_conserves_value(amounts: list[int], amount: int, fee_rate: int) -> None:
    utxos = [Utxo(f"{i:064x}", i, value, OURS) for i, value in enumerate(amounts)]
    try:
        tx = build_payment(KEY, utxos, bytes(HTLC.script_pubkey), amount, OURS, fee_rate)
    except BtcFundsError:
        # Verify it refuses only when all our outputs cannot pay amount + the fee of a tx
        # spending them all to one output (11 + 69 vB per input + 44 vB at most)
        assert sum(amounts) < amount + fee_rate * (11 + 69 * len(amounts) + 44)
        return
    spent = sum(u.amount for u in utxos[: len(tx.vin)])
    outputs = [int(out.nValue) for out in tx.vout]
    fee = spent - sum(outputs)
    assert outputs[0] == amount
    assert bytes(tx.vout[0].scriptPubKey) == bytes(HTLC.script_pubkey)
    assert fee >= fee_rate * vsize_of(tx)
    if len(outputs) == 2:  # change kept: the fee is the rate's, with at most 1 vB to spare
        assert outputs[1] >= DUST_LIMIT
        assert fee <= fee_rate * (vsize_of(tx) + 2)
    else:  # change under dust went to the fee (an output of it would cost 31 vB more)
        assert fee < fee_rate * (vsize_of(tx) + 31 + 2) + DUST_LIMIT
    # Verify no more outputs were spent than needed
    assert sum(u.amount for u in utxos[: len(tx.vin) - 1]) < amount + fee


def test_invalid_payment_below_dust() -> None:
    utxos = [Utxo("00" * 32, 0, 10**8, OURS)]
    with pytest.raises(BtcTermsError, match="at least"):
        build_payment(KEY, utxos, bytes(HTLC.script_pubkey), DUST_LIMIT - 1, OURS, 1)
