"""One shared helper for state-transition tests: a real app over a real store in a temp dir.

Tests build txs with real keys, run them through check_tx and blocks exactly as a node would, and
look at state through the same queries clients use.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxpop.chain.abci import (
    BlockIDFlag,
    CommitInfo,
    Event,
    ExecTxResult,
    Misbehavior,
    RequestCheckTx,
    RequestFinalizeBlock,
    RequestInitChain,
    RequestQuery,
    ResponseCheckTx,
    Validator,
    ValidatorUpdate,
    VoteInfo,
)
from voxpop.chain.app import VoxApp, check_invariants
from voxpop.chain.encoding import decode_canonical, decode_uint
from voxpop.chain.genesis import default_app_state
from voxpop.chain.module import Module
from voxpop.chain.module_accounts import module_address
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.staking.state import consensus_address
from voxpop.chain.tx import encode_tx, make_body
from voxpop.crypto.keys import PrivateKey
from voxpop.node.blockstore import AUX_DBS
from voxpop.store import MerkleStore

CHAIN_ID = "voxpop-test"
GENESIS_TIME = 1_800_000_000
VALIDATOR = PrivateKey(bytes(range(32)))


def key(n: int) -> PrivateKey:
    return PrivateKey(n.to_bytes(32, "big"))


@dataclass
class Chain:
    path: Path
    app: VoxApp
    time: int = GENESIS_TIME
    sequences: dict[bytes, int] = field(default_factory=dict)
    # CometBFT's validator set (pub key -> power) by height: updates returned by block H apply
    # from H+2; the last commit of block H is signed by the set of H-1
    valsets: dict[int, dict[bytes, int]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)  # begin/end-block events of the last block
    updates: list[ValidatorUpdate] = field(default_factory=list)  # of the last block

    @classmethod
    def start(
        cls,
        path: Path,
        balances: Sequence[tuple[PrivateKey | bytes, int]] = (),
        *,
        app_state: dict[str, Any] | None = None,
        registrars: list[tuple[bytes, str]] | None = None,
        modules: Sequence[Module] | None = None,
    ) -> Chain:
        store = MerkleStore(path, aux_dbs=AUX_DBS, keep_versions=100)
        app = VoxApp(store, modules)
        raw = [(k.public_key.address if isinstance(k, PrivateKey) else k, n) for k, n in balances]
        state = app_state or default_app_state(raw, registrars=registrars)
        res = app.init_chain(
            RequestInitChain(
                time_unix=GENESIS_TIME,
                chain_id=CHAIN_ID,
                app_state_bytes=json.dumps(state).encode(),
                validators=(ValidatorUpdate(VALIDATOR.public_key.raw, 10),),
            )
        )
        initial = {u.pub_key_ed25519: u.power for u in res.validators}
        chain = cls(path, app, valsets={1: initial, 2: dict(initial)})
        chain.block([])  # commit genesis with the first block
        return chain

    def reopen(self) -> Chain:
        self.app.store.close()
        store = MerkleStore(self.path, aux_dbs=AUX_DBS, keep_versions=100)
        return Chain(
            self.path,
            VoxApp(store, self.app.modules),
            self.time,
            dict(self.sequences),
            self.valsets,
        )

    # --- txs -------------------------------------------------------------------------------------

    def tx(
        self,
        signer: PrivateKey,
        msgs: Sequence[tuple[str, dict[str, Any]]],
        *,
        fee: int | None = None,
        gas_limit: int | None = None,
        sequence: int | None = None,
        chain_id: str = CHAIN_ID,
        memo: str = "",
        timeout_height: int = 0,
    ) -> bytes:
        address = signer.public_key.address
        seq = self.sequences.get(address, 0) if sequence is None else sequence
        if gas_limit is None:  # a free tx (fee=0, a grant claim) may declare little gas
            gas_limit = 50_000 if fee == 0 else 200_000
        body = make_body(
            chain_id=chain_id,
            pub_key=signer.public_key.raw,
            sequence=seq,
            fee=AuthParams().min_fee(gas_limit) if fee is None else fee,
            gas_limit=gas_limit,
            msgs=msgs,
            memo=memo,
            timeout_height=timeout_height,
        )
        if sequence is None:
            self.sequences[address] = seq + 1
        return encode_tx(body, signer.sign(body.sign_bytes()))

    def check(self, tx: bytes) -> ResponseCheckTx:
        return self.app.check_tx(RequestCheckTx(tx))

    def votes(self, height: int, absent: Collection[bytes] = ()) -> CommitInfo:
        """The last commit of block `height`: every validator of height-1 signs, except the
        consensus addresses in `absent`."""
        signers = self.valsets.get(height - 1, {})
        return CommitInfo(
            votes=tuple(
                VoteInfo(
                    Validator(consensus_address(pk), power),
                    BlockIDFlag.ABSENT if consensus_address(pk) in absent else BlockIDFlag.COMMIT,
                )
                for pk, power in sorted(signers.items())
            )
        )

    def block(
        self,
        txs: Sequence[bytes],
        *,
        advance: int = 5,
        last_commit: CommitInfo | None = None,
        absent: Collection[bytes] = (),
        misbehavior: Sequence[Misbehavior] = (),
    ) -> list[ExecTxResult]:
        self.time += advance
        height = self.app.last_height + 1
        commit = last_commit if last_commit is not None else self.votes(height, absent)
        res = self.app.finalize_block(
            RequestFinalizeBlock(
                tuple(txs),
                height,
                self.time,
                decided_last_commit=commit,
                misbehavior=tuple(misbehavior),
            )
        )
        self.app.commit()
        self.events = list(res.events)
        self.updates = list(res.validator_updates)
        following = dict(self.valsets.get(height + 1, {}))
        for update in res.validator_updates:
            if update.power:
                following[update.pub_key_ed25519] = update.power
            else:
                following.pop(update.pub_key_ed25519, None)
        self.valsets[height + 2] = following
        assert check_invariants(self.app) == []
        return list(res.tx_results)

    def deliver(self, tx: bytes) -> ExecTxResult:
        return self.block([tx])[0]

    # --- state -----------------------------------------------------------------------------------

    def query(self, path: str, data: bytes = b"", height: int = 0) -> bytes:
        res = self.app.query(RequestQuery(path, data, height))
        assert res.code == 0, res.log
        return res.value

    def balance(self, who: PrivateKey | bytes) -> int:
        address = who.public_key.address if isinstance(who, PrivateKey) else who
        raw = self.query("/bank/balance", address)
        return decode_uint(raw) if raw else 0

    def supply(self) -> int:
        return decode_uint(self.query("/bank/supply"))

    def sequence(self, who: PrivateKey) -> int:
        raw = self.query("/auth/account", who.public_key.address)
        return int(decode_canonical(raw)[0]) if raw else 0

    def fee_pool(self) -> int:
        return self.balance(module_address("fee_collector"))

    def snapshot(self) -> dict[bytes, bytes]:
        return dict(self.app.committed.iterate(b""))


def send_msg(
    sender: PrivateKey | bytes, recipient: PrivateKey | bytes, amount: Any
) -> tuple[str, dict[str, Any]]:
    s = sender.public_key.address if isinstance(sender, PrivateKey) else sender
    r = recipient.public_key.address if isinstance(recipient, PrivateKey) else recipient
    return "bank/Send", {"from": s, "to": r, "amount": amount}
