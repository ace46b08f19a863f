"""State sync on a real 4-validator network (CometBFT + the real app), one network for the module.

Validators snapshot every INTERVAL blocks in small chunks; node 3 is also pruned (a window of
WINDOW blocks and state versions). New nodes join by `voxpop node init --state-sync`'s setup
(voxpop.node.statesync): the trust root from our light client, then CometBFT's state sync.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.abci.comet_testing import Rpc, free_base_port, pid_alive, wait_until
from tests.consensus.network import Network, b64, transfer
from voxpop.client.light import LightClient, TrustOptions
from voxpop.client.sync import VoxClient
from voxpop.crypto.address import encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.node.config import load_config
from voxpop.node.snapshots.disk import SnapshotDir, chunk_file
from voxpop.node.testnet import NODE_LOG, init_full_node, node_command

pytestmark = [pytest.mark.cometbft, pytest.mark.slow]

INTERVAL = 50
WINDOW = 30
TIMEOUT_COMMIT_MS = 200
NEW_ACCOUNTS = [PrivateKey(bytes([200 + i]) * 32).public_key.address for i in range(8)]


class Joiner:
    """A node that joins by state sync, run as `python -m voxpop.node.cometbft` in its home."""

    def __init__(self, network: Network, path: Path) -> None:
        node = init_full_node(
            network.net,
            path,
            base_port=free_base_port(1),
            state_sync=True,
            timeout_commit_ms=TIMEOUT_COMMIT_MS,
            discovery_ms=5_000,  # CometBFT's least
        )
        self.home = node.node_home
        self.rpc = Rpc(node.rpc_url)
        self.api_url = node.api_url
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> str:
        path = self.home.root / "node.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> None:
        with (self.home.root / "node.log").open("ab") as log:
            self.proc = subprocess.Popen(
                node_command(self.home),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait(timeout=30)
        pid_file = self.home.cometbft_dir / "cometbft.pid"
        if pid_file.exists():  # CometBFT dies with its parent (PR_SET_PDEATHSIG); wait for it
            pid = int(pid_file.read_text())
            wait_until(lambda: not pid_alive(pid), 30, "the joiner's CometBFT to die")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.rpc.close()

    def wait_synced(self, network: Network, timeout: float = 90) -> int:
        """Wait until this node is past the network's height when called; return that height."""
        target = network.height(0) + 3
        wait_until(
            lambda: (
                self.rpc.height() >= target
                and not self.rpc.get("status")["sync_info"]["catching_up"]
            ),
            timeout,
            f"{self.home.root.name} at height {target} (log: {self.log[-2000:]})",
        )
        return target


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory, cometbft_binary: Path) -> Iterator[Network]:
    net = Network.create(
        tmp_path_factory.mktemp("statesync"), keys=4, timeout_commit_ms=TIMEOUT_COMMIT_MS
    )
    for i, node in enumerate(net.net.nodes):
        config = load_config(node.node_home.config_toml)
        config.snapshots.interval = INTERVAL
        config.snapshots.keep = 4  # the first stays while the tests read it, on a slow machine too
        config.snapshots.chunk_bytes = 1024  # many chunks, from several peers
        if i == 3:
            config.store.keep_versions = WINDOW
            config.store.retain_blocks = WINDOW
        config.save(node.node_home.config_toml)
    try:
        net.start()
        # New accounts, so the state holds more than genesis
        with httpx.Client(base_url=net.net.nodes[0].api_url, timeout=30) as api:
            for seq, to in enumerate(NEW_ACCOUNTS):
                tx = transfer(net.chain_id, net.keys[0], to, 1_000 + seq, seq)
                reply = api.post("/v1/txs", json={"tx": b64(tx), "mode": "sync"})
                assert reply.status_code in (200, 202) and reply.json()["code"] == 0, reply.text
        yield net
    finally:
        net.close()


@pytest.fixture(scope="module")
def joiners(network: Network, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Joiner]]:
    made: list[Joiner] = []
    try:
        yield made
    finally:
        for joiner in made:
            joiner.stop()


def snapshot_dir(network: Network, i: int) -> SnapshotDir:
    """Node i's snapshots, read while it writes them (a reader deletes nothing there)."""
    return SnapshotDir(network.net.nodes[i].node_home.data_dir / "snapshots")


def wait_snapshot(network: Network) -> int:
    """The first snapshot height, once every validator has written it (failing at once, with the
    logs, if one could not: it never will, and the wait would only time out)."""

    def written() -> bool:
        for i, node in enumerate(network.net.nodes):
            log = (Path(node.home) / NODE_LOG).read_text(errors="replace")
            # Verify no validator failed to write the snapshot
            assert f"snapshot at height {INTERVAL} failed" not in log, (
                f"node{i} failed to write the snapshot at {INTERVAL}{network.log_tails(60)}"
            )
        return all(INTERVAL in snapshot_dir(network, i).heights() for i in range(4))

    wait_until(
        written,
        180,
        lambda: (
            f"snapshots at {INTERVAL} (heights {[network.height(i) for i in range(4)]}, "
            f"snapshots {[snapshot_dir(network, i).heights() for i in range(4)]})"
            f"{network.log_tails()}"
        ),
    )
    return INTERVAL


class Corrupter:
    """Flips a byte in every chunk of every snapshot nodes 0-2 hold, and keeps doing so for the
    ones they take while a joiner looks for a snapshot: whichever height it picks, only node 3
    serves good chunks."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.done: set[tuple[int, int]] = set()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def corrupt_all(self) -> None:
        for i in range(3):
            disk = snapshot_dir(self.network, i)
            for height in disk.heights():
                if (i, height) in self.done:
                    continue
                try:
                    for index in range(disk.metadata(height).chunks):
                        path = disk.root / f"{height:020d}" / chunk_file(index)
                        data = bytearray(path.read_bytes())
                        data[-1] ^= 0xFF
                        path.write_bytes(bytes(data))
                except FileNotFoundError:
                    pass  # pruned meanwhile: it can no longer be offered
                self.done.add((i, height))

    def heights(self) -> set[int]:
        return {height for _, height in self.done}

    def _run(self) -> None:
        while not self.stopped.wait(0.05):
            self.corrupt_all()

    def __enter__(self) -> Corrupter:
        self.corrupt_all()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


def test_fifth_node_joins_by_state_sync_past_corrupted_chunks(
    network: Network, joiners: list[Joiner], tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = wait_snapshot(network)
    metas = [snapshot_dir(network, i).metadata(first) for i in range(4)]
    # Every node took the same snapshot, byte for byte
    assert len({m.encode() for m in metas}) == 1 and metas[0].chunks > 3
    # Nodes 0-2 now serve a corrupted copy of every chunk: only node 3's are good
    joiner = Joiner(network, tmp_path_factory.mktemp("joiner") / "fifth")
    joiners.append(joiner)
    with Corrupter(network) as corrupter:
        joiner.start()
        wait_until(lambda: "restored snapshot" in joiner.log, 120, "a snapshot restored")
    synced = joiner.wait_synced(network)

    log = joiner.log
    restored = re.search(r"restored snapshot (\d+)", log)
    assert restored is not None, log[-3000:]
    height = int(restored.group(1))
    assert height in corrupter.heights(), (height, corrupter.heights())
    assert "has the wrong hash" in log, "no corrupted chunk was refused"
    # It never replayed the blocks below the snapshot: its block store starts above them
    assert int(joiner.rpc.get("status")["sync_info"]["earliest_block_height"]) > height
    # The same app hash as the validators
    for h in (synced - 1, synced):
        assert joiner.rpc.header_app_hash(h) == network.rpcs[0].header_app_hash(h)
    # ... and it serves proofs a light client (rooted at a validator's header) accepts
    root = network.headers(0, synced, synced)[synced][0]
    light = LightClient(
        trust_options=TrustOptions(synced, bytes.fromhex(root)),
        witnesses=[network.net.nodes[0].api_url],
    )
    with VoxClient(joiner.api_url, light=light) as client:
        for seq, address in enumerate(NEW_ACCOUNTS):
            assert client.account(address, prove=True).balance == 1_000 + seq


def test_node_killed_during_restore_restarts_cleanly(
    network: Network, joiners: list[Joiner], tmp_path_factory: pytest.TempPathFactory
) -> None:
    joiner = Joiner(network, tmp_path_factory.mktemp("joiner") / "killed")
    joiners.append(joiner)
    joiner.start()
    wait_until(lambda: "restoring snapshot" in joiner.log, 60, "a restore to start")
    joiner.kill()
    assert joiner.home.state_dir.exists()
    joiner.start()
    synced = joiner.wait_synced(network)
    # (it may have restored a later snapshot than the first: compare where both have blocks)
    h = max(synced, joiner.rpc.height())
    assert joiner.rpc.header_app_hash(h) == network.rpcs[0].header_app_hash(h)


def test_pruned_node_serves_its_window(network: Network) -> None:
    latest = network.height(3)
    wait_until(lambda: network.height(3) > latest + 2, 30, "node 3 to move on")
    latest = network.height(3) - 1
    address = NEW_ACCOUNTS[0]
    node3 = network.net.nodes[3]
    # Within the window: state at any kept height, with proofs
    with VoxClient(node3.api_url) as client:
        for h in (latest, latest - WINDOW // 2):
            assert client.account(address, height=h, prove=True).balance == 1_000
    # Below it: the state version is gone, and said so
    with httpx.Client(base_url=node3.api_url, timeout=30) as api:
        old = api.get(f"/v1/accounts/{encode_address(address)}", params={"height": "3"})
        assert old.status_code >= 400 and "pruned" in old.text, old.text
        assert api.get("/v1/blocks/3").status_code == 404
    # CometBFT pruned its blocks too, but kept those from the oldest snapshot on
    status = network.rpcs[3].get("status")["sync_info"]
    oldest_snapshot = min(snapshot_dir(network, 3).heights())
    assert 1 < int(status["earliest_block_height"]) <= oldest_snapshot
    assert int(network.rpcs[0].get("status")["sync_info"]["earliest_block_height"]) == 1
    assert os.path.exists(node3.node_home.state_dir)
