"""The Ethereum leg against a real geth --dev: the shipped contract is what the pinned solc
builds; lock, claim with the 32-byte secret, refund after the timelock; bad input refused."""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from tests.swap.geth_node import GethNode, geth_binary
from voxpop.swap.eth import EthLeg, deploy_htlc
from voxpop.swap.legs import LockState, LockTerms, SwapLegError, WrongPreimageError

ROOT = Path(__file__).resolve().parents[2]
SOLCJS = ROOT / "tools" / "solc" / "node_modules" / ".bin" / "solcjs"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def geth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GethNode]:
    binary = geth_binary()
    if binary is None:
        pytest.skip("geth is not installed (make swap-tools)")
    node = GethNode.start(tmp_path_factory.mktemp("geth"), binary)
    yield node
    node.stop()


@pytest.fixture(scope="module")
def legs(geth: GethNode) -> tuple[EthLeg, EthLeg]:
    keys = [secrets.token_bytes(32) for _ in range(2)]
    for key in keys:
        geth.fund(Account.from_key(key).address, 10**19)
    w3 = geth.web3()
    contract = deploy_htlc(w3, keys[0])
    return EthLeg(w3, contract, keys[0]), EthLeg(w3, contract, keys[1])


@pytest.mark.skipif(not SOLCJS.exists(), reason="tools/solc not installed (make swap-tools)")
def test_artifact_is_what_the_pinned_solc_builds() -> None:
    check = [sys.executable, str(ROOT / "tools" / "solc" / "compile.py"), "--check"]
    assert subprocess.run(check, timeout=300).returncode == 0


def terms(alice: EthLeg, bob: EthLeg, hashlock: bytes, timeout: int, amount: int) -> LockTerms:
    return LockTerms(hashlock, amount, bob.address(), alice.address(), timeout)


def test_lock_claim_refund(legs: tuple[EthLeg, EthLeg]) -> None:
    alice, bob = legs
    secret = secrets.token_bytes(32)
    hashlock = hashlib.sha256(secret).digest()
    agreed = terms(alice, bob, hashlock, alice.timeout_after(600), 10**15)
    assert bob.find_lock(agreed) is None
    ref = alice.lock(agreed)
    assert alice.lock(agreed) == ref  # idempotent: a restarted tool finds its own lock
    assert bob.find_lock(agreed) == ref
    status = bob.status(ref)
    assert status.state is LockState.LOCKED and status.amount == 10**15
    assert status.confirmations >= 1 and status.seconds_left is not None
    with pytest.raises(WrongPreimageError):
        bob.claim(ref, bytes(32))
    with pytest.raises(WrongPreimageError):
        bob.claim(ref, secret + b"\x00")
    with pytest.raises(SwapLegError):
        alice.refund(ref)  # before the timelock: NotExpired
    before = bob.w3.eth.get_balance(bob.account.address)
    bob.claim(ref, secret)
    after = bob.w3.eth.get_balance(bob.account.address)
    assert after > before  # 10^15 wei in, less gas
    status = alice.status(ref)
    assert status.state is LockState.CLAIMED and status.preimage == secret
    with pytest.raises(SwapLegError):
        bob.claim(ref, secret)  # double claim: Settled


def test_refund_after_timelock(legs: tuple[EthLeg, EthLeg]) -> None:
    alice, bob = legs
    secret = secrets.token_bytes(32)
    agreed = terms(alice, bob, hashlib.sha256(secret).digest(), alice.timeout_after(3), 10**15)
    ref = alice.lock(agreed)
    deadline = time.monotonic() + 60
    while not alice.can_refund(ref):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    with pytest.raises(SwapLegError):
        bob.claim(ref, secret)  # after the timelock: Expired
    alice.refund(ref)
    assert bob.status(ref).state is LockState.REFUNDED


def test_mismatched_terms_refused(legs: tuple[EthLeg, EthLeg]) -> None:
    alice, bob = legs
    hashlock = hashlib.sha256(secrets.token_bytes(32)).digest()
    agreed = terms(alice, bob, hashlock, alice.timeout_after(600), 10**15)
    alice.lock(agreed)
    with pytest.raises(SwapLegError, match="wei"):
        bob.find_lock(terms(alice, bob, hashlock, agreed.timeout, 2 * 10**15))
    with pytest.raises(SwapLegError, match="before"):
        bob.find_lock(terms(alice, bob, hashlock, agreed.timeout + 3_600, 10**15))
