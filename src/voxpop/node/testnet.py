"""A local multi-validator network on loopback: n node homes, one genesis, distinct ports.

    init_testnet(n, dir, app_state=...)   write DIR/node0..node{n-1} and DIR/testnet.json
    testnet_up(dir)                       start every node in the background (pid in HOME/node.pid)
    testnet_down(dir)                     SIGTERM every node, SIGKILL after a grace period

Ports of node i (base_port B, default 27000): p2p B+10i, CometBFT RPC B+10i+1, ABCI B+10i+2,
our HTTP API B+10i+3; pprof and Prometheus are off. Each node lists every other one in
`persistent_peers`; `addr_book_strict = false` and `allow_duplicate_ip = true` let them meet on
127.0.0.1. Node keys are generated here, so node ids are known before anything starts.
"""

from __future__ import annotations

import base64
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

from voxpop.node.home import NodeHome

MANIFEST = "testnet.json"
NODE_PID = "node.pid"
NODE_LOG = "node.log"
DEFAULT_BASE_PORT = 27000
DEFAULT_POWER = 10
DEFAULT_APP_FACTORY = "voxpop.node.app_factory:open_app"
DOWN_GRACE_SECONDS = 20.0  # above the node's own grace for stopping CometBFT (15 s)


class TestnetError(RuntimeError):
    """The testnet directory is missing, incomplete, or already initialised."""


@dataclass(frozen=True, slots=True)
class GenesisValidator:
    """One generated validator, as handed to an app_state function."""

    name: str
    pub_key_ed25519: bytes
    address: bytes  # sha256(pub_key)[:20]
    power: int


@dataclass(frozen=True, slots=True)
class TestnetNode:
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
class Testnet:
    chain_id: str
    nodes: tuple[TestnetNode, ...]


AppState = Mapping[str, Any] | Callable[[Sequence[GenesisValidator]], Mapping[str, Any]]


def _ed25519_key_json(key: SigningKey) -> dict[str, Any]:
    """CometBFT's JSON for an Ed25519 private key: base64 of seed || public key (64 bytes)."""
    raw = bytes(key) + bytes(key.verify_key)
    return {"type": "tendermint/PrivKeyEd25519", "value": base64.b64encode(raw).decode()}


def _pub_key_json(pub: bytes) -> dict[str, str]:
    return {"type": "tendermint/PubKeyEd25519", "value": base64.b64encode(pub).decode()}


def compute_node_id(node_key: SigningKey) -> str:
    """CometBFT's p2p node id: hex of the first 20 bytes of sha256(public key)."""
    return hashlib.sha256(bytes(node_key.verify_key)).digest()[:20].hex()


def _write_json(path: Path, doc: Any, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    if mode is not None:
        path.chmod(mode)


def init_testnet(
    n: int,
    dir: Path,
    *,
    app_state: AppState | None = None,
    chain_id: str = "voxpop-testnet",
    base_port: int = DEFAULT_BASE_PORT,
    timeout_commit: str = "1s",
    create_empty_blocks: bool = True,
    power: int = DEFAULT_POWER,
    genesis_time_unix: int | None = None,
    log_level: str = "info",
) -> Testnet:
    """Write `n` validator homes under `dir` sharing one genesis; return the layout.

    `app_state` is written verbatim into genesis.json; it may instead be a function of the
    generated validators (for staking state that must name them). Raises TestnetError if `dir`
    already holds a testnet, ValueError if `n < 1`.
    """
    if n < 1:
        raise ValueError(f"a testnet needs at least one node, not {n}")
    dir = dir.resolve()
    if (dir / MANIFEST).exists():
        raise TestnetError(f"{dir} already holds a testnet ({MANIFEST}); remove it first")

    validator_keys = [SigningKey.generate() for _ in range(n)]
    node_keys = [SigningKey.generate() for _ in range(n)]
    validators = [
        GenesisValidator(
            name=f"node{i}",
            pub_key_ed25519=bytes(k.verify_key),
            address=hashlib.sha256(bytes(k.verify_key)).digest()[:20],
            power=power,
        )
        for i, k in enumerate(validator_keys)
    ]
    nodes = tuple(
        TestnetNode(
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
    state = app_state(validators) if callable(app_state) else (app_state or {})
    genesis = {
        "chain_id": chain_id,
        "genesis_time": _rfc3339(
            genesis_time_unix if genesis_time_unix is not None else int(time.time())
        ),
        "initial_height": 1,
        "validators": [
            {"name": v.name, "pub_key": _pub_key_json(v.pub_key_ed25519), "power": v.power}
            for v in validators
        ],
        "app_state": dict(state),
    }

    for i, node in enumerate(nodes):
        home = node.node_home
        _write_json(home.genesis_json, genesis)
        _write_json(
            home.priv_validator_key,
            {
                "address": validators[i].address.hex().upper(),
                "pub_key": _pub_key_json(validators[i].pub_key_ed25519),
                "priv_key": _ed25519_key_json(validator_keys[i]),
            },
            mode=0o600,
        )
        _write_json(
            home.cometbft_dir / "config" / "node_key.json",
            {"priv_key": _ed25519_key_json(node_keys[i])},
            mode=0o600,
        )
        peers = ",".join(f"{p.node_id}@127.0.0.1:{p.p2p_port}" for p in nodes if p is not node)
        config = {
            "api": {"laddr": f"127.0.0.1:{node.api_port}"},
            "consensus": {
                "timeout_commit": timeout_commit,
                "create_empty_blocks": create_empty_blocks,
            },
            "cometbft": {
                "moniker": node.name,
                "p2p_laddr": f"tcp://127.0.0.1:{node.p2p_port}",
                "rpc_laddr": f"tcp://127.0.0.1:{node.rpc_port}",
                "proxy_app": f"tcp://127.0.0.1:{node.abci_port}",
                "persistent_peers": peers,
                "log_level": log_level,
                "config": {
                    "p2p": {"addr_book_strict": False, "allow_duplicate_ip": True},
                    "rpc": {"pprof_laddr": ""},
                    "instrumentation": {"prometheus": False},
                },
            },
        }
        home.config_toml.write_text(tomli_w.dumps(config))
        home.state_dir.mkdir(parents=True, exist_ok=True)

    testnet = Testnet(chain_id=chain_id, nodes=nodes)
    _write_json(
        dir / MANIFEST, {"chain_id": chain_id, "nodes": [asdict(node) for node in nodes]}
    )
    return testnet


def _rfc3339(unix: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


def load_testnet(dir: Path) -> Testnet:
    """Read DIR/testnet.json. Raises TestnetError if it is missing."""
    path = dir.resolve() / MANIFEST
    if not path.exists():
        raise TestnetError(f"{path} not found; run init_testnet first")
    doc = json.loads(path.read_text())
    return Testnet(
        chain_id=doc["chain_id"], nodes=tuple(TestnetNode(**node) for node in doc["nodes"])
    )


def _read_pid(home: Path) -> int | None:
    try:
        return int((home / NODE_PID).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _is_running_node(pid: int, home: Path) -> bool:
    """True if `pid` is alive and is the node process for `home` (its command line names it)."""
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


def node_command(home: NodeHome, app_factory: str, python: str = sys.executable) -> list[str]:
    """The command that runs one node in the foreground."""
    return [python, "-m", "voxpop.node.cometbft", "--home", str(home.root), "--app", app_factory]


def testnet_up(
    dir: Path,
    *,
    app_factory: str = DEFAULT_APP_FACTORY,
    command: Callable[[NodeHome], list[str]] | None = None,
    env: Mapping[str, str] | None = None,
) -> list[int]:
    """Start every node not already running, in the background; return their pids.

    Each node runs `command(home)` (default `python -m voxpop.node.cometbft --home HOME --app
    APP_FACTORY`) in its own session, with output in HOME/node.log and its pid in HOME/node.pid.
    Raises TestnetError if `dir` holds no testnet.
    """
    testnet = load_testnet(dir)
    pids: list[int] = []
    for node in testnet.nodes:
        home = Path(node.home)
        pid = _read_pid(home)
        if pid is not None and _is_running_node(pid, home):
            pids.append(pid)
            continue
        argv = command(node.node_home) if command else node_command(node.node_home, app_factory)
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
        (home / NODE_PID).write_text(f"{proc.pid}\n")
        pids.append(proc.pid)
    return pids


def testnet_down(dir: Path, *, grace: float = DOWN_GRACE_SECONDS) -> None:
    """Stop every running node: SIGTERM, then SIGKILL whatever is left after `grace` seconds.

    Raises TestnetError if `dir` holds no testnet.
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


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap(pids: Iterable[int]) -> None:
    """Collect exit statuses of nodes this process started (so they do not linger as zombies)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
