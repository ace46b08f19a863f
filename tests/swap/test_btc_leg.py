"""The Bitcoin leg against a real btcd in regtest: lock, claim, refund after the CSV timeout only,
refused preimages, the watcher reading the secret from the claim's witness. One node per module;
each test has its own keys and secret."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from bitcoin.wallet import CKey

from tests.swap.btc_node import BtcNode, btcd_binary
from voxpop.swap.btc import BtcLeg, BtcLockRef, open_btc_leg
from voxpop.swap.btc_errors import (
    BtcAlreadySpentError,
    BtcNotRefundableError,
    BtcRpcError,
    BtcTermsError,
)
from voxpop.swap.btc_rpc import BtcRpc
from voxpop.swap.btc_script import HtlcScript
from voxpop.swap.btc_tx import build_htlc_spend
from voxpop.swap.legs import (
    Leg,
    LockState,
    LockTerms,
    TermsMismatchError,
    TimeoutKind,
    WrongPreimageError,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        btcd_binary() is None, reason="btcd not installed (scripts/install_btcd.sh)"
    ),
]

FUNDS = 10_000_000  # sat each party starts with
AMOUNT = 1_000_000


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BtcNode]:
    btcd = BtcNode.start(tmp_path_factory.mktemp("btcd"))
    try:
        btcd.mine(101)  # the first coinbase matures
        yield btcd
    finally:
        btcd.stop()


@pytest.fixture(scope="module")
def rpc(node: BtcNode) -> Iterator[BtcRpc]:
    with node.rpc() as client:
        yield client


@dataclass
class Swap:
    alice: BtcLeg  # locks (sender)
    bob: BtcLeg  # claims (recipient)
    secret: bytes
    terms: LockTerms


def new_leg(node: BtcNode, rpc: BtcRpc) -> BtcLeg:
    key = secrets.token_bytes(32)
    node.fund(bytes(CKey(key).pub), FUNDS)
    return BtcLeg(rpc, key, fee_rate=2, block_seconds=1, confirmations_needed=1)


@pytest.fixture
def swap(node: BtcNode, rpc: BtcRpc) -> Swap:
    alice, bob = new_leg(node, rpc), new_leg(node, rpc)
    secret = secrets.token_bytes(32)
    terms = LockTerms(
        hashlock=hashlib.sha256(secret).digest(),
        amount=AMOUNT,
        recipient=bob.address(),
        refund_address=alice.address(),
        timeout=5,
    )
    return Swap(alice, bob, secret, terms)


def test_lock_claim_and_watch(node: BtcNode, swap: Swap) -> None:
    assert swap.bob.find_lock(swap.terms) is None
    ref = swap.alice.lock(swap.terms)
    # a second lock of the same terms (a restart after sending) sends nothing new
    assert swap.alice.lock(swap.terms) == ref
    assert swap.alice.status(ref).state is LockState.PENDING
    node.mine(1)

    # Bob finds the lock from the terms alone, and checks it
    assert swap.bob.find_lock(swap.terms) == ref
    status = swap.bob.status(ref)
    assert (status.state, status.confirmations, status.amount) == (LockState.LOCKED, 1, AMOUNT)
    assert status.deadline == swap.bob.rpc.block_count() + 5  # the lock's height + timeout
    assert not swap.alice.can_refund(ref)

    before = swap.bob.wallet.balance()
    swap.bob.claim(ref, swap.secret)
    # Alice's watcher reads the secret from the claim's witness, in the mempool and in a block
    assert swap.alice.status(ref).preimage == swap.secret
    node.mine(1)
    seen = swap.alice.status(ref)
    assert (seen.state, seen.preimage) == (LockState.CLAIMED, swap.secret)
    received = swap.bob.wallet.balance() - before
    assert AMOUNT - 1_000 < received < AMOUNT  # the claim's fee came out of the lock
    assert swap.alice.wallet.balance() < FUNDS - AMOUNT

    # Verify a second claim and a refund of a claimed lock are refused, by the node too
    with pytest.raises(BtcAlreadySpentError):
        swap.bob.claim(ref, swap.secret)
    node.mine(5)
    assert not swap.alice.can_refund(ref)
    lock = BtcLockRef.parse(ref)
    refund = build_htlc_spend(
        swap.alice.wallet.key,
        lock.htlc,
        lock.txid,
        lock.vout,
        AMOUNT,
        swap.alice.wallet.script_pubkey,
        2,
        None,
    )
    with pytest.raises(BtcRpcError):
        swap.alice.rpc.send_raw_transaction(refund.serialize().hex())


def test_refund_only_after_the_csv_timeout(node: BtcNode, rpc: BtcRpc, swap: Swap) -> None:
    ref = swap.alice.lock(swap.terms)
    node.mine(1)
    lock = BtcLockRef.parse(ref)
    early = build_htlc_spend(
        swap.alice.wallet.key,
        lock.htlc,
        lock.txid,
        lock.vout,
        AMOUNT,
        swap.alice.wallet.script_pubkey,
        2,
        None,
    )
    # With 1..4 confirmations of a 5-block timeout: the leg and the node both refuse
    for _ in range(4):
        assert not swap.alice.can_refund(ref)
        with pytest.raises(BtcNotRefundableError):
            swap.alice.refund(ref)
        with pytest.raises(BtcRpcError):
            rpc.send_raw_transaction(early.serialize().hex())
        node.mine(1)
    # 5 confirmations: the next block is the first a refund may enter
    assert swap.alice.status(ref).confirmations == 5
    assert swap.alice.can_refund(ref)
    # Verify the recipient's key cannot take the refund branch
    with pytest.raises(BtcTermsError):
        swap.bob.refund(ref)
    swap.alice.refund(ref)
    node.mine(1)
    status = swap.bob.status(ref)
    assert (status.state, status.preimage) == (LockState.REFUNDED, None)
    with pytest.raises(BtcAlreadySpentError):
        swap.bob.claim(ref, swap.secret)


def test_invalid_claim_wrong_preimage(node: BtcNode, rpc: BtcRpc, swap: Swap) -> None:
    ref = swap.alice.lock(swap.terms)
    node.mine(1)
    wrong = secrets.token_bytes(32)
    with pytest.raises(WrongPreimageError):
        swap.bob.claim(ref, wrong)
    # the node refuses it too, when a tx carries it anyway
    lock = BtcLockRef.parse(ref)
    tx = build_htlc_spend(
        swap.bob.wallet.key,
        lock.htlc,
        lock.txid,
        lock.vout,
        AMOUNT,
        b"\x00\x14" + b"\x01" * 20,
        2,
        wrong,
    )
    with pytest.raises(BtcRpcError):
        rpc.send_raw_transaction(tx.serialize().hex())
    # and so is the right preimage signed by a key that is not the recipient's
    tx = build_htlc_spend(
        swap.alice.wallet.key,
        lock.htlc,
        lock.txid,
        lock.vout,
        AMOUNT,
        b"\x00\x14" + b"\x01" * 20,
        2,
        swap.secret,
    )
    with pytest.raises(BtcRpcError):
        rpc.send_raw_transaction(tx.serialize().hex())
    assert swap.bob.status(ref).state is LockState.LOCKED


@pytest.mark.parametrize("size", [31, 33])
def test_invalid_claim_preimage_of_other_length(
    node: BtcNode, rpc: BtcRpc, swap: Swap, size: int
) -> None:
    """A lock under the hash of a 31- or 33-byte secret: the script's OP_SIZE check refuses the
    secret itself, so such a lock can only be refunded."""
    preimage = secrets.token_bytes(size)
    htlc = HtlcScript(
        hashlib.sha256(preimage).digest(), swap.bob.wallet.pubkey, swap.alice.wallet.pubkey, 5
    )
    txid, vout = swap.alice.wallet.pay(bytes(htlc.script_pubkey), AMOUNT, 2)
    node.mine(1)
    with pytest.raises(WrongPreimageError):
        swap.bob.claim(str(BtcLockRef(txid, vout, htlc)), preimage)
    tx = build_htlc_spend(
        swap.bob.wallet.key, htlc, txid, vout, AMOUNT, swap.bob.wallet.script_pubkey, 2, preimage
    )
    with pytest.raises(BtcRpcError):
        rpc.send_raw_transaction(tx.serialize().hex())


def test_invalid_lock_terms(node: BtcNode, swap: Swap) -> None:
    # a lock of another amount under the agreed script is found and refused
    swap.alice.lock(replace(swap.terms, amount=AMOUNT - 1))
    node.mine(1)
    with pytest.raises(TermsMismatchError):
        swap.bob.find_lock(swap.terms)
    # terms that would not pay or refund us, and keys that are not keys
    with pytest.raises(BtcTermsError):
        swap.alice.find_lock(swap.terms)
    with pytest.raises(BtcTermsError):
        swap.bob.lock(swap.terms)
    with pytest.raises(BtcTermsError):
        swap.alice.lock(replace(swap.terms, recipient="zz"))


def test_open_btc_leg_from_config(node: BtcNode, tmp_path: Path) -> None:
    config = {
        "rpc_url": node.url,
        "rpc_user": node.user,
        "rpc_password": node.password,
        "key_file": str(tmp_path / "btc.key"),
        "block_seconds": "1",
        "confirmations": "1",
    }
    leg = open_btc_leg(config)
    assert isinstance(leg, Leg)
    assert (leg.asset, leg.timeout_kind, leg.confirmations_needed) == (
        "BTC",
        TimeoutKind.RELATIVE_BLOCKS,
        1,
    )
    assert leg.timeout_after(10) == 10
    assert leg.fee_rate >= 1  # the node's estimate, or DEFAULT_FEE_RATE without one
    assert open_btc_leg({**config, "fee_rate": "7"}).fee_rate == 7
    assert (tmp_path / "btc.key").stat().st_mode & 0o777 == 0o600
    # the key file is kept: the same address after a restart
    assert open_btc_leg(config).address() == leg.address()
    with pytest.raises(BtcTermsError, match="unknown"):
        open_btc_leg({**config, "rpc_port": "1"})
    with pytest.raises(BtcTermsError, match="whole number"):
        open_btc_leg({**config, "fee_rate": "1.5"})
    with pytest.raises(BtcTermsError, match="steady_blocks"):
        open_btc_leg({**config, "steady_blocks": "yes"})
    assert open_btc_leg({**config, "steady_blocks": "true"}).seconds_for(10) == 10
    assert leg.seconds_for(10) < 4  # ten 1-second Poisson blocks: under 4 s once in 1000
    with pytest.raises(BtcTermsError, match="network"):
        open_btc_leg({**config, "network": "moon"})
