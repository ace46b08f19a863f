"""The check state kept across Commit (voxpop.chain.check_state): pending txs stay valid without
being run again, and a tx a block invalidated is evicted on RECHECK, never included and failed.

`Mempool` plays CometBFT's part: it keeps what CheckTx accepted, in order; after each block it
drops the included txs and rechecks the rest (RECHECK), dropping those that fail.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.chain.harness import CHAIN_ID, Chain, key, send_msg
from voxpop.chain.abci import CheckTxType, RequestCheckTx, RequestPrepareProposal
from voxpop.chain.app import VoxApp
from voxpop.chain.check_state import FEE_COLLECTOR_BALANCE
from voxpop.chain.errors import InsufficientFundsError, WrongSequenceError
from voxpop.chain.kv import Branch
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.tx import encode_tx, make_body, tx_hash

ALICE, BOB, CAROL, DAVE = key(1), key(2), key(3), key(4)
FEE = AuthParams().min_fee(200_000)  # the harness's default fee


@dataclass
class Mempool:
    app: VoxApp
    txs: list[bytes] = field(default_factory=list)
    evicted: dict[bytes, int] = field(default_factory=dict)  # tx -> code of its failed RECHECK

    def add(self, tx: bytes) -> int:
        code = self.app.check_tx(RequestCheckTx(tx)).code
        if code == 0:
            self.txs.append(tx)
        return code

    def after_block(self, included: list[bytes]) -> None:
        kept = []
        for tx in self.txs:
            if tx in included:
                continue
            code = self.app.check_tx(RequestCheckTx(tx, CheckTxType.RECHECK)).code
            if code == 0:
                kept.append(tx)
            else:
                self.evicted[tx] = code
        self.txs = kept


def commit_block(chain: Chain, pool: Mempool, txs: list[bytes]) -> list[int]:
    codes = [r.code for r in chain.block(txs)]
    pool.after_block(txs)
    return codes


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    balances = [(ALICE, 10_000_000), (BOB, 1_000), (CAROL, 5_000_000), (DAVE, 100)]
    c = Chain.start(tmp_path / "state", balances)
    yield c
    c.app.store.close()


def test_pending_txs_stay_valid_across_commit_without_running_again(chain: Chain) -> None:
    pool = Mempool(chain.app)
    txs = [chain.tx(ALICE, [send_msg(ALICE, BOB, 10)]) for _ in range(4)]
    assert [pool.add(tx) for tx in txs[:3]] == [0, 0, 0]
    before = {tx_hash(tx): chain.app._mempool[tx_hash(tx)] for tx in txs[1:3]}

    assert commit_block(chain, pool, txs[:1]) == [0]

    # The two still pending were carried over as they were (not run again) and pass RECHECK
    assert pool.txs == txs[1:3] and not pool.evicted
    assert all(chain.app._mempool[h] is pending for h, pending in before.items())
    # ... and the check state holds their effects: the next sequence is accepted, a reuse not
    assert pool.add(txs[3]) == 0
    reuse = chain.tx(ALICE, [send_msg(ALICE, BOB, 1)], sequence=2)
    assert pool.add(reuse) == WrongSequenceError.code
    assert commit_block(chain, pool, list(pool.txs)) == [0, 0, 0]
    assert chain.sequence(ALICE) == 4 and not pool.txs


def test_tx_whose_sequence_a_block_took_is_evicted_and_the_next_one_kept(chain: Chain) -> None:
    pool = Mempool(chain.app)
    mine = chain.tx(ALICE, [send_msg(ALICE, BOB, 10)], sequence=0)
    next_one = chain.tx(ALICE, [send_msg(ALICE, BOB, 20)], sequence=1)
    assert pool.add(mine) == 0 and pool.add(next_one) == 0
    # Another node's proposer includes a different tx with the same sequence
    theirs = chain.tx(ALICE, [send_msg(ALICE, CAROL, 30)], sequence=0)

    assert commit_block(chain, pool, [theirs]) == [0]

    assert pool.evicted == {mine: WrongSequenceError.code}
    assert pool.txs == [next_one]  # now the account's next sequence: valid, kept
    assert commit_block(chain, pool, list(pool.txs)) == [0]
    assert chain.balance(BOB) == 1_000 + 20


def test_tx_relying_on_an_evicted_txs_funds_is_evicted(chain: Chain) -> None:
    pool = Mempool(chain.app)
    # Bob can pay only with the 5,000 Alice's pending tx sends him
    funding = chain.tx(ALICE, [send_msg(ALICE, BOB, 5_000)], sequence=0)
    spending = chain.tx(BOB, [send_msg(BOB, DAVE, 5_000)])
    assert pool.add(funding) == 0 and pool.add(spending) == 0
    other = chain.tx(ALICE, [send_msg(ALICE, CAROL, 5_000)], sequence=0)

    assert commit_block(chain, pool, [other]) == [0]

    assert pool.evicted == {
        funding: WrongSequenceError.code,
        spending: InsufficientFundsError.code,
    }
    assert pool.txs == []
    # The check state no longer counts the evicted txs: Bob's sequence 0 is free again
    assert pool.add(chain.tx(BOB, [send_msg(BOB, DAVE, 100)], sequence=0)) == 0


def test_fee_granter_spent_by_a_block_evicts_the_tx_it_pays_for(chain: Chain) -> None:
    grant = {
        "granter": CAROL.public_key.address,
        "grantee": DAVE.public_key.address,
        "spend_limit": 0,
        "period_seconds": 0,
        "period_limit": 0,
        "expiration": 0,
        "allowed_msgs": [],
    }
    assert chain.deliver(chain.tx(CAROL, [("feegrant/Grant", grant)])).code == 0
    pool = Mempool(chain.app)
    body = make_body(
        chain_id=CHAIN_ID,
        pub_key=DAVE.public_key.raw,
        sequence=0,
        fee=FEE,
        gas_limit=200_000,
        msgs=[send_msg(DAVE, BOB, 1)],
        fee_granter=CAROL.public_key.address,
    )
    paid_by_carol = encode_tx(body, DAVE.sign(body.sign_bytes()))
    assert pool.add(paid_by_carol) == 0
    # Carol, with no tx pending here, spends everything in a block
    emptying = chain.tx(CAROL, [send_msg(CAROL, ALICE, chain.balance(CAROL) - FEE)])

    assert commit_block(chain, pool, [emptying]) == [0]

    assert pool.evicted == {paid_by_carol: InsufficientFundsError.code}


def test_tx_not_rechecked_after_commit_is_forgotten_by_the_next_new_tx(chain: Chain) -> None:
    """A tx CometBFT dropped (e.g. refused after CheckTx, its mempool full) is not rechecked
    after the next Commit (CometBFT rechecks its whole mempool before any new tx): the check
    state lets its sequence go, while a rechecked one keeps its own."""
    pool = Mempool(chain.app)
    lost = chain.tx(ALICE, [send_msg(ALICE, BOB, 10)], sequence=0)
    kept = chain.tx(CAROL, [send_msg(CAROL, BOB, 10)], sequence=0)
    assert chain.check(lost).code == 0  # accepted by the app, not by the mempool
    assert pool.add(kept) == 0
    commit_block(chain, pool, [])
    assert chain.check(chain.tx(ALICE, [send_msg(ALICE, BOB, 11)], sequence=0)).code == 0
    assert chain.check(chain.tx(CAROL, [send_msg(CAROL, BOB, 11)], sequence=0)).code == (
        WrongSequenceError.code
    )


def _rerun(app: VoxApp, txs: list[bytes]) -> tuple[list[int], dict[bytes, bytes | None]]:
    """The reset-and-recheck design: CheckTx of each tx again, in order, on committed state.
    Returns the codes and the resulting check state's writes."""
    saved = app._check, app._mempool, app._evicted
    app._check, app._mempool, app._evicted = Branch(app.committed), {}, {}
    try:
        codes = [app.check_tx(RequestCheckTx(tx)).code for tx in txs]
        return codes, _without_fee_collector(app._check)
    finally:
        app._check, app._mempool, app._evicted = saved


def _without_fee_collector(branch: Branch) -> dict[bytes, bytes | None]:
    return {k: v for k, v in branch.writes.items() if k != FEE_COLLECTOR_BALANCE}


@pytest.mark.parametrize("seed", range(6))
def test_rebased_check_state_is_every_pending_tx_run_again(tmp_path: Path, seed: int) -> None:
    """Random sends (some overspending) and random blocks, some of them from "another node"
    taking a sequence a pending tx holds here: the RECHECK verdicts and the check state are what
    running every pending tx again in order gives, and no tx a block takes from the mempool
    fails."""
    rng = random.Random(seed)
    keys = [key(10 + i) for i in range(5)]
    balances = [(k, rng.choice([3_000, 50_000, 1_000_000])) for k in keys]
    chain = Chain.start(tmp_path / "s", balances)
    pool = Mempool(chain.app)
    try:
        for _ in range(25):
            for _ in range(rng.randrange(1, 12)):
                sender, recipient = rng.sample(keys, 2)
                tx = chain.tx(sender, [send_msg(sender, recipient, rng.randrange(1, 30_000))])
                if pool.add(tx) != 0:
                    chain.sequences[sender.public_key.address] -= 1  # refused: number unused
            if rng.random() < 0.3:
                sender = rng.choice(keys)
                seq = chain.sequence(sender)
                block = [chain.tx(sender, [send_msg(sender, keys[0], 1)], sequence=seq)]
                chain.block(block)
            else:
                block = pool.txs[: rng.randrange(0, len(pool.txs) + 1)]
                assert [r.code for r in chain.block(block)] == [0] * len(block)
            remaining = [t for t in pool.txs if t not in block]
            expected_codes, expected_state = _rerun(chain.app, remaining)

            pool.after_block(block)

            assert [0 if t in pool.txs else pool.evicted[t] for t in remaining] == expected_codes
            assert _without_fee_collector(chain.app._check) == expected_state
            for sender in keys:  # the harness's next numbers follow what is pending
                raw = sender.public_key.raw
                pending = sum(
                    1 for t in pool.txs if chain.app._mempool[tx_hash(t)].tx.body.pub_key == raw
                )
                chain.sequences[sender.public_key.address] = chain.sequence(sender) + pending
    finally:
        chain.app.store.close()


def test_prepare_proposal_leaves_out_a_signers_txs_after_one_that_does_not_fit(
    chain: Chain,
) -> None:
    big = chain.tx(ALICE, [send_msg(ALICE, BOB, 1)], memo="x" * 1_000)
    small = chain.tx(ALICE, [send_msg(ALICE, BOB, 2)])
    other = chain.tx(CAROL, [send_msg(CAROL, BOB, 3)])
    limit = len(small) + len(other)
    assert len(big) > limit
    res = chain.app.prepare_proposal(
        RequestPrepareProposal(max_tx_bytes=limit, txs=(big, small, other), height=2, time_unix=0)
    )
    assert res.txs == (other,)
