"""A local multi-validator network on loopback: n node homes, one genesis, distinct ports.

    init_testnet(n, dir)   write DIR/node0..node{n-1} and DIR/testnet.json
    start_testnet(dir)     start every node in the background (pid in HOME/node.pid)
    stop_testnet(dir)      SIGTERM every node, SIGKILL after a grace period

(Not `testnet_up`/`testnet_down`: pytest would collect any `test*` function a test imports.)

Ports of node i (base_port B, default 27000): p2p B+10i, CometBFT RPC B+10i+1, ABCI B+10i+2,
our HTTP API B+10i+3; pprof and Prometheus are off. Each node lists every other one in
`persistent_peers`. HOME/cometbft/overrides.toml binds p2p to 127.0.0.1 and sets
`addr_book_strict = false`, `allow_duplicate_ip = true` so the nodes accept each other on one IP.
Node keys are generated here, so node ids are known before anything starts.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tomli_w
from nacl.signing import SigningKey

from voxpop.chain.genesis import (
    UVOX_PER_VOX,
    Genesis,
    GenesisValidator,
    default_app_state,
    default_consensus_params,
)
from voxpop.crypto import Keyring
from voxpop.crypto.keys import PrivateKey
from voxpop.node.config import ApiConfig, CometConfig, NodeConfig
from voxpop.node.home import NodeHome
from voxpop.node.init import OPERATOR_SPARE, operator_address
from voxpop.node.validator_key import save_validator_key

MANIFEST = "testnet.json"
NODE_PID = "node.pid"
NODE_LOG = "node.log"
OVERRIDES_FILE = "overrides.toml"  # the same file voxpop.node.cometbft.config reads
DEFAULT_BASE_PORT = 27000
DEFAULT_POWER = 10
DEFAULT_APP_FACTORY = "voxpop.node.app_factory:open_app"
DOWN_GRACE_SECONDS = 20.0  # above the node's own grace for stopping CometBFT (15 s)

# Nodes started by this process, kept so they can be reaped (and are not reported as leaked
# while still running by design).
_started: dict[int, subprocess.Popen[bytes]] = {}


class LocalNetError(RuntimeError):
    """The testnet directory is missing, incomplete, or already initialised."""


@dataclass(frozen=True, slots=True)
class LocalNode:
    name: str
    home: str
    node_id: str
    p2p_port: int
    rpc_port: int
    abci_port: int
    api_port: int

    @property
    def node_home(self) -> NodeHome:
        return NodeHome(Path(self.home))

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"


@dataclass(frozen=True, slots=True)
class LocalNet:
    chain_id: str
    nodes: tuple[LocalNode, ...]


AppState = Mapping[str, Any] | Callable[[Sequence[GenesisValidator]], Mapping[str, Any]]


def compute_node_id(node_key: SigningKey) -> str:
    """CometBFT's p2p node id: hex of the first 20 bytes of sha256(public key)."""
    return hashlib.sha256(bytes(node_key.verify_key)).digest()[:20].hex()


def _node_key_json(key: SigningKey) -> dict[str, Any]:
    """CometBFT's node_key.json: the Ed25519 key as base64 of seed || public key."""
    raw = bytes(key) + bytes(key.verify_key)
    return {
        "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": base64.b64encode(raw).decode()}
    }


def init_testnet(
    n: int,
    dir: Path,
    *,
    app_state: AppState | None = None,
    chain_id: str = "voxpop-testnet",
    base_port: int = DEFAULT_BASE_PORT,
    timeout_commit_ms: int = 1000,
    create_empty_blocks: bool = True,
    power: int = DEFAULT_POWER,
    genesis_time_unix: int | None = None,
    log_level: str = "info",
) -> LocalNet:
    """Write `n` validator homes under `dir` sharing one genesis; return the layout.

    Each node's home gets an operator account in its `test` keyring (name `validator`). By default
    `app_state` is `default_app_state` with each operator funded and self-bonding
    `power * 1_000_000` uvox, so the staking module's validator set equals genesis.json's.
    Otherwise `app_state` is written verbatim into genesis.json; it may be a function of the
    generated validators, for state that must name them. Raises LocalNetError if `dir` already
    holds a testnet, ValueError if `n < 1`.
    """
    if n < 1:
        raise ValueError(f"a testnet needs at least one node, not {n}")
    dir = dir.resolve()
    if (dir / MANIFEST).exists():
        raise LocalNetError(f"{dir} already holds a testnet ({MANIFEST}); remove it first")

    validator_keys = [PrivateKey.generate() for _ in range(n)]
    node_keys = [SigningKey.generate() for _ in range(n)]
    validators = tuple(
        GenesisValidator(key.public_key.raw, power, f"node{i}")
        for i, key in enumerate(validator_keys)
    )
    nodes = tuple(
        LocalNode(
            name=f"node{i}",
            home=str(dir / f"node{i}"),
            node_id=compute_node_id(node_keys[i]),
            p2p_port=base_port + 10 * i,
            rpc_port=base_port + 10 * i + 1,
            abci_port=base_port + 10 * i + 2,
            api_port=base_port + 10 * i + 3,
        )
        for i in range(n)
    )
    operators = []
    for node in nodes:
        node.node_home.keyring_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(node.home, 0o700)
        operators.append(operator_address(Keyring(node.node_home.keyring_dir, "test")))
    if app_state is None:
        self_bond = power * UVOX_PER_VOX
        state: Mapping[str, Any] = default_app_state(
            [(op, self_bond + OPERATOR_SPARE) for op in operators],
            validators=[
                (op, key.public_key.raw, self_bond)
                for op, key in zip(operators, validator_keys, strict=True)
            ],
        )
    elif callable(app_state):
        state = app_state(validators)
    else:
        state = app_state
    genesis = Genesis(
        chain_id=chain_id,
        genesis_time_unix=genesis_time_unix if genesis_time_unix is not None else int(time.time()),
        initial_height=1,
        validators=validators,
        app_state=dict(state),
        consensus_params=default_consensus_params(),
    )

    for i, node in enumerate(nodes):
        home = node.node_home
        for d in (home.root, home.config_dir, home.data_dir, home.cometbft_dir / "config"):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(home.root, 0o700)
        genesis.save(home.genesis_json)
        save_validator_key(home.priv_validator_key, validator_keys[i])
        node_key_path = home.cometbft_dir / "config" / "node_key.json"
        node_key_path.write_text(json.dumps(_node_key_json(node_keys[i]), indent=2) + "\n")
        node_key_path.chmod(0o600)
        peers = ",".join(f"{p.node_id}@127.0.0.1:{p.p2p_port}" for p in nodes if p is not node)
        NodeConfig(
            moniker=node.name,
            api=ApiConfig(host="127.0.0.1", port=node.api_port),
            cometbft=CometConfig(
                p2p_port=node.p2p_port,
                rpc_port=node.rpc_port,
                abci_port=node.abci_port,
                timeout_commit_ms=timeout_commit_ms,
                create_empty_blocks=create_empty_blocks,
                persistent_peers=peers,
            ),
        ).save(home.config_toml)
        overrides = {
            "log_level": log_level,
            "p2p": {
                "laddr": f"tcp://127.0.0.1:{node.p2p_port}",
                "addr_book_strict": False,
                "allow_duplicate_ip": True,
            },
        }
        (home.cometbft_dir / OVERRIDES_FILE).write_text(tomli_w.dumps(overrides))

    testnet = LocalNet(chain_id=chain_id, nodes=nodes)
    manifest = {"chain_id": chain_id, "nodes": [asdict(node) for node in nodes]}
    (dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return testnet


def init_full_node(
    testnet: LocalNet,
    path: Path,
    *,
    base_port: int,
    state_sync: bool,
    timeout_commit_ms: int = 1000,
    discovery_ms: int = 5_000,
) -> LocalNode:
    """Write a full node's home at `path` that follows `testnet` (peers with every node, on this
    host, ports base_port .. base_port+3), joining by state sync (`voxpop node init
    --state-sync`'s setup: the trust root from our light client over the first two nodes' RPC)
    or, without, by replaying every block. Not added to the manifest: the caller runs and stops
    it (`node_command`). Raises StateSyncSetupError if the trust root cannot be verified."""
    from voxpop.node.statesync import init_state_sync_home, verified_trust_root

    home = NodeHome(path)
    config = NodeConfig(
        moniker=path.name,
        api=ApiConfig(port=base_port + 3),
        cometbft=CometConfig(
            p2p_port=base_port,
            rpc_port=base_port + 1,
            abci_port=base_port + 2,
            timeout_commit_ms=timeout_commit_ms,
            persistent_peers=",".join(f"{n.node_id}@127.0.0.1:{n.p2p_port}" for n in testnet.nodes),
        ),
    )
    genesis = testnet.nodes[0].node_home.genesis_json
    if state_sync:
        servers = [n.rpc_url for n in testnet.nodes[:2]]
        if len(servers) == 1:  # CometBFT asks for two; one node is its own witness
            servers *= 2
        trust = verified_trust_root(servers)
        init_state_sync_home(
            home,
            genesis=genesis,
            rpc_servers=servers,
            trust=trust,
            config=config,
            discovery_ms=discovery_ms,
        )
    else:
        for d in (home.root, home.config_dir, home.data_dir):
            d.mkdir(parents=True, exist_ok=True)
        save_validator_key(home.priv_validator_key, PrivateKey.generate())
        home.genesis_json.write_bytes(genesis.read_bytes())
        config.save(home.config_toml)
    node_key = SigningKey.generate()
    (home.cometbft_dir / "config").mkdir(parents=True, exist_ok=True)
    (home.cometbft_dir / "config" / "node_key.json").write_text(
        json.dumps(_node_key_json(node_key))
    )
    # One host: peers share an IP, as the testnet's own nodes do
    p2p = {"laddr": f"tcp://127.0.0.1:{base_port}", "addr_book_strict": False}
    p2p["allow_duplicate_ip"] = True
    (home.cometbft_dir / OVERRIDES_FILE).write_text(tomli_w.dumps({"p2p": p2p}))
    return LocalNode(
        name=path.name,
        home=str(path),
        node_id=compute_node_id(node_key),
        p2p_port=base_port,
        rpc_port=base_port + 1,
        abci_port=base_port + 2,
        api_port=base_port + 3,
    )


def load_testnet(dir: Path) -> LocalNet:
    """Read DIR/testnet.json. Raises LocalNetError if it is missing."""
    path = dir.resolve() / MANIFEST
    if not path.exists():
        raise LocalNetError(f"{path} not found; run init_testnet first")
    doc = json.loads(path.read_text())
    return LocalNet(
        chain_id=doc["chain_id"], nodes=tuple(LocalNode(**node) for node in doc["nodes"])
    )


def _read_pid(home: Path) -> int | None:
    try:
        return int((home / NODE_PID).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _is_running_node(pid: int, home: Path) -> bool:
    """True if `pid` is alive and is the node process for `home` (its command line names it)."""
    started = _started.get(pid)
    if started is not None:  # ours: right after fork its command line is still our own
        return started.poll() is None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): trust the pid file if the process exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return str(home).encode() in cmdline.split(b"\0")


def node_command(
    home: NodeHome, app_factory: str = DEFAULT_APP_FACTORY, *, serve_api: bool = True
) -> list[str]:
    """The command that runs one node in the foreground (this Python, `-m voxpop.node.cometbft`)."""
    argv = [sys.executable, "-m", "voxpop.node.cometbft", "--home", str(home.root)]
    argv += ["--app", app_factory]
    return argv if serve_api else [*argv, "--no-api"]


def start_testnet(
    dir: Path,
    *,
    app_factory: str = DEFAULT_APP_FACTORY,
    serve_api: bool = True,
    command: Callable[[NodeHome], list[str]] | None = None,
    env: Mapping[str, str] | None = None,
    settle_seconds: float = 1.0,
) -> list[int]:
    """Start every node not already running, in the background; return their pids.

    Each node runs `command(home)` (default: `node_command`, i.e. `python -m voxpop.node.cometbft
    --home HOME --app APP_FACTORY`) in its own session, with output in HOME/node.log and its pid
    in HOME/node.pid. A custom command must pass the home path as one argument of its own (that
    is how `stop_testnet` recognises the process).

    Raises LocalNetError if `dir` holds no testnet, or if a node exits within `settle_seconds`
    of starting (the message names its log and quotes its last error line).
    """
    testnet = load_testnet(dir)
    pids: list[int] = []
    for node in testnet.nodes:
        home = Path(node.home)
        pid = _read_pid(home)
        if pid is not None and _is_running_node(pid, home):
            pids.append(pid)
            continue
        argv = (
            command(node.node_home)
            if command
            else node_command(node.node_home, app_factory, serve_api=serve_api)
        )
        with (home / NODE_LOG).open("ab") as log_file:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=dict(env) if env is not None else None,
                cwd=home,
            )
        _started[proc.pid] = proc
        (home / NODE_PID).write_text(f"{proc.pid}\n")
        pids.append(proc.pid)
    _check_started(testnet, settle_seconds)
    return pids


def _check_started(testnet: LocalNet, settle_seconds: float) -> None:
    deadline = time.monotonic() + settle_seconds
    while True:
        for node in testnet.nodes:
            home = Path(node.home)
            pid = _read_pid(home)
            proc = _started.get(pid) if pid is not None else None
            if proc is not None and proc.poll() is not None:
                lines = (home / NODE_LOG).read_text(errors="replace").strip().splitlines()
                errors = [line for line in lines if " ERROR " in line]
                last = (errors or lines or ["(empty log)"])[-1]
                raise LocalNetError(
                    f"{node.name} exited with code {proc.returncode}; see {home / NODE_LOG}: {last}"
                )
        if time.monotonic() >= deadline:
            return
        time.sleep(0.1)


def stop_testnet(dir: Path, *, grace: float = DOWN_GRACE_SECONDS) -> None:
    """Stop every running node: SIGTERM, then SIGKILL whatever is left after `grace` seconds.

    Raises LocalNetError if `dir` holds no testnet.
    """
    testnet = load_testnet(dir)
    running: list[tuple[int, Path]] = []
    for node in testnet.nodes:
        home = Path(node.home)
        pid = _read_pid(home)
        if pid is None:
            continue
        if _is_running_node(pid, home):
            _signal(pid, signal.SIGTERM)
            running.append((pid, home))
        else:
            (home / NODE_PID).unlink(missing_ok=True)
    deadline = time.monotonic() + grace
    while running and time.monotonic() < deadline:
        _reap(pid for pid, _ in running)
        running = [(pid, home) for pid, home in running if _is_running_node(pid, home)]
        if running:
            time.sleep(0.05)
    for pid, _ in running:
        _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while running and time.monotonic() < deadline:
        _reap(pid for pid, _ in running)
        running = [(pid, home) for pid, home in running if _is_running_node(pid, home)]
        if running:
            time.sleep(0.05)
    for node in testnet.nodes:
        home = Path(node.home)
        pid = _read_pid(home)
        if pid is not None and not _is_running_node(pid, home):
            (home / NODE_PID).unlink(missing_ok=True)
    _reap(list(_started))


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _reap(pids: Iterable[int]) -> None:
    """Collect exit statuses of nodes this process started (so they do not linger as zombies)."""
    for pid in pids:
        proc = _started.get(pid)
        if proc is not None and proc.poll() is not None:
            del _started[pid]
