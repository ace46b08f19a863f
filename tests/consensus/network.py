"""A real voxpop testnet for consensus tests: 4 validators (CometBFT + the real app), funded keys,
per-node process control, and checks that every node holds the same chain.

Builds on tests/abci/comet_testing.py (ports, the CometBFT RPC client, wait_until) and
voxpop.node.testnet (init/start/stop). Every process is stopped by the `network` fixture's
teardown, whatever the test did.
"""

from __future__ import annotations

import base64
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.abci.comet_testing import Rpc, free_base_port, pid_alive, wait_until
from voxpop.chain.genesis import UVOX_PER_VOX, GenesisValidator, default_app_state
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.slashing.state import SlashingParams
from voxpop.chain.tx import encode_tx, make_body, tx_hash
from voxpop.crypto import Keyring
from voxpop.crypto.address import encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.node.init import OPERATOR_KEY, OPERATOR_SPARE, operator_address
from voxpop.node.testnet import (
    NODE_LOG,
    NODE_PID,
    LocalNet,
    _started,  # the Popen of each node this process started, to reap one we kill
    init_testnet,
    load_testnet,
    start_testnet,
    stop_testnet,
)

GAS = 100_000
FUNDS = 10**12
TIMEOUT_COMMIT_MS = 300
POWER = 10  # each validator self-bonds 10 VOX: voting power 10


def funded_keys(count: int, seed: int = 1) -> list[PrivateKey]:
    """Deterministic keys (so a failure can be replayed by hand)."""
    return [PrivateKey(bytes([seed + i]) * 32) for i in range(count)]


def transfer(
    chain_id: str, key: PrivateKey, to: bytes, amount: int, sequence: int, memo: str = ""
) -> bytes:
    body = make_body(
        chain_id=chain_id,
        pub_key=key.public_key.raw,
        sequence=sequence,
        fee=AuthParams().min_fee(GAS),
        gas_limit=GAS,
        memo=memo,
        msgs=[("bank/Send", {"from": key.public_key.address, "to": to, "amount": amount})],
    )
    return encode_tx(body, key.sign(body.sign_bytes()))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class Network:
    """A started (or startable) local testnet and clients for each node."""

    dir: Path
    net: LocalNet
    keys: list[PrivateKey]
    rpcs: list[Rpc] = field(default_factory=list)
    api: list[httpx.Client] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        dir: Path,
        *,
        n: int = 4,
        keys: int = 20,
        timeout_commit_ms: int = TIMEOUT_COMMIT_MS,
        slashing: SlashingParams | None = None,
    ) -> Network:
        """Init (not start) a testnet as `voxpop testnet init` does (each validator a staking
        validator whose operator key, `validator`, is in its home's test keyring, self-bonding
        POWER VOX), plus `keys` funded accounts."""
        funded = funded_keys(keys)
        root = dir.resolve()

        def app_state(validators: Sequence[GenesisValidator]) -> dict[str, Any]:
            # init_testnet creates each operator key before it asks for the app state
            operators = [
                operator_address(Keyring(root / f"node{i}" / "keyring", "test"))
                for i in range(len(validators))
            ]
            self_bond = POWER * UVOX_PER_VOX
            return default_app_state(
                [(k.public_key.address, FUNDS) for k in funded]
                + [(op, self_bond + OPERATOR_SPARE) for op in operators],
                validators=[
                    (op, v.pub_key, self_bond) for op, v in zip(operators, validators, strict=True)
                ],
                slashing=slashing,
            )

        net = init_testnet(
            n,
            dir,
            app_state=app_state,
            base_port=free_base_port(n),
            timeout_commit_ms=timeout_commit_ms,
            power=POWER,
        )
        return cls(dir, net, funded)

    def operator_key(self, i: int) -> PrivateKey:
        """Node i's operator account key (`validator` in its home's test keyring)."""
        keyring = Keyring(self.net.nodes[i].node_home.keyring_dir, "test")
        return keyring.load_private_key(OPERATOR_KEY)

    @classmethod
    def load(cls, dir: Path, keys: list[PrivateKey] | None = None) -> Network:
        """A testnet made elsewhere (e.g. by `voxpop testnet init`)."""
        return cls(dir, load_testnet(dir), keys or [])

    def __post_init__(self) -> None:
        self.rpcs = [Rpc(node.rpc_url) for node in self.net.nodes]
        self.api = [httpx.Client(base_url=node.api_url, timeout=60) for node in self.net.nodes]

    @property
    def chain_id(self) -> str:
        return self.net.chain_id

    def __len__(self) -> int:
        return len(self.net.nodes)

    # --- processes ------------------------------------------------------------------------------

    def start(self, wait_height: int = 2, timeout: float = 90) -> None:
        """Start every node not running; wait until the running ones reach `wait_height`."""
        start_testnet(self.dir)
        self.wait_height(wait_height, range(len(self)), timeout)

    def close(self) -> None:
        """Stop every node and close the clients (the fixture's teardown)."""
        try:
            stop_testnet(self.dir, grace=20)
        finally:
            for rpc in self.rpcs:
                rpc.close()
            for client in self.api:
                client.close()

    def node_pid(self, i: int) -> int:
        return int((Path(self.net.nodes[i].home) / NODE_PID).read_text())

    def cometbft_pid(self, i: int) -> int:
        return int((self.net.nodes[i].node_home.cometbft_dir / "cometbft.pid").read_text())

    def kill(self, i: int, *, cometbft_too: bool = True) -> None:
        """SIGKILL node i's Python process (the app and API) and, unless told otherwise, its
        CometBFT; wait until both are gone (CometBFT follows its parent in any case)."""
        comet = self.cometbft_pid(i)
        node = self.node_pid(i)
        os.kill(node, signal.SIGKILL)
        if cometbft_too:
            os.kill(comet, signal.SIGKILL)
        # Reap it: /proc shows a multi-threaded process as a zombie while its other threads are
        # still being torn down, and start_testnet would take it for running until then.
        proc = _started.get(node)
        if proc is not None:
            proc.wait(timeout=30)
        wait_until(lambda: not pid_alive(node) and not pid_alive(comet), 30, f"node{i} to die")

    def stop_node(self, i: int) -> None:
        """SIGTERM node i (it stops its CometBFT first); wait until it is gone."""
        node = self.node_pid(i)
        os.kill(node, signal.SIGTERM)
        wait_until(lambda: not pid_alive(node), 30, f"node{i} to stop")

    # --- chain views ----------------------------------------------------------------------------

    def height(self, i: int) -> int:
        """The latest height CometBFT of node i has stored (0 if it does not answer)."""
        return self.rpcs[i].height()

    def wait_height(self, height: int, nodes: range | list[int], timeout: float = 60) -> None:
        wait_until(
            lambda: all(self.height(i) >= height for i in nodes),
            timeout,
            lambda: (
                f"nodes {list(nodes)} at height {height} (now {[self.height(i) for i in nodes]})"
                f"{self.log_tails()}"
            ),
        )

    def log_tails(self, lines: int = 25) -> str:
        """The last lines of every node's log, for a failure message: a stalled network says
        why in them (a refused proposal, a failed ABCI call, a peer it cannot reach)."""
        out = []
        for i, node in enumerate(self.net.nodes):
            for path in (Path(node.home) / NODE_LOG, node.node_home.cometbft_dir / "cometbft.log"):
                text = path.read_text(errors="replace") if path.exists() else "(no log)"
                tail = "\n".join(text.splitlines()[-lines:])
                out.append(f"\n--- node{i} {path} ---\n{tail}")
        return "".join(out)

    def headers(self, i: int, lo: int, hi: int) -> dict[int, tuple[str, str]]:
        """{height: (block hash, header app hash)} of node i for heights lo..hi, from CometBFT's
        `blockchain` RPC (20 headers per call). The header at H carries the app hash after H-1."""
        out: dict[int, tuple[str, str]] = {}
        top = hi
        while top >= lo:
            metas = self.rpcs[i].get("blockchain", minHeight=max(lo, top - 19), maxHeight=top)
            for meta in metas["block_metas"]:
                header = meta["header"]
                out[int(header["height"])] = (meta["block_id"]["hash"], header["app_hash"])
            top -= 20
        return out

    def assert_same_chain(self, nodes: range | list[int], lo: int = 1, hi: int = 0) -> int:
        """Every node in `nodes` has the same block hash and app hash at each height lo..hi
        (default: the lowest latest height among them); returns hi."""
        hi = hi or min(self.height(i) for i in nodes)
        assert hi >= lo, f"no common heights: {[self.height(i) for i in nodes]}"
        views = {i: self.headers(i, lo, hi) for i in nodes}
        first = views[nodes[0]]
        assert sorted(first) == list(range(lo, hi + 1))
        for i in nodes:
            for height in range(lo, hi + 1):
                assert views[i][height] == first[height], (
                    f"node{i} differs from node{nodes[0]} at height {height}: "
                    f"{views[i][height]} != {first[height]}"
                )
        return hi

    def api_app_hash(self, i: int, height: int) -> str:
        """The app hash after `height` as our HTTP API reports it (from block_results)."""
        reply = self.api[i].get(f"/v1/blocks/{height}")
        reply.raise_for_status()
        value: str = reply.json()["header"]["app_hash"]
        return value

    def account(
        self, i: int, key_or_address: PrivateKey | bytes, height: int | None = None
    ) -> dict[str, Any]:
        """Node i's view of an account, at `height` (default: its latest block)."""
        raw = (
            key_or_address.public_key.address
            if isinstance(key_or_address, PrivateKey)
            else key_or_address
        )
        params = {"height": str(height)} if height is not None else {}
        reply = self.api[i].get(f"/v1/accounts/{encode_address(raw)}", params=params)
        reply.raise_for_status()
        result: dict[str, Any] = reply.json()
        return result

    def committed_tx(self, i: int, tx: bytes) -> dict[str, Any] | None:
        """Node i's record of a committed tx (GET /v1/txs/{hash}); None if it has none."""
        return self.tx_record(i, tx_hash(tx).hex())

    def tx_record(self, i: int, hash_hex: str) -> dict[str, Any] | None:
        reply = self.api[i].get(f"/v1/txs/{hash_hex}")
        if reply.status_code == 404:
            return None
        reply.raise_for_status()
        result: dict[str, Any] = reply.json()
        return result


@dataclass
class Accepted:
    tx: bytes
    height: int
    node: int


class CommitLoad:
    """Steady load: one thread per key, each submitting transfers in commit mode to its node,
    round robin over `nodes`. Records every tx the API reported committed (200, code 0)."""

    def __init__(self, network: Network, keys: list[PrivateKey], nodes: list[int]) -> None:
        self.network = network
        self.keys = keys
        self.nodes = nodes
        self.accepted: list[Accepted] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(k, i), daemon=True) for i, k in enumerate(keys)
        ]

    def __enter__(self) -> CommitLoad:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def _run(self, key: PrivateKey, index: int) -> None:
        net = self.network
        node = self.nodes[index % len(self.nodes)]
        to = self.keys[(index + 1) % len(self.keys)].public_key.address
        with httpx.Client(base_url=net.net.nodes[node].api_url, timeout=60) as client:
            sequence = -1
            while not self._stop.is_set():
                try:
                    if sequence < 0:
                        sequence = client.get(
                            f"/v1/accounts/{encode_address(key.public_key.address)}"
                        ).json()["sequence"]
                    tx = transfer(net.chain_id, key, to, 1, sequence)
                    reply = client.post("/v1/txs", json={"tx": b64(tx), "mode": "commit"})
                except httpx.HTTPError as exc:
                    self._note(f"node{node}: {exc!r}")
                    sequence = -1
                    time.sleep(0.2)
                    continue
                if reply.status_code == 200 and reply.json()["code"] == 0:
                    with self._lock:
                        self.accepted.append(Accepted(tx, reply.json()["height"], node))
                    sequence += 1
                elif reply.status_code == 202:  # accepted, not yet committed: it holds the seq
                    sequence += 1
                else:
                    self._note(f"node{node}: {reply.status_code} {reply.text[:200]}")
                    sequence = -1
                    time.sleep(0.2)

    def _note(self, error: str) -> None:
        with self._lock:
            self.errors.append(error)
