"""Building and signing the Bitcoin leg's transactions (python-bitcoinlib, segwit v0 sighash):
a payment from our P2WPKH outputs (the lock), and the claim or refund that spends an HTLC output.

Fees: `fee_rate` is whole sat/vB. A tx is signed once to measure its virtual size, then rebuilt
with fee = fee_rate * (vsize + 1) (the 1 vB covers a signature one byte longer the second time).
Pure functions: no node, no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bitcoin.core import (
    CMutableTransaction,
    COutPoint,
    CScript,
    CTransaction,
    CTxIn,
    CTxInWitness,
    CTxOut,
    CTxWitness,
    Hash160,
    b2lx,
    lx,
)
from bitcoin.core.script import (
    OP_CHECKSIG,
    OP_DUP,
    OP_EQUALVERIFY,
    OP_HASH160,
    SIGHASH_ALL,
    SIGVERSION_WITNESS_V0,
    CScriptWitness,
    SignatureHash,
)
from bitcoin.wallet import CKey

from voxpop.swap.btc_errors import BtcFundsError, BtcTermsError
from voxpop.swap.btc_script import HtlcScript, claim_witness, refund_witness

# Below this an output is dust to btcd and bitcoind (a P2PKH output at 3 sat/vB; P2WPKH's is
# lower): change smaller than this is left to the fee.
DUST_LIMIT = 546
SEQUENCE_FINAL = 0xFFFFFFFF
# A claim's input: no relative lock (bit 31 set) and replaceable (BIP 125), so a claim stuck at a
# low fee can be sent again at a higher one.
SEQUENCE_REPLACEABLE = 0xFFFFFFFD
TX_VERSION = 2  # BIP 68 relative locks apply only to version 2 txs


@dataclass(frozen=True, slots=True)
class Utxo:
    txid: str
    vout: int
    amount: int  # satoshi
    script_pubkey: bytes


def txid_of(tx: CTransaction) -> str:
    return str(b2lx(tx.GetTxid()))


def vsize_of(tx: CTransaction) -> int:
    return -(-int(tx.calc_weight()) // 4)


def _p2wpkh_script_code(pubkey: bytes) -> CScript:
    return CScript([OP_DUP, OP_HASH160, Hash160(pubkey), OP_EQUALVERIFY, OP_CHECKSIG])


def _sign(key: CKey, script_code: bytes, tx: CTransaction, index: int, amount: int) -> bytes:
    sighash = SignatureHash(
        CScript(script_code),
        tx,
        index,
        SIGHASH_ALL,
        amount=amount,
        sigversion=SIGVERSION_WITNESS_V0,
    )
    return bytes(key.sign(sighash)) + bytes([SIGHASH_ALL])


def _sign_payment(key: CKey, utxos: Sequence[Utxo], outputs: list[CTxOut]) -> CTransaction:
    vin = [CTxIn(COutPoint(lx(u.txid), u.vout), nSequence=SEQUENCE_FINAL) for u in utxos]
    unsigned = CMutableTransaction(vin, outputs, nLockTime=0, nVersion=TX_VERSION)
    script_code = _p2wpkh_script_code(bytes(key.pub))
    witnesses = [
        CTxInWitness(
            CScriptWitness([_sign(key, script_code, unsigned, i, u.amount), bytes(key.pub)])
        )
        for i, u in enumerate(utxos)
    ]
    return CTransaction(vin, outputs, 0, TX_VERSION, CTxWitness(witnesses))


def build_payment(
    key: CKey,
    utxos: Sequence[Utxo],
    script_pubkey: bytes,
    amount: int,
    change_script_pubkey: bytes,
    fee_rate: int,
) -> CTransaction:
    """Pay `amount` to `script_pubkey` from our P2WPKH `utxos` (spent in the given order, as few
    as cover amount + fee), change back to `change_script_pubkey`. Raises BtcFundsError."""
    # Verify the amount is a positive number of satoshi above dust
    if amount < DUST_LIMIT:
        raise BtcTermsError(f"amount must be at least {DUST_LIMIT} sat")
    chosen: list[Utxo] = []
    target = CTxOut(amount, CScript(script_pubkey))
    for utxo in utxos:
        chosen.append(utxo)
        total = sum(u.amount for u in chosen)
        if total < amount:
            continue
        probe = _sign_payment(key, chosen, [target, CTxOut(total, CScript(change_script_pubkey))])
        change = total - amount - fee_rate * (vsize_of(probe) + 1)
        if change >= DUST_LIMIT:
            return _sign_payment(
                key, chosen, [target, CTxOut(change, CScript(change_script_pubkey))]
            )
        # No change worth an output: what is left over goes to the fee, if it covers it
        alone = _sign_payment(key, chosen, [target])
        if total - amount >= fee_rate * (vsize_of(alone) + 1):
            return alone
    have = sum(u.amount for u in utxos)
    raise BtcFundsError(f"our outputs hold {have} sat; {amount} sat and the fee do not fit")


def _sign_htlc_spend(
    key: CKey,
    htlc: HtlcScript,
    txid: str,
    vout: int,
    amount: int,
    output: CTxOut,
    preimage: bytes | None,
) -> CTransaction:
    sequence = SEQUENCE_REPLACEABLE if preimage is not None else htlc.csv_blocks
    vin = [CTxIn(COutPoint(lx(txid), vout), nSequence=sequence)]
    unsigned = CMutableTransaction(vin, [output], nLockTime=0, nVersion=TX_VERSION)
    script = bytes(htlc.script)
    signature = _sign(key, script, unsigned, 0, amount)
    stack = (
        claim_witness(signature, preimage, script)
        if preimage is not None
        else refund_witness(signature, script)
    )
    witness = CTxWitness([CTxInWitness(CScriptWitness(stack))])
    return CTransaction(vin, [output], 0, TX_VERSION, witness)


def build_htlc_spend(
    key: CKey,
    htlc: HtlcScript,
    txid: str,
    vout: int,
    amount: int,
    destination_script_pubkey: bytes,
    fee_rate: int,
    preimage: bytes | None,
) -> CTransaction:
    """Spend the HTLC output txid:vout (holding `amount` sat) to `destination_script_pubkey`:
    a claim when `preimage` is given (IF branch), else a refund (ELSE branch, nSequence = the
    script's CSV timeout). The fee comes out of the output. Raises BtcFundsError when the fee
    leaves less than dust. No check of the preimage here: callers check it (a test builds
    refused spends on purpose)."""
    destination = CScript(destination_script_pubkey)
    probe = _sign_htlc_spend(key, htlc, txid, vout, amount, CTxOut(amount, destination), preimage)
    value = amount - fee_rate * (vsize_of(probe) + 1)
    if value < DUST_LIMIT:
        raise BtcFundsError(f"the fee at {fee_rate} sat/vB leaves {value} sat of {amount}")
    return _sign_htlc_spend(key, htlc, txid, vout, amount, CTxOut(value, destination), preimage)
