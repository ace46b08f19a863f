"""The Bitcoin leg of a swap: an HTLC in a P2WSH output (voxpop.swap.btc_script), on a btcd node
run with --txindex and --addrindex, signed here with our own key (no wallet daemon).

Addresses in LockTerms are compressed public keys (hex), since the script names keys; claims and
refunds pay our P2WPKH address. The timeout is a relative lock in blocks (CSV) counted from the
block that confirms the lock.

A lock's reference is "txid:vout:script" (the witness script, hex). A P2WSH output shows only
the script's hash until it is spent, so the reference carries the script: claim and refund need
nothing else, and a restarted tool resumes from the reference alone.

The swap tool builds the leg from its config's [btc] section with `open_btc_leg` (keys listed
there).

Fees: a fixed rate in whole sat/vB, the `fee_rate` given, else the node's estimate for 6 blocks at
start, else DEFAULT_FEE_RATE. The lock's fee is paid on top of the amount; a claim's or refund's
comes out of the locked output (the recipient receives amount - claim fee).
"""

from __future__ import annotations

import binascii
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bitcoin.core import CTransaction
from bitcoin.wallet import CKey

from voxpop.swap.btc_errors import (
    BtcAlreadySpentError,
    BtcLockNotFoundError,
    BtcNotRefundableError,
    BtcTermsError,
)
from voxpop.swap.btc_rpc import BtcRpc
from voxpop.swap.btc_script import (
    MAX_CSV_BLOCKS,
    HtlcScript,
    parse_htlc_script,
    preimage_from_witness,
)
from voxpop.swap.btc_timing import least_seconds, most_seconds
from voxpop.swap.btc_tx import build_htlc_spend
from voxpop.swap.btc_wallet import BtcWallet, Outputs, Spends, decode_tx, outputs_and_spends
from voxpop.swap.legs import (
    LegStatus,
    LockRef,
    LockState,
    LockTerms,
    TermsMismatchError,
    TimeoutKind,
    check_preimage,
)

DEFAULT_FEE_RATE = 2  # sat/vB when neither the caller nor the node gives one
FEE_ESTIMATE_BLOCKS = 6
BLOCK_SECONDS = 600  # Bitcoin's target block interval
CONFIRMATIONS = 6  # the usual depth past which a Bitcoin reorg is not expected


@dataclass(frozen=True, slots=True)
class BtcLockRef:
    txid: str
    vout: int
    htlc: HtlcScript

    def __str__(self) -> str:
        return f"{self.txid}:{self.vout}:{bytes(self.htlc.script).hex()}"

    @classmethod
    def parse(cls, ref: LockRef) -> BtcLockRef:
        """Raises BtcTermsError for anything but "txid:vout:script"."""
        parts = ref.split(":")
        try:
            txid, vout, script = parts[0], int(parts[1]), bytes.fromhex(parts[2])
            bytes.fromhex(txid)
        except (IndexError, ValueError) as e:
            raise BtcTermsError(f"not a Bitcoin lock reference (txid:vout:script): {ref!r}") from e
        if len(parts) != 3 or len(txid) != 64 or vout < 0:
            raise BtcTermsError(f"not a Bitcoin lock reference (txid:vout:script): {ref!r}")
        return cls(txid.lower(), vout, parse_htlc_script(script))


def _pubkey(text: str, name: str) -> bytes:
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, ValueError) as e:
        raise BtcTermsError(f"{name} must be a compressed public key in hex") from e


class BtcLeg:
    """SWAP's `Leg` for Bitcoin. `secret` is our 32-byte private key."""

    def __init__(
        self,
        rpc: BtcRpc,
        secret: bytes,
        *,
        network: str = "regtest",
        fee_rate: int | None = None,
        block_seconds: int = BLOCK_SECONDS,
        confirmations_needed: int = CONFIRMATIONS,
        steady_blocks: bool = False,
    ) -> None:
        if len(secret) != 32:
            raise BtcTermsError("the Bitcoin key must be 32 bytes")
        self.rpc = rpc
        self.network = network
        self.wallet = BtcWallet(rpc, CKey(secret), network)
        self.block_seconds = block_seconds
        self.steady_blocks = steady_blocks
        self._confirmations_needed = confirmations_needed
        if fee_rate is None:
            fee_rate = rpc.fee_rate_estimate(FEE_ESTIMATE_BLOCKS) or DEFAULT_FEE_RATE
        if fee_rate <= 0:
            raise BtcTermsError("fee_rate must be a positive number of sat/vB")
        self.fee_rate = fee_rate

    @property
    def asset(self) -> str:
        return "BTC"

    @property
    def timeout_kind(self) -> TimeoutKind:
        return TimeoutKind.RELATIVE_BLOCKS

    @property
    def confirmations_needed(self) -> int:
        return self._confirmations_needed

    def address(self) -> str:
        return self.wallet.pubkey.hex()

    def timeout_after(self, seconds: int) -> int:
        blocks = max(1, -(-seconds // self.block_seconds))
        if blocks > MAX_CSV_BLOCKS:
            raise BtcTermsError(f"{seconds} s is more than {MAX_CSV_BLOCKS} blocks")
        return blocks

    def seconds_for(self, blocks: int) -> int:
        """The time `blocks` blocks take, pessimistically: a lower bound that holds but for one
        run of blocks in a thousand (voxpop.swap.btc_timing), since every use of seconds_left
        asks whether enough time is left. With steady_blocks (a regtest miner on a timer),
        blocks x block_seconds."""
        if self.steady_blocks:
            return blocks * self.block_seconds
        return least_seconds(blocks, self.block_seconds)

    def longest_seconds(self, blocks: int) -> int:
        """How long a lock of `blocks` CSV blocks may last, but for one run in a thousand (with
        steady_blocks: blocks x block_seconds). A taker locking BTC second should want the VOX
        lock to outlast this plus its margin: the offerer can claim BTC until then."""
        if self.steady_blocks:
            return blocks * self.block_seconds
        return most_seconds(blocks, self.block_seconds)

    def htlc_of(self, terms: LockTerms) -> HtlcScript:
        return HtlcScript(
            terms.hashlock,
            _pubkey(terms.recipient, "recipient"),
            _pubkey(terms.refund_address, "refund_address"),
            terms.timeout,
        )

    def lock(self, terms: LockTerms) -> LockRef:
        """Fund the HTLC output. Idempotent: when an output of this amount already pays this
        script (a lock sent before a crash), its reference is returned and nothing is sent."""
        htlc = self.htlc_of(terms)
        # Verify we are the sender: the refund key is ours
        if htlc.sender != self.wallet.pubkey:
            raise BtcTermsError("refund_address must be our public key (BtcLeg.address())")
        for (txid, vout), (amount, _) in self._outputs(htlc)[0].items():
            if amount == terms.amount:
                return str(BtcLockRef(txid, vout, htlc))
        txid, vout = self.wallet.pay(bytes(htlc.script_pubkey), terms.amount, self.fee_rate)
        return str(BtcLockRef(txid, vout, htlc))

    def find_lock(self, terms: LockTerms) -> LockRef | None:
        htlc = self.htlc_of(terms)
        # Verify the lock would pay us
        if htlc.recipient != self.wallet.pubkey:
            raise BtcTermsError("recipient must be our public key (BtcLeg.address())")
        outputs = self._outputs(htlc)[0]
        for (txid, vout), (amount, _) in sorted(outputs.items()):
            if amount == terms.amount:
                return str(BtcLockRef(txid, vout, htlc))
        if outputs:
            amounts = sorted(amount for amount, _ in outputs.values())
            raise TermsMismatchError(
                f"the HTLC address holds {amounts} sat, not the {terms.amount} sat agreed"
            )
        return None

    def status(self, ref: LockRef) -> LegStatus:
        lock = BtcLockRef.parse(ref)
        entry = self.rpc.raw_transaction(lock.txid)
        if entry is None:
            return LegStatus(LockState.PENDING)
        tx = decode_tx(entry)
        # Verify the reference's output pays the reference's script
        if lock.vout >= len(tx.vout) or bytes(tx.vout[lock.vout].scriptPubKey) != bytes(
            lock.htlc.script_pubkey
        ):
            raise BtcLockNotFoundError(f"{lock.txid}:{lock.vout} does not pay this HTLC")
        amount = int(tx.vout[lock.vout].nValue)
        confirmations = int(entry.get("confirmations") or 0)
        deadline = 0
        seconds_left = None
        if confirmations > 0:
            tip = self.rpc.block_count()
            deadline = self.rpc.block_height(str(entry["blockhash"])) + lock.htlc.csv_blocks
            # A refund may go into block `deadline`, the next block once the tip is deadline - 1
            seconds_left = self.seconds_for(max(0, deadline - tip - 1))
        state = LockState.LOCKED if confirmations > 0 else LockState.PENDING
        preimage = None
        spender = self._spender(lock)
        if spender is not None:
            witness = [
                bytes(item)
                for item in spender.wit.vtxinwit[self._input_of(spender, lock)].scriptWitness.stack
            ]
            preimage = preimage_from_witness(witness, lock.htlc)
            state = LockState.CLAIMED if preimage is not None else LockState.REFUNDED
        return LegStatus(state, confirmations, preimage, deadline, seconds_left, amount)

    def claim(self, ref: LockRef, preimage: bytes) -> str:
        lock = BtcLockRef.parse(ref)
        # Verify the preimage opens this lock and the lock pays us
        check_preimage(preimage, lock.htlc.hashlock)
        if lock.htlc.recipient != self.wallet.pubkey:
            raise BtcTermsError("this lock pays another key")
        return self._spend(lock, preimage)

    def refund(self, ref: LockRef) -> str:
        lock = BtcLockRef.parse(ref)
        # Verify the lock is ours and its CSV timeout has passed
        if lock.htlc.sender != self.wallet.pubkey:
            raise BtcTermsError("this lock refunds another key")
        if not self.can_refund(ref):
            raise BtcNotRefundableError(
                f"the refund needs {lock.htlc.csv_blocks} confirmations of the lock first"
            )
        return self._spend(lock, None)

    def can_refund(self, ref: LockRef) -> bool:
        status = self.status(ref)
        if status.state is not LockState.LOCKED:
            return False
        return self.rpc.block_count() + 1 >= status.deadline

    def _outputs(self, htlc: HtlcScript) -> tuple[Outputs, Spends]:
        """The outputs paying `htlc`'s address and the txs spending them (confirmed and in the
        mempool)."""
        entries = self.rpc.address_transactions(htlc.address(self.network))
        return outputs_and_spends(entries, bytes(htlc.script_pubkey))

    def _spender(self, lock: BtcLockRef) -> CTransaction | None:
        return self._outputs(lock.htlc)[1].get((lock.txid, lock.vout))

    @staticmethod
    def _input_of(tx: CTransaction, lock: BtcLockRef) -> int:
        for i, txin in enumerate(tx.vin):
            if txin.prevout.n == lock.vout and txin.prevout.hash[::-1].hex() == lock.txid:
                return i
        raise BtcLockNotFoundError("the spending tx does not spend this lock")

    def _spend(self, lock: BtcLockRef, preimage: bytes | None) -> str:
        status = self.status(lock_ref := str(lock))
        if status.state in (LockState.CLAIMED, LockState.REFUNDED):
            raise BtcAlreadySpentError(f"{lock_ref[:66]} was already {status.state.value}")
        if status.amount == 0:
            raise BtcLockNotFoundError(f"no lock {lock.txid}:{lock.vout} on the chain")
        tx = build_htlc_spend(
            self.wallet.key,
            lock.htlc,
            lock.txid,
            lock.vout,
            status.amount,
            self.wallet.script_pubkey,
            self.fee_rate,
            preimage,
        )
        return self.rpc.send_raw_transaction(tx.serialize().hex())


CONFIG_KEYS = (
    "rpc_url",
    "rpc_user",
    "rpc_password",
    "key_file",
    "network",
    "fee_rate",
    "block_seconds",
    "confirmations",
    "steady_blocks",
)


def load_or_create_key(path: Path) -> bytes:
    """Our 32-byte Bitcoin key, hex in `path`; a new random one (file mode 0600) if absent."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_bytes(32).hex() + "\n")
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError as e:
        raise BtcTermsError(f"{path}: not a hex key") from e
    if len(key) != 32:
        raise BtcTermsError(f"{path}: the key must be 32 bytes of hex")
    return key


def open_btc_leg(config: Mapping[str, str]) -> BtcLeg:
    """The leg the swap tool's [btc] section describes:

    rpc_url, rpc_user, rpc_password   the btcd node (run with --txindex --addrindex)
    key_file        our key, hex; created (0600) when absent
    network         regtest (default), simnet, testnet, signet or mainnet
    fee_rate        sat/vB (default: the node's estimate, else DEFAULT_FEE_RATE)
    block_seconds   the block time the timeouts are converted with (default 600)
    confirmations   confirmations a counterparty's lock needs (default 6)
    steady_blocks   "true" on a regtest chain mined on a timer: time left is blocks x
                    block_seconds, not the pessimistic Poisson bound (default false)

    Raises BtcTermsError for an unknown key or a value that is not a number."""
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        raise BtcTermsError(f"unknown [btc] settings {unknown}; known: {list(CONFIG_KEYS)}")
    for required in ("rpc_url", "rpc_user", "rpc_password", "key_file"):
        if not config.get(required):
            raise BtcTermsError(f"[btc] needs {required}")

    def number(name: str) -> int | None:
        value = config.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError as e:
            raise BtcTermsError(f"[btc] {name} must be a whole number, not {value!r}") from e

    steady_text = (config.get("steady_blocks") or "false").lower()
    if steady_text not in ("true", "false"):
        raise BtcTermsError(f"[btc] steady_blocks must be true or false, not {steady_text!r}")
    steady = steady_text == "true"
    rpc = BtcRpc(config["rpc_url"], config["rpc_user"], config["rpc_password"])
    return BtcLeg(
        rpc,
        load_or_create_key(Path(config["key_file"]).expanduser()),
        network=config.get("network") or "regtest",
        fee_rate=number("fee_rate"),
        block_seconds=number("block_seconds") or BLOCK_SECONDS,
        confirmations_needed=number("confirmations") or CONFIRMATIONS,
        steady_blocks=steady,
    )
