"""VOX <-> BTC swaps end to end: a real solo node, a real btcd in regtest mining a block a second
(`block_seconds = 1`, so the tools' seconds are blocks), swap tools on both sides. Both
directions through `voxpop swap offer` and `voxpop swap take` (four processes at once); a swap
whose tools restart from disk before every step; a taker that never locks (the offerer's BTC
comes back after its CSV timeout); an offerer whose BTC lock differs from the offer (refused)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bitcoin.wallet import CKey

from tests.support.nodeproc import NodeProcess
from tests.swap.btc_node import BtcNode, btcd_binary
from voxpop.client import VoxClient
from voxpop.crypto.keys import PrivateKey
from voxpop.swap.btc import BtcLeg
from voxpop.swap.engine import OfferTerms, SwapEngine
from voxpop.swap.legs import LockTerms
from voxpop.swap.store import SwapRecord, SwapStore
from voxpop.swap.vox import VoxLeg

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        btcd_binary() is None, reason="btcd not installed (scripts/install_btcd.sh)"
    ),
]

VOX_FUNDS = 10**12
SAT_FUNDS = 10_000_000
VOX = 5_000_000  # 5 VOX
SAT = 1_000_000  # 0.01 BTC
# Seconds, and blocks on the 1-second regtest chain (docs/swaps.md: the margins on Bitcoin)
QUICK = {"offerer_seconds": 40, "taker_seconds": 20, "margin_seconds": 6}
SHORT = {"offerer_seconds": 8, "taker_seconds": 4, "margin_seconds": 2}


@dataclass
class World:
    node: NodeProcess
    btcd: BtcNode
    keys: list[PrivateKey]  # funded VOX accounts, two per test
    used: int = 0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("btcswap")
    keys = [PrivateKey(secrets.token_bytes(32)) for _ in range(14)]
    node = NodeProcess.create(root / "vox", [(k, VOX_FUNDS) for k in keys])
    btcd = BtcNode.start(root / "btcd")
    try:
        btcd.mine(101)
        node.start(timeout=90)  # a loaded 2-core machine takes 20 s and more
        yield World(node, btcd, keys)
    finally:
        node.stop()
        btcd.stop()


@dataclass
class Party:
    name: str
    vox_key: PrivateKey
    btc_key: bytes
    root: Path
    client: VoxClient
    btcd: BtcNode

    def engine(self) -> SwapEngine:
        """A tool over this party's state dir, with fresh legs (as after a restart)."""
        btc = BtcLeg(
            self.btcd.rpc(),
            self.btc_key,
            fee_rate=2,
            block_seconds=1,
            confirmations_needed=1,
            steady_blocks=True,  # the background miner's blocks come on a timer
        )
        return SwapEngine(SwapStore(self.root), VoxLeg(self.client, self.vox_key), {"BTC": btc})

    def vox_balance(self) -> int:
        return self.client.balance(self.vox_key.public_key.address)

    def sat_balance(self) -> int:
        with self.btcd.rpc() as rpc:
            return BtcLeg(rpc, self.btc_key, fee_rate=2).wallet.balance()


def make_parties(world: World, root: Path, names: tuple[str, ...]) -> list[Party]:
    made = []
    for name in names:
        btc_key = secrets.token_bytes(32)
        world.btcd.fund(bytes(CKey(btc_key).pub), SAT_FUNDS)
        vox_key = world.keys[world.used]
        world.used += 1
        made.append(
            Party(name, vox_key, btc_key, root / name, VoxClient(world.node.url), world.btcd)
        )
    return made


@pytest.fixture
def parties(world: World, tmp_path: Path) -> Iterator[tuple[Party, Party]]:
    made = make_parties(world, tmp_path, ("alice", "bob"))
    yield made[0], made[1]
    for party in made:
        party.client.close()


def drive(
    steps: list[tuple[Party, SwapRecord]], timeout: float = 60.0, *, restart: bool = False
) -> list[SwapRecord]:
    """Step each party's tool in turn until every swap is done. With `restart`, every step runs
    on a tool rebuilt from its disk (a kill -9 and restart between any two steps)."""
    engines = [party.engine() for party, _ in steps]
    records = [record for _, record in steps]
    deadline = time.monotonic() + timeout
    while not all(r.done for r in records):
        assert time.monotonic() < deadline, [(r.role, r.phase, r.notes[-3:]) for r in records]
        moved = False
        for i, (party, _) in enumerate(steps):
            if records[i].done:
                continue
            if restart:
                engines[i] = party.engine()
                records[i] = engines[i].store.load(records[i].hashlock)
            moved = engines[i].tick(records[i]) or moved
        if not moved:
            time.sleep(0.2)
    return records


def write_config(party: Party, world: World) -> None:
    party.root.mkdir(parents=True, exist_ok=True)
    (party.root / "vox.key").write_text(party.vox_key.seed.hex())
    (party.root / "btc.key").write_text(party.btc_key.hex())
    btcd = world.btcd
    config = {
        "vox": {"node": world.node.url, "key_file": "vox.key"},
        "btc": {
            "rpc_url": btcd.url,
            "rpc_user": btcd.user,
            "rpc_password": btcd.password,
            "key_file": "btc.key",
            "fee_rate": "2",
            "block_seconds": "1",
            "confirmations": "1",
            "steady_blocks": "true",
        },
    }
    (party.root / "config.json").write_text(json.dumps(config))


def swap_cli(party: Party, *args: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "voxpop.cli.main", "swap", *args]
    argv += ["--dir", str(party.root), "--poll", "0.3", "-o", "json"]
    with (party.root / "tool.err").open("ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log)


def finished(proc: subprocess.Popen[bytes], party: Party) -> dict[str, object]:
    try:
        out, _ = proc.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    err = (party.root / "tool.err").read_text(errors="replace")[-2000:]
    assert proc.returncode == 0, err
    shown: dict[str, object] = json.loads(out)
    return shown


def test_swap_through_the_cli_both_directions(
    world: World, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Four `voxpop swap` processes at once, each watching both chains until done. sell: Alice
    offers VOX (`offer`), locks it first; Bob (`take`) locks BTC; Alice's BTC claim reveals the
    secret on Bitcoin. buy: Carol offers BTC, locks it first (CSV); Dave locks VOX and reads the
    secret there."""
    alice, bob, carol, dave = everyone = make_parties(
        world, tmp_path, ("alice", "bob", "carol", "dave")
    )
    for party in everyone:
        request.addfinalizer(party.client.close)
    before = {p.name: (p.vox_balance(), p.sat_balance()) for p in everyone}
    for party in everyone:
        write_config(party, world)
    # Long enough for tool starts on a loaded machine (~10 s each at load 27 on 2 cores)
    times = ["--offerer-seconds", "160", "--taker-seconds", "80", "--margin-seconds", "20"]
    expect = ["--expect-vox", "5vox", "--expect-amount", str(SAT), "--margin-seconds", "20"]
    procs: list[tuple[subprocess.Popen[bytes], Party]] = []
    try:
        with world.btcd.mining(1.0):
            for offerer, side in ((alice, "sell"), (carol, "buy")):
                procs.append(
                    (swap_cli(offerer, "offer", side, "5vox", "BTC", str(SAT), *times), offerer)
                )
            deadline = time.monotonic() + 120
            for (offering, offerer), taker in zip(list(procs), (bob, dave), strict=True):
                while not (records := SwapStore(offerer.root).all()) or not records[0].offer_id:
                    assert offering.poll() is None, f"{offerer.name}'s tool exited"
                    assert time.monotonic() < deadline, f"no offer from {offerer.name}"
                    time.sleep(0.2)
                procs.append((swap_cli(taker, "take", records[0].offer_id, *expect), taker))
            shown = {party.name: finished(proc, party) for proc, party in procs}
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert {name: s["outcome"] for name, s in shown.items()} == dict.fromkeys(
        ("alice", "carol", "bob", "dave"), "swapped"
    ), shown
    assert all("secret" not in s for s in shown.values())  # never printed
    world.btcd.mine(1)  # the last claims
    # VOX one way, BTC the other: the VOX giver receives SAT less its claim fee
    for vox_giver, btc_giver in ((alice, bob), (dave, carol)):
        g_vox, g_sat = before[vox_giver.name]
        b_vox, b_sat = before[btc_giver.name]
        assert g_vox - VOX - 100_000 < vox_giver.vox_balance() < g_vox - VOX
        assert g_sat + SAT - 2_000 < vox_giver.sat_balance() < g_sat + SAT
        assert b_vox + VOX - 100_000 < btc_giver.vox_balance() <= b_vox + VOX
        assert b_sat - SAT - 2_000 < btc_giver.sat_balance() < b_sat - SAT


@pytest.mark.parametrize("side", ["sell", "buy"])
def test_swap_restarting_at_every_step(
    world: World, parties: tuple[Party, Party], side: str
) -> None:
    """Both tools restart from disk before every step (a kill -9 between any two steps): the
    Bitcoin locks' references alone carry them through lock, claim, reading the secret."""
    alice, bob = parties
    a_vox, b_vox, a_sat, b_sat = (
        alice.vox_balance(),
        bob.vox_balance(),
        alice.sat_balance(),
        bob.sat_balance(),
    )
    with world.btcd.mining(1.0):
        offer = alice.engine().offer(OfferTerms(side, VOX, "BTC", SAT, **QUICK))
        taken = bob.engine().take(bytes.fromhex(offer.offer_id), margin_seconds=6)
        done = drive([(alice, offer), (bob, taken)], restart=True)
    assert [r.outcome for r in done] == ["swapped", "swapped"], [r.notes for r in done]
    assert done[1].secret == done[0].secret
    world.btcd.mine(1)  # the last claim
    vox_fees, sat_fees = 100_000, 2_000
    giver, getter = (alice, bob) if side == "sell" else (bob, alice)
    g_vox, r_vox = (a_vox, b_vox) if side == "sell" else (b_vox, a_vox)
    assert g_vox - VOX - vox_fees < giver.vox_balance() < g_vox - VOX
    assert r_vox + VOX - vox_fees < getter.vox_balance() < r_vox + VOX
    # BTC goes the other way: the VOX giver receives SAT less its claim fee
    s_get, s_give = (a_sat, b_sat) if side == "sell" else (b_sat, a_sat)
    assert s_get + SAT - sat_fees < giver.sat_balance() < s_get + SAT
    assert s_give - SAT - sat_fees < getter.sat_balance() < s_give - SAT


def test_taker_never_locks_btc_comes_back(world: World, parties: tuple[Party, Party]) -> None:
    alice, bob = parties
    a_sat = alice.sat_balance()
    with world.btcd.mining(0.5):
        offer = alice.engine().offer(OfferTerms("buy", VOX, "BTC", SAT, **SHORT))
        taken = bob.engine().take(bytes.fromhex(offer.offer_id), margin_seconds=2)
        bob.engine().step(taken)  # Bob takes the offer on chain, then never locks
        (done,) = drive([(alice, offer)])
    assert done.outcome == "refunded", done.notes
    assert done.my_lock.count(":") == 2  # a Bitcoin lock was made and came back
    world.btcd.mine(1)
    assert a_sat - 2_000 < alice.sat_balance() < a_sat


def test_invalid_offerer_locks_another_amount(world: World, parties: tuple[Party, Party]) -> None:
    """The offerer locks 1 sat less than offered under the agreed script: the taker's tool finds
    it, refuses it, and locks nothing."""
    alice, bob = parties
    b_vox = bob.vox_balance()
    with world.btcd.mining(1.0):
        offer = alice.engine().offer(OfferTerms("buy", VOX, "BTC", SAT, **QUICK))
        taken = bob.engine().take(bytes.fromhex(offer.offer_id), margin_seconds=6)
        bob.engine().step(taken)  # the Take
        btc = alice.engine().other_leg("BTC")
        short = LockTerms(
            bytes.fromhex(offer.hashlock),
            SAT - 1,
            taken.taker_other,
            btc.address(),
            btc.timeout_after(offer.offerer_seconds),
        )
        btc.lock(short)
        (done,) = drive([(bob, taken)], timeout=30)
    assert done.outcome == "refused" and "differs" in done.notes[-1], done.notes
    assert done.my_lock == ""  # Bob locked nothing
    assert b_vox - 100_000 < bob.vox_balance() <= b_vox  # the Take's fee only
