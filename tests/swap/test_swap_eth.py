"""VOX <-> ETH swaps end to end: a real solo node, a real geth --dev, the deployed contract, two
swap tools. Both directions; a tool restarted from disk at every step; a counterparty that never
locks (refund); one that vanishes after locking (both refund); one that locks the wrong amount
(refused); one that vanishes after the reveal (we still claim)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account

from tests.support.nodeproc import NodeProcess
from tests.swap.geth_node import GethNode, geth_binary
from tests.swap.world import VOX_FUNDS, Party, drive, make_party
from voxpop.crypto.keys import PrivateKey
from voxpop.swap.engine import OfferTerms, SwapError
from voxpop.swap.eth import deploy_htlc
from voxpop.swap.legs import LockState, LockTerms
from voxpop.swap.store import SwapStore

pytestmark = pytest.mark.slow

VOX = 5_000_000  # 5 VOX
WEI = 10**16  # 0.01 ETH
# Generous enough for a loaded 2-core machine; short enough for CI (see docs/swaps.md margins)
QUICK = {"offerer_seconds": 40, "taker_seconds": 20, "margin_seconds": 6}
SHORT = {"offerer_seconds": 12, "taker_seconds": 6, "margin_seconds": 2}
MARGIN = {40: 6, 12: 2}  # the taker's margin for each of the two


@dataclass
class World:
    node: NodeProcess
    geth: GethNode
    contract: str
    keys: list[PrivateKey]  # funded VOX accounts, two per test
    used: int = 0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    binary = geth_binary()
    if binary is None:
        pytest.skip("geth is not installed (make swap-tools)")
    root = tmp_path_factory.mktemp("swap")
    deployer = secrets.token_bytes(32)
    keys = [PrivateKey(secrets.token_bytes(32)) for _ in range(12)]
    node = NodeProcess.create(root / "vox", [(k, VOX_FUNDS) for k in keys])
    with ThreadPoolExecutor(1) as pool:  # geth starts while the node does
        starting = pool.submit(GethNode.start, root / "geth", binary)
        try:
            node.start(timeout=180)
        finally:
            geth = starting.result()
    try:
        geth.fund(Account.from_key(deployer).address, 10**18)
        yield World(node, geth, deploy_htlc(geth.web3(), deployer), keys)
    finally:
        node.stop()
        geth.stop()


@pytest.fixture
def parties(world: World, tmp_path: Path) -> Iterator[tuple[Party, Party]]:
    a, b = world.keys[world.used], world.keys[world.used + 1]
    world.used += 2
    alice = make_party("alice", a, world.node, world.geth, world.contract, tmp_path / "alice")
    bob = make_party("bob", b, world.node, world.geth, world.contract, tmp_path / "bob")
    yield alice, bob
    alice.close()
    bob.close()


def test_sell_vox_for_eth_restarting_at_every_step(parties: tuple[Party, Party]) -> None:
    alice, bob = parties
    a_vox, b_vox, a_eth, b_eth = (
        alice.vox_balance(),
        bob.vox_balance(),
        alice.eth_balance(),
        bob.eth_balance(),
    )
    offer = alice.engine().offer(OfferTerms("sell", VOX, "ETH", WEI, **QUICK))
    taken = bob.engine().take(bytes.fromhex(offer.offer_id), expect_vox=VOX, margin_seconds=6)
    done = drive([(alice, offer), (bob, taken)], restart_each_step=True)
    assert [r.outcome for r in done] == ["swapped", "swapped"], [r.notes for r in done]
    assert done[1].secret == done[0].secret  # the taker learned it from its claimed lock
    fee_room = 100_000  # uvox of tx fees
    assert a_vox - VOX - fee_room < alice.vox_balance() < a_vox - VOX
    assert b_vox + VOX - fee_room < bob.vox_balance() < b_vox + VOX
    assert alice.eth_balance() > a_eth + WEI - 10**15  # claimed, less gas
    assert bob.eth_balance() < b_eth - WEI


def test_buy_vox_with_eth_offerer_vanishes_after_reveal(parties: tuple[Party, Party]) -> None:
    alice, bob = parties
    a_vox, b_vox = alice.vox_balance(), bob.vox_balance()
    offer = alice.engine().offer(OfferTerms("buy", VOX, "ETH", WEI, **QUICK))
    taken = bob.engine().take(
        bytes.fromhex(offer.offer_id), margin_seconds=MARGIN[offer.offerer_seconds]
    )
    # Alice (locks ETH first) runs until she has claimed Bob's VOX, then is gone for good
    alice_engine, bob_engine = alice.engine(), bob.engine()
    deadline = time.monotonic() + 60
    while not offer.done:
        assert time.monotonic() < deadline, offer.notes
        moved = alice_engine.tick(offer) | bob_engine.tick(taken)
        if not moved:
            time.sleep(0.3)
    assert offer.outcome == "swapped"
    # Bob alone reads the secret from his claimed VOX lock and claims Alice's ETH
    drive([(bob, taken)], timeout=60)
    assert taken.outcome == "swapped", taken.notes
    assert alice.vox_balance() > a_vox + VOX - 100_000
    assert bob.vox_balance() < b_vox - VOX


def test_walkaways_are_refunded(parties: tuple[Party, Party]) -> None:
    """Two swaps at once (their timeouts run together): in the first the taker takes and never
    locks, and the offerer refunds; in the second the offerer's tool is killed once both have
    locked, the taker refunds at its timeout, and the offerer's restarted tool, too late to
    claim, refunds its own. Nobody loses more than fees."""
    alice, bob = parties
    a_vox, b_eth = alice.vox_balance(), bob.eth_balance()
    margin = MARGIN[SHORT["offerer_seconds"]]
    never = alice.engine().offer(OfferTerms("sell", VOX, "ETH", WEI, **SHORT))
    never_taken = bob.engine().take(bytes.fromhex(never.offer_id), margin_seconds=margin)
    bob.engine().step(never_taken)  # Bob takes the first offer on chain, then never locks
    gone = alice.engine().offer(OfferTerms("sell", VOX, "ETH", WEI, **SHORT))
    gone_taken = bob.engine().take(bytes.fromhex(gone.offer_id), margin_seconds=margin)
    alice_engine, bob_engine = alice.engine(), bob.engine()
    deadline = time.monotonic() + 60
    while gone.phase != "locked":  # Alice locks in both swaps
        assert time.monotonic() < deadline, (gone.notes, gone_taken.notes)
        moved = alice_engine.tick(never) | alice_engine.tick(gone) | bob_engine.tick(gone_taken)
        if not moved:
            time.sleep(0.3)
    # Alice's tool for the second swap is killed; Bob locks against her lock, waits in vain
    done = drive([(alice, never), (bob, gone_taken)], timeout=60)
    assert [r.outcome for r in done] == ["refunded", "refunded"], [r.notes for r in done]
    assert done[1].my_lock  # Bob had locked, and got it back
    # Alice's tool restarts after Bob's lock ended: too late to claim; she refunds hers
    _, gone = alice.fresh(gone)
    (alice_done,) = drive([(alice, gone)], timeout=60)
    assert alice_done.outcome == "refunded", alice_done.notes
    assert a_vox - 200_000 < alice.vox_balance() <= a_vox  # fees only
    assert bob.eth_balance() > b_eth - 10**15  # gas only


def test_bad_input_refused(parties: tuple[Party, Party]) -> None:
    alice, bob = parties
    offer = alice.engine().offer(OfferTerms("sell", VOX, "ETH", WEI, **QUICK))
    offer_id = bytes.fromhex(offer.offer_id)
    # A tool killed after posting, before it saved that it had: its restart finds the offer
    engine = alice.engine()
    offer.phase = "new"
    engine.store.save(offer)
    assert engine.step(offer) and offer.phase == "offered", offer.notes
    with pytest.raises(SwapError) as info:
        bob.engine().take(offer_id, expect_vox=VOX + 1, margin_seconds=6)
    assert info.value.code == "terms_mismatch"
    with pytest.raises(SwapError) as info:
        bob.engine().take(offer_id, margin_seconds=30)  # the offer's times leave no margin
    assert info.value.code == "bad_timeouts"
    with pytest.raises(SwapError) as info:
        alice.engine().offer(OfferTerms("sell", VOX, "ETH", WEI, 20, 20, 5))
    assert info.value.code == "bad_timeouts"
    taken = bob.engine().take(offer_id, margin_seconds=6)
    bob.engine().step(taken)
    # A cheating offerer locks under another hash: it is not the swap's lock (ids derive from
    # the hashlock), so the taker sees nothing to lock against
    offer_view = alice.engine().step(offer)
    assert offer_view and offer.phase == "taken"
    wrong_hash = LockTerms(
        bytes(32), VOX, taken.taker_vox, offer.offerer_vox, alice.vox().timeout_after(40)
    )
    alice.vox().lock(wrong_hash)
    assert not bob.engine().step(taken) and taken.phase == "took"
    # Then locks less than offered under the right hash: the taker refuses to lock against it
    short = LockTerms(
        bytes.fromhex(offer.hashlock),
        VOX - 1,
        taken.taker_vox,
        offer.offerer_vox,
        alice.vox().timeout_after(40),
    )
    alice.vox().lock(short)
    (done,) = drive([(bob, taken)], timeout=30)
    assert done.outcome == "refused" and "differs" in done.notes[-1]
    assert done.my_lock == ""  # Bob locked nothing
    # A wrong preimage never leaves the tool: the leg checks it against the lock first
    ref = bob.vox().find_lock(
        LockTerms(short.hashlock, VOX - 1, taken.taker_vox, offer.offerer_vox, 1)
    )
    assert ref is not None
    from voxpop.swap.legs import WrongPreimageError

    with pytest.raises(WrongPreimageError):
        bob.vox().claim(ref, bytes(32))
    assert bob.vox().status(ref).state is LockState.LOCKED


def _write_config(party: Party) -> None:
    party.root.mkdir(parents=True, exist_ok=True)
    (party.root / "vox.key").write_text(party.vox_key.seed.hex())
    (party.root / "eth.key").write_text(party.eth_key.hex())
    config = {
        "vox": {"node": party.node.url, "key_file": "vox.key"},
        "eth": {"rpc_url": party.geth.url, "contract": party.contract, "key_file": "eth.key"},
    }
    (party.root / "config.json").write_text(json.dumps(config))


def _wait_phase(store: SwapStore, phases: tuple[str, ...], proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while True:
        records = store.all()
        if records and records[0].phase in phases:
            return
        assert proc.poll() is None, f"the tool exited {proc.returncode}"
        assert time.monotonic() < deadline, records and records[0].notes
        time.sleep(0.2)


def test_cli_killed_after_its_lock_resumes(parties: tuple[Party, Party]) -> None:
    """The offerer's `voxpop swap offer` is killed (SIGKILL) right after it locks; the taker
    locks meanwhile; `voxpop swap run` resumes from the file and claims; the taker claims."""
    alice, bob = parties
    _write_config(alice)
    cli = [sys.executable, "-m", "voxpop.cli.main", "swap"]
    # Long enough for two tool starts on a loaded machine (each ~10 s at load 27, 2 cores)
    args = ["--dir", str(alice.root), "--poll", "0.3", "--offerer-seconds", "160"]
    args += ["--taker-seconds", "80", "--margin-seconds", "20"]
    log = open(alice.root / "tool.log", "wb")  # noqa: SIM115
    offering = subprocess.Popen(
        [*cli, "offer", "sell", "5vox", "ETH", str(WEI), *args], stdout=log, stderr=log
    )
    try:
        store = SwapStore(alice.root)
        _wait_phase(store, ("offered",), offering)
        taken = bob.engine().take(bytes.fromhex(store.all()[0].offer_id), margin_seconds=20)
        bob_engine = bob.engine()
        bob_engine.tick(taken)  # the Take
        _wait_phase(store, ("locked",), offering)
        offering.kill()  # kill -9 right after the lock
        offering.wait()
        deadline = time.monotonic() + 60
        while taken.phase != "locked":  # Bob locks against Alice's lock while she is down
            assert time.monotonic() < deadline, taken.notes
            if not bob_engine.tick(taken):
                time.sleep(0.3)
        resumed = subprocess.run(
            [*cli, "run", "--dir", str(alice.root), "--poll", "0.3", "-o", "json"],
            capture_output=True,
            timeout=180,
        )
        assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
        assert json.loads(resumed.stdout)["swaps"][0]["outcome"] == "swapped"
        (done,) = drive([(bob, taken)], timeout=60)
        assert done.outcome == "swapped", done.notes
    finally:
        if offering.poll() is None:
            offering.kill()
            offering.wait()
        log.close()
