"""The real state machine, driven in-process: genesis, signed txs, one block per simulated step.

`SimChain` is what a node does for the app (init_chain, finalize_block, commit), with a single
clock the simulation advances. Every tx is built, signed and run through the real modules; a
refused tx raises SimTxError (the model never sends a tx it expects to fail unless it says so).
It keeps the books the supply check needs: what genesis held and what the chain burned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxpop.chain.abci import (
    BlockIDFlag,
    CommitInfo,
    Event,
    ExecTxResult,
    RequestFinalizeBlock,
    RequestInitChain,
    Validator,
    ValidatorUpdate,
    VoteInfo,
)
from voxpop.chain.app import VoxApp
from voxpop.chain.modules.auth.state import read_params
from voxpop.chain.modules.bank.state import (
    BURNED_KEY,
    iter_balances,
    read_balance,
    read_supply,
    read_uint,
)
from voxpop.chain.modules.distribution.state import ISSUED_KEY
from voxpop.chain.modules.feemarket import state as feemarket
from voxpop.chain.modules.staking.state import consensus_address
from voxpop.chain.tx import decode_tx, encode_tx, make_body
from voxpop.crypto.keys import PrivateKey, verify_signature
from voxpop.node.blockstore import AUX_DBS
from voxpop.sim.errors import SimInvariantError, SimTxError
from voxpop.store import MerkleStore

CHAIN_ID = "voxpop-sim"
GENESIS_TIME = 1_799_971_200  # a day boundary (UTC midnight): grant epochs are days

Msg = tuple[str, dict[str, Any]]


@dataclass(slots=True)
class PendingTx:
    raw: bytes
    gas_limit: int
    fee: int
    payer: bytes
    kind: str  # the first message's type
    may_fail: bool = False


@dataclass
class BlockResult:
    height: int
    time: int
    results: list[ExecTxResult]
    events: list[Event]
    txs: list[PendingTx]


@dataclass
class SimChain:
    app: VoxApp
    genesis_supply: int
    validators: dict[bytes, int]  # consensus pub key -> power, as CometBFT holds it
    time: int = GENESIS_TIME
    sequences: dict[bytes, int] = field(default_factory=dict)
    burned: int = 0
    fees: int = 0
    gas_used: dict[str, int] = field(default_factory=dict)  # the most a tx of each kind used
    # CometBFT's validator set by height: updates returned by block H apply from H+2
    _valsets: dict[int, dict[bytes, int]] = field(default_factory=dict)
    # Signatures are verified as the txs are made, on a second thread (as a solo node's
    # pre-verifier does: PyNaCl releases the GIL), so the block finds them in the app's tx cache.
    # Per tx: (raw, public key, signed bytes, signature, whether it verifies).
    _verifier: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="sim-preverify")
    )
    _verifying: list[tuple[bytes, bytes, bytes, bytes, Future[bool]]] = field(default_factory=list)
    _fees_at: int = -1
    _fee_cache: dict[int, int] = field(default_factory=dict)

    @classmethod
    def start(
        cls, path: Path, app_state: dict[str, Any], validator_keys: Sequence[bytes]
    ) -> SimChain:
        """A new chain in `path` from `app_state`; nothing is committed until the first block."""
        store = MerkleStore(path, aux_dbs=AUX_DBS, keep_versions=2)
        app = VoxApp(store)
        res = app.init_chain(
            RequestInitChain(
                time_unix=GENESIS_TIME,
                chain_id=CHAIN_ID,
                app_state_bytes=json.dumps(app_state).encode(),
                validators=tuple(ValidatorUpdate(pk, 1) for pk in validator_keys),
            )
        )
        initial = {u.pub_key_ed25519: u.power for u in res.validators}
        supply = sum(int(b["amount"]) for b in app_state["bank"]["balances"])
        chain = cls(app, supply, initial)
        chain._valsets = {1: dict(initial), 2: dict(initial)}
        return chain

    def close(self) -> None:
        self._verifier.shutdown()
        self.app.store.close()

    # --- txs -------------------------------------------------------------------------------------

    def fee_for(self, gas_limit: int) -> int:
        """The fee a tx declaring `gas_limit` must pay in the next block: the minimum gas price's,
        or the fee market's base charge when that is more (no tip: the model's txs are not in a
        hurry)."""
        height = self.app.last_height
        if self._fees_at != height:
            # Fees depend on committed state only: computed once per gas limit per block
            self._fees_at = height
            self._fee_cache.clear()
        fee = self._fee_cache.get(gas_limit)
        if fee is None:
            state = self.app.committed if height else self.app._state()
            fee = max(read_params(state).min_fee(gas_limit), base_charge(state, gas_limit))
            self._fee_cache[gas_limit] = fee
        return fee

    def tx(
        self, signer: PrivateKey, msgs: Sequence[Msg], gas_limit: int, *, free: bool = False
    ) -> PendingTx:
        """A signed tx of `msgs` at the signer's next sequence; `free`: a fee-exempt grant claim."""
        address = signer.public_key.address
        seq = self.sequences.get(address, 0)
        fee = 0 if free else self.fee_for(gas_limit)
        body = make_body(
            chain_id=CHAIN_ID,
            pub_key=signer.public_key.raw,
            sequence=seq,
            fee=fee,
            gas_limit=gas_limit,
            msgs=msgs,
        )
        self.sequences[address] = seq + 1
        sign_bytes = body.sign_bytes()
        signature = signer.sign(sign_bytes)
        raw = encode_tx(body, signature)
        pub = signer.public_key.raw
        verifies = self._verifier.submit(verify_signature, pub, sign_bytes, signature)
        self._verifying.append((raw, pub, sign_bytes, signature, verifies))
        return PendingTx(raw, gas_limit, fee, address, msgs[0][0])

    # --- blocks ----------------------------------------------------------------------------------

    @property
    def height(self) -> int:
        return self.app.last_height

    def block(self, txs: Sequence[PendingTx], advance: int) -> BlockResult:
        """Finalize and commit the next block `advance` seconds later, holding `txs` in order.

        Raises SimTxError if a tx not marked `may_fail` fails.
        """
        self.time += advance
        height = self.app.last_height + 1
        self._cache_verified()
        signers = self._valsets.get(height - 1, {}) if height > 1 else {}
        votes = tuple(
            VoteInfo(Validator(consensus_address(pk), power), BlockIDFlag.COMMIT)
            for pk, power in sorted(signers.items())
        )
        # The validators propose in turn (the fee market pays tips to the proposer)
        keys = sorted(self._valsets.get(height, self.validators))
        res = self.app.finalize_block(
            RequestFinalizeBlock(
                tuple(t.raw for t in txs),
                height,
                self.time,
                proposer_address=consensus_address(keys[height % len(keys)]) if keys else b"",
                decided_last_commit=CommitInfo(votes=votes),
            )
        )
        self.app.commit()
        following = dict(self._valsets.get(height + 1, self.validators))
        for update in res.validator_updates:
            if update.power:
                following[update.pub_key_ed25519] = update.power
            else:
                following.pop(update.pub_key_ed25519, None)
        self._valsets[height + 2] = following
        self._valsets.pop(height - 2, None)
        results = list(res.tx_results)
        for pending, result in zip(txs, results, strict=True):
            # Verify every tx the model sent was accepted (or was allowed to fail)
            if result.code != 0 and not pending.may_fail:
                raise SimTxError(
                    f"block {height}: {pending.kind} refused: [{result.code}] {result.log}"
                )
            if result.code == 0 or result.gas_used:
                self.fees += pending.fee
                self.gas_used[pending.kind] = max(
                    self.gas_used.get(pending.kind, 0), result.gas_used
                )
            self.burned += _burned(result.events)
        self.burned += _burned(res.events)
        return BlockResult(height, self.time, results, list(res.events), list(txs))

    def _cache_verified(self) -> None:
        """Put the txs made since the last block whose signatures verified into the app's tx
        cache, decoded, as VoxApp.preverify does; only the verifying ran on the second thread
        (decoding needs the GIL: here it replaces the block's own decoding)."""
        cache = self.app.tx_cache
        for raw, pub, sign_bytes, signature, verifies in self._verifying:
            if not verifies.result():
                continue
            try:
                tx = decode_tx(raw)
            except Exception:  # the block decodes it again and answers with the error
                continue
            # Verify the decoded tx is the one verified: its key, signed bytes and signature
            if (tx.body.pub_key, tx.sign_bytes, tx.signature) == (pub, sign_bytes, signature):
                cache.put(tx)
        self._verifying.clear()

    # --- the books -------------------------------------------------------------------------------

    def balance(self, address: bytes) -> int:
        return read_balance(self.app.committed, address)

    def issued(self) -> int:
        raw = self.app.committed.get(ISSUED_KEY)
        return int.from_bytes(raw, "big") if raw else 0

    def supply(self) -> int:
        return read_supply(self.app.committed)

    def check_supply(self, *, full: bool) -> None:
        """genesis + issued - burned = supply, and (`full`) = the sum of every balance, module
        accounts included. Raises SimInvariantError."""
        expected = self.genesis_supply + self.issued() - self.burned
        supply = self.supply()
        if supply != expected:
            raise SimInvariantError(
                f"height {self.height}: supply {supply} != genesis {self.genesis_supply} + "
                f"issued {self.issued()} - burned {self.burned} = {expected}"
            )
        # Verify the burns the model saw (burn events) are the bank's own count
        counted = read_uint(self.app.committed, BURNED_KEY)
        if counted != self.burned:
            raise SimInvariantError(
                f"height {self.height}: burn events add up to {self.burned}, bank/burned {counted}"
            )
        if full:
            total = sum(n for _, n in iter_balances(self.app.committed))
            if total != expected:
                raise SimInvariantError(
                    f"height {self.height}: balances sum to {total}, expected {expected}"
                )


def base_charge(state: Any, gas_limit: int) -> int:
    """The fee market's least fee for `gas_limit` at the base price the next block charges."""
    return feemarket.quote(state, gas_limit).base_charge


def _burned(events: Sequence[Event]) -> int:
    total = 0
    for event in events:
        if event.type == "burn":
            for attr in event.attributes:
                if attr.key == "amount":
                    total += int(attr.value)
    return total
