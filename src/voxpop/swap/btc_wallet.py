"""Our Bitcoin key's coins, found through the node's address index: no wallet daemon.

The outputs paying our P2WPKH address, minus those any tx spends, over every tx the index lists
for the address, confirmed and in the mempool (btcd's `gettxout` does not see mempool spends, so
the spends are matched here). Coinbase outputs count once they are mature (100 confirmations).
"""

from __future__ import annotations

from typing import Any

from bitcoin.core import CTransaction, b2lx, x
from bitcoin.wallet import CKey

from voxpop.swap.btc_rpc import BtcRpc
from voxpop.swap.btc_script import p2wpkh_script_pubkey, segwit_address
from voxpop.swap.btc_tx import Utxo, build_payment, txid_of

COINBASE_MATURITY = 100

Outpoint = tuple[str, int]
Outputs = dict[Outpoint, tuple[int, dict[str, Any]]]  # amount (sat), the funding tx's entry
Spends = dict[Outpoint, CTransaction]  # the tx spending each outpoint


def decode_tx(entry: dict[str, Any]) -> CTransaction:
    """The tx of a verbose getrawtransaction / searchrawtransactions entry (from its hex)."""
    return CTransaction.deserialize(x(str(entry["hex"])))


def outputs_and_spends(
    entries: list[dict[str, Any]], script_pubkey: bytes
) -> tuple[Outputs, Spends]:
    """Among `entries` (one address's txs): the outputs paying `script_pubkey` by outpoint (amount,
    the funding entry), and the txs spending any outpoint, by that outpoint."""
    outputs: Outputs = {}
    spends: Spends = {}
    for entry in entries:
        tx = decode_tx(entry)
        txid = txid_of(tx)
        for n, out in enumerate(tx.vout):
            if bytes(out.scriptPubKey) == script_pubkey:
                outputs[(txid, n)] = (int(out.nValue), entry)
        if not tx.is_coinbase():
            for txin in tx.vin:
                spends[(str(b2lx(txin.prevout.hash)), int(txin.prevout.n))] = tx
    return outputs, spends


class BtcWallet:
    def __init__(self, rpc: BtcRpc, key: CKey, network: str) -> None:
        self.rpc = rpc
        self.key = key
        self.pubkey = bytes(key.pub)
        self.script_pubkey = bytes(p2wpkh_script_pubkey(self.pubkey))
        self.address = segwit_address(self.script_pubkey, network)

    def utxos(self) -> list[Utxo]:
        """Our spendable outputs, largest first."""
        outputs, spends = outputs_and_spends(
            self.rpc.address_transactions(self.address), self.script_pubkey
        )
        found = []
        for (txid, n), (amount, entry) in outputs.items():
            if (txid, n) in spends:
                continue
            coinbase = "coinbase" in (entry.get("vin") or [{}])[0]
            if coinbase and int(entry.get("confirmations", 0)) < COINBASE_MATURITY:
                continue
            found.append(Utxo(txid, n, amount, self.script_pubkey))
        return sorted(found, key=lambda u: (-u.amount, u.txid, u.vout))

    def balance(self) -> int:
        return sum(u.amount for u in self.utxos())

    def pay(self, script_pubkey: bytes, amount: int, fee_rate: int) -> tuple[str, int]:
        """Send `amount` sat to `script_pubkey`; the txid and the output's index. Raises
        BtcFundsError, BtcRpcError (the node refused the tx)."""
        tx = build_payment(
            self.key, self.utxos(), script_pubkey, amount, self.script_pubkey, fee_rate
        )
        txid = self.rpc.send_raw_transaction(tx.serialize().hex())
        return txid, 0
