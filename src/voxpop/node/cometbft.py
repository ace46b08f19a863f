"""Running a node under CometBFT: its home, the supervised process, and a NodeService over its RPC.

    run_cometbft_node(home)          prepare HOME/cometbft, serve the app over ABCI, run and
                                     supervise `cometbft start`; blocks; returns an exit code
    prepare_cometbft_home(home, s)   `cometbft init` once, then (each start) genesis, key, config
    CometNodeService                 the NodeService the HTTP API uses, relayed to CometBFT's RPC

Layout (see docs/operations/cometbft.md):

    HOME/config/config.toml              our settings: moniker, [api], [cometbft] (ports, timing)
    HOME/config/genesis.json             ours; HOME/cometbft/config/genesis.json is derived from it
    HOME/config/priv_validator_key.json  copied to HOME/cometbft/config/ (CometBFT's own format)
    HOME/cometbft/                       CometBFT's home: config/, data/, cometbft.log, cometbft.pid
    HOME/cometbft/overrides.toml         optional, merged last into CometBFT's config.toml

Either process ending stops the other: if CometBFT exits, the ABCI server is closed; if the ABCI
server hits a fatal error or we get SIGINT/SIGTERM, CometBFT gets SIGTERM (then SIGKILL after a
grace period). On Linux CometBFT is killed if this process dies without cleaning up (kill -9);
elsewhere a CometBFT left over from such a run is stopped before the next start.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ctypes
import gc
import hashlib
import importlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import tomli_w

from voxpop.chain.abci import (
    Application,
    Event,
    EventAttribute,
    ExecTxResult,
    RequestQuery,
    ResponseQuery,
)
from voxpop.chain.errors import (
    CODESPACE,
    ChainError,
    CommitTimeoutError,
    MempoolFullError,
    TxInMempoolError,
)
from voxpop.node.home import NodeHome

if TYPE_CHECKING:
    from voxpop.node.config import ApiConfig
from voxpop.node.service import (
    BlockHeader,
    BlockRecord,
    BroadcastMode,
    BroadcastResult,
    NodeEvent,
    NodeStatus,
    TxRecord,
)

log = logging.getLogger("voxpop.node.cometbft")

COMETBFT_VERSION = "0.38.25"
SUPPORTED_VERSION_PREFIX = "0.38."
COMETBFT_ENV = "VOXPOP_COMETBFT"
STOP_GRACE_SECONDS = 15.0
OVERRIDES_FILE = "overrides.toml"

ED25519_PUBKEY_TYPE = "tendermint/PubKeyEd25519"
# Above the HTTP API's batch body limit (32 MB of base64) once hex-free JSON-RPC framing is added.
RPC_MAX_BODY_BYTES = 64 * 1024 * 1024


class CometBFTError(RuntimeError):
    """CometBFT is missing, the wrong version, or failed a command."""


class GenesisError(ValueError):
    """Our genesis.json cannot be turned into CometBFT's."""


class CometRPCError(RuntimeError):
    """CometBFT's RPC answered with a JSON-RPC error, or could not be reached."""

    def __init__(self, method: str, message: str, data: str = "") -> None:
        super().__init__(f"{method}: {message}{': ' + data if data else ''}")
        self.method = method
        self.message = message
        self.data = data


# --- the binary -------------------------------------------------------------------------------


def find_cometbft() -> Path:
    """Locate the cometbft binary: $VOXPOP_COMETBFT, then PATH, then $GOBIN, $GOPATH/bin, ~/go/bin.

    Raises CometBFTError if none exists.
    """
    explicit = os.environ.get(COMETBFT_ENV)
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise CometBFTError(f"${COMETBFT_ENV}={explicit} is not an executable file")
        return Path(explicit)
    on_path = shutil.which("cometbft")
    if on_path:
        return Path(on_path)
    candidates = []
    if os.environ.get("GOBIN"):
        candidates.append(Path(os.environ["GOBIN"]) / "cometbft")
    if os.environ.get("GOPATH"):
        candidates.extend(Path(p) / "bin" / "cometbft" for p in os.environ["GOPATH"].split(":"))
    candidates.append(Path.home() / "go" / "bin" / "cometbft")
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    raise CometBFTError(
        f"cometbft not found (looked at ${COMETBFT_ENV}, PATH, {', '.join(map(str, candidates))}); "
        "run scripts/install_cometbft.sh"
    )


def cometbft_version(binary: Path) -> str:
    """What `cometbft version` prints. Raises CometBFTError if it fails."""
    done = subprocess.run(
        [str(binary), "version"], capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        raise CometBFTError(f"{binary} version: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout.strip()


def check_cometbft_version(binary: Path) -> str:
    """Raise CometBFTError unless `binary` is a v0.38.x CometBFT (ABCI 2.0 as we speak it)."""
    version = cometbft_version(binary)
    if not version.startswith(SUPPORTED_VERSION_PREFIX):
        raise CometBFTError(
            f"{binary} is CometBFT {version}; voxpop needs {SUPPORTED_VERSION_PREFIX}x "
            f"(pinned {COMETBFT_VERSION}: run scripts/install_cometbft.sh)"
        )
    return version


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CometSettings:
    """How this node's CometBFT is configured.

    From our HOME/config/config.toml (`voxpop.node.config`): `moniker`, `[api] host/port` and
    `[cometbft] p2p_port, rpc_port, abci_port, timeout_commit_ms, create_empty_blocks,
    persistent_peers`. P2P listens on all interfaces (peers must reach it), RPC and ABCI on
    127.0.0.1 only (the HTTP API is the public face).

    Anything else goes in HOME/cometbft/overrides.toml, which is merged verbatim into CometBFT's
    config.toml at every start, after the settings above (so it wins), e.g.
    `log_level = "debug"` or `[p2p] laddr = "tcp://127.0.0.1:26656"`.
    """

    moniker: str = "voxpop-node"
    p2p_port: int = 26656
    rpc_port: int = 26657
    abci_port: int = 26658
    timeout_commit_ms: int = 1000
    create_empty_blocks: bool = True
    persistent_peers: str = ""
    api_host: str = "127.0.0.1"
    api_port: int = 1317
    overrides: dict[str, Any] = field(default_factory=dict)


def load_comet_settings(home: NodeHome) -> CometSettings:
    """Read CometSettings from HOME/config/config.toml and HOME/cometbft/overrides.toml.

    Raises voxpop.node.config.ConfigError for a bad config.toml, ValueError for a bad
    overrides.toml.
    """
    from voxpop.node.config import load_config

    config = load_config(home.config_toml)
    overrides: dict[str, Any] = {}
    overrides_path = home.cometbft_dir / OVERRIDES_FILE
    if overrides_path.exists():
        try:
            overrides = tomllib.loads(overrides_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{overrides_path}: {exc}") from exc
    c = config.cometbft
    return CometSettings(
        moniker=config.moniker,
        p2p_port=c.p2p_port,
        rpc_port=c.rpc_port,
        abci_port=c.abci_port,
        timeout_commit_ms=c.timeout_commit_ms,
        create_empty_blocks=c.create_empty_blocks,
        persistent_peers=c.persistent_peers,
        api_host=config.api.host,
        api_port=config.api.port,
        overrides=overrides,
    )


def rpc_url_from_laddr(laddr: str) -> str:
    """An http:// URL for CometBFT's `rpc.laddr` (a wildcard host becomes 127.0.0.1)."""
    hostport = re.sub(r"^\w+://", "", laddr)
    host, _, port = hostport.rpartition(":")
    if host in ("", "0.0.0.0", "[::]", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


# --- genesis and keys -------------------------------------------------------------------------


def validator_address(pub_key: bytes) -> bytes:
    """CometBFT's validator address: the first 20 bytes of sha256(Ed25519 public key)."""
    return hashlib.sha256(pub_key).digest()[:20]


def _pub_key_bytes(value: Any) -> bytes:
    """An Ed25519 public key given as CometBFT's {"type", "value"} object, hex, or base64."""
    if isinstance(value, dict):
        if value.get("type", ED25519_PUBKEY_TYPE) != ED25519_PUBKEY_TYPE:
            raise GenesisError(f"unsupported validator key type {value.get('type')!r}")
        value = value.get("value")
    if not isinstance(value, str):
        raise GenesisError(f"validator pub_key must be a string or object, not {value!r}")
    if re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raw = bytes.fromhex(value)
    else:
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise GenesisError(f"validator pub_key is neither hex nor base64: {value!r}") from exc
    if len(raw) != 32:
        raise GenesisError(f"an Ed25519 public key has 32 bytes, got {len(raw)}")
    return raw


def _rfc3339(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, str) and value:
        return value
    raise GenesisError(f"genesis_time must be an RFC 3339 string or Unix seconds, not {value!r}")


def cometbft_genesis(ours: Mapping[str, Any]) -> dict[str, Any]:
    """Derive CometBFT's genesis.json from ours (`voxpop.chain.genesis`).

    Ours is already in CometBFT's format; this normalises it so CometBFT accepts exactly what the
    solo node would run: the validator address is recomputed from the key, power written as a
    string, `app_hash` empty, `app_state` copied as-is, and missing `consensus_params` filled with
    `voxpop.chain.genesis.default_consensus_params()`. A validator `pub_key` may also be given as
    hex or base64 text.

    Raises GenesisError if a field is missing or malformed.
    """
    try:
        chain_id = ours["chain_id"]
        validators_in = ours["validators"]
    except KeyError as exc:
        raise GenesisError(f"genesis.json has no {exc.args[0]!r}") from exc
    if not isinstance(chain_id, str) or not chain_id:
        raise GenesisError("genesis chain_id must be a non-empty string")
    validators = []
    for i, v in enumerate(validators_in):
        key = _pub_key_bytes(v.get("pub_key"))
        try:
            power = int(v.get("power", 0))
        except (TypeError, ValueError) as exc:
            raise GenesisError(f"validator {i} power {v.get('power')!r} is not an integer") from exc
        if power <= 0:
            raise GenesisError(f"validator {i} has power {power}; it must be positive")
        validators.append(
            {
                "address": validator_address(key).hex().upper(),
                "pub_key": {"type": ED25519_PUBKEY_TYPE, "value": base64.b64encode(key).decode()},
                "power": str(power),
                "name": str(v.get("name", "")),
            }
        )
    consensus_params = ours.get("consensus_params")
    if not consensus_params:
        from voxpop.chain.genesis import default_consensus_params

        consensus_params = default_consensus_params()
    return {
        "genesis_time": _rfc3339(ours.get("genesis_time")),
        "chain_id": chain_id,
        "initial_height": str(int(ours.get("initial_height", 1))),
        "consensus_params": consensus_params,
        "validators": validators,
        "app_hash": "",
        "app_state": ours.get("app_state", {}),
    }


def _write_if_changed(path: Path, content: str, mode: int | None = None) -> bool:
    if path.exists() and path.read_text() == content:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(content)
    if mode is not None:
        tmp.chmod(mode)
    os.replace(tmp, path)
    return True


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def cometbft_config(base: dict[str, Any], settings: CometSettings) -> dict[str, Any]:
    """Apply our settings, then the overrides, to CometBFT's config.toml (as parsed)."""
    cfg = base
    cfg["proxy_app"] = f"tcp://127.0.0.1:{settings.abci_port}"
    cfg["abci"] = "socket"
    cfg["moniker"] = settings.moniker
    # The RPC listens on loopback only, for our API: lift CometBFT's default limits of 10
    # requests per JSON-RPC batch and 1 MB per body, which the batch broadcast path exceeds.
    cfg.setdefault("rpc", {}).update(
        laddr=f"tcp://127.0.0.1:{settings.rpc_port}",
        pprof_laddr="",
        max_request_batch_size=0,
        max_body_bytes=RPC_MAX_BODY_BYTES,
    )
    cfg.setdefault("p2p", {}).update(
        laddr=f"tcp://0.0.0.0:{settings.p2p_port}", persistent_peers=settings.persistent_peers
    )
    cfg.setdefault("consensus", {}).update(
        timeout_commit=f"{settings.timeout_commit_ms}ms",
        create_empty_blocks=settings.create_empty_blocks,
    )
    # CometNodeService reads tx results (block_results) and finds txs by hash (tx_index).
    cfg.setdefault("storage", {})["discard_abci_responses"] = False
    cfg.setdefault("tx_index", {})["indexer"] = "kv"
    cfg.setdefault("instrumentation", {})["prometheus"] = False
    return _deep_merge(cfg, settings.overrides)


@dataclass(frozen=True, slots=True)
class PreparedHome:
    """HOME/cometbft, ready to start, and what the node needs to know about it."""

    path: Path
    chain_id: str
    proxy_app: str  # where our ABCI server must listen
    rpc_url: str  # CometBFT's JSON-RPC, for CometNodeService


def prepare_cometbft_home(
    home: NodeHome, settings: CometSettings, binary: Path | None = None
) -> PreparedHome:
    """Create or refresh HOME/cometbft.

    `cometbft init` runs once (it makes node_key.json unless one exists, and
    data/priv_validator_state.json, CometBFT's double-sign guard; both are kept across restarts).
    On every call the validator key is copied from HOME/config, the genesis is derived from ours
    and CometBFT's config.toml is rewritten from our settings; a file is only rewritten when its
    content changes.

    Raises CometBFTError if `cometbft init` fails, GenesisError for a bad genesis.
    """
    binary = binary or find_cometbft()
    cdir = home.cometbft_dir
    (cdir / "config").mkdir(parents=True, exist_ok=True)

    # Verify our genesis converts before touching anything.
    genesis = cometbft_genesis(json.loads(home.genesis_json.read_text()))

    if not (cdir / "config" / "config.toml").exists():
        done = subprocess.run(
            [str(binary), "init", "--home", str(cdir)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            output = (done.stderr.strip() or done.stdout.strip()).splitlines()
            raise CometBFTError(
                f"cometbft init --home {cdir}: exit {done.returncode}: "
                + (output[-1] if output else "(no output)")
            )

    # After init, which writes a throwaway key (and the signing state file, kept from now on).
    if home.priv_validator_key.exists():
        _write_if_changed(
            cdir / "config" / "priv_validator_key.json",
            home.priv_validator_key.read_text(),
            mode=0o600,
        )

    _write_if_changed(cdir / "config" / "genesis.json", json.dumps(genesis, indent=2) + "\n")
    config_path = cdir / "config" / "config.toml"
    config = cometbft_config(tomllib.loads(config_path.read_text()), settings)
    _write_if_changed(config_path, tomli_w.dumps(config))
    return PreparedHome(
        path=cdir,
        chain_id=genesis["chain_id"],
        proxy_app=str(config["proxy_app"]),
        rpc_url=rpc_url_from_laddr(str(config["rpc"]["laddr"])),
    )


# --- supervising the process ------------------------------------------------------------------


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec_fn for the CometBFT child: be killed when the parent dies, even by kill -9
    (Linux `prctl(PR_SET_PDEATHSIG, SIGKILL)`). None elsewhere.

    SIGKILL, not SIGTERM: without its app CometBFT cannot progress, and a graceful stop can hang
    on a consensus call the dead app will never answer. Its stores are crash-safe; the next
    start's handshake replays whatever the app lacks. libc is resolved here, in the parent, so
    the forked child only makes the call."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def preexec() -> None:  # pragma: no cover - runs in the forked child
        prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)

    return preexec


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_cometbft(pid: int, cdir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and cmdline[0].endswith(b"cometbft") and str(cdir).encode() in cmdline


def stop_stale_cometbft(home: NodeHome, grace: float = STOP_GRACE_SECONDS) -> None:
    """Stop a CometBFT that a previous run of this node started and left behind (its pid file
    names it, and it is still `cometbft ... --home HOME/cometbft`)."""
    pid_file = home.cometbft_dir / "cometbft.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    cdir = home.cometbft_dir.resolve()
    if _pid_alive(pid) and _is_our_cometbft(pid, cdir):
        log.warning("stopping CometBFT left over from a previous run (pid %d)", pid)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _pid_alive(pid) and _is_our_cometbft(pid, cdir) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid) and _is_our_cometbft(pid, cdir):
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


async def _stop_process(proc: asyncio.subprocess.Process, grace: float) -> int:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            log.warning("CometBFT did not stop within %.0fs; killing it", grace)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode


ApiRunner = Callable[["CometNodeService"], Awaitable[None]]


def _open_default_app(home: NodeHome) -> Application:
    try:
        factory = importlib.import_module("voxpop.node.app_factory")
    except ImportError as exc:
        raise CometBFTError(
            "voxpop.node.app_factory is not available; pass app= or --app module:factory"
        ) from exc
    app: Application = factory.open_app(home)
    return app


def http_api_runner(host: str, port: int, config: ApiConfig | None = None) -> ApiRunner:
    """Serve voxpop's HTTP API (`voxpop.api.server.serve_api`) over the CometNodeService, with
    the home's `[api]` limits (`config`; default: ApiConfig's defaults)."""

    async def run(service: CometNodeService) -> None:
        from voxpop.api.server import serve_api

        log.info("HTTP API on http://%s:%d", host, port)
        await serve_api(service, host, port, config=config)

    return run


async def run_cometbft_node_async(
    home: NodeHome,
    *,
    app: Application | None = None,
    api: ApiRunner | None = None,
    serve_http_api: bool = True,
    api_host: str | None = None,
    api_port: int | None = None,
    binary: Path | None = None,
    stop_grace: float = STOP_GRACE_SECONDS,
) -> int:
    """The async body of run_cometbft_node; see there."""
    from voxpop.abci.server import AbciServer

    binary = binary or find_cometbft()
    check_cometbft_version(binary)
    settings = load_comet_settings(home)
    prepared = prepare_cometbft_home(home, settings, binary)
    cdir = prepared.path
    stop_stale_cometbft(home, stop_grace)
    if api is None and serve_http_api:
        from voxpop.node.config import load_config

        api = http_api_runner(
            api_host or settings.api_host,
            api_port if api_port is not None else settings.api_port,
            load_config(home.config_toml).api,
        )
    opened_here = app is None
    app = app if app is not None else _open_default_app(home)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reason: list[str] = []

    def request_stop(why: str) -> None:
        if not stop.is_set():
            reason.append(why)
            stop.set()

    def on_fatal(exc: BaseException) -> None:
        from voxpop.chain.modules.gov.upgrades import UpgradeRequired
        from voxpop.node.app_factory import UPGRADES_ENV

        if isinstance(exc, UpgradeRequired):
            # Not a crash: the chain planned this halt. Say what to run (the block stays
            # uncommitted in the app; CometBFT replays it to the upgraded version at restart).
            log.error("%s; restart with $%s naming a module that registers it", exc, UPGRADES_ENV)
        request_stop(f"fatal ABCI error: {exc}")

    server = AbciServer(app, on_fatal=on_fatal)
    await server.start(prepared.proxy_app)
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, request_stop, f"signal {sig.name}")
            handled.append(sig)

    pid_file = cdir / "cometbft.pid"
    log_path = cdir / "cometbft.log"
    service = CometNodeService(
        prepared.rpc_url, prepared.chain_id, lambda req: server.call_app(app.query, req)
    )
    proc: asyncio.subprocess.Process | None = None
    api_task: asyncio.Task[None] | None = None
    exit_code = 0
    try:
        with log_path.open("ab") as log_file:
            proc = await asyncio.create_subprocess_exec(
                str(binary),
                "start",
                "--home",
                str(cdir.resolve()),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_parent_death_signal(),  # before any app call: no app threads yet
                start_new_session=True,  # the terminal's Ctrl-C reaches us, and we stop it
            )
        pid_file.write_text(f"{proc.pid}\n")
        log.info("started CometBFT (pid %d), log %s", proc.pid, log_path)

        waits: dict[asyncio.Future[Any], str] = {
            asyncio.ensure_future(proc.wait()): "cometbft",
            asyncio.ensure_future(stop.wait()): "stop",
        }
        if api is not None:
            api_task = asyncio.ensure_future(api(service))
            waits[api_task] = "api"
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        first = waits[next(iter(done))]
        for fut in waits:
            if fut is not api_task and not fut.done():
                fut.cancel()
        if first == "cometbft":
            exit_code = proc.returncode or 1
            log.error("CometBFT exited with code %s; see %s", proc.returncode, log_path)
        elif first == "api":
            assert api_task is not None
            exc = api_task.exception()
            exit_code = 1 if exc is not None else 0
            log.log(logging.ERROR if exc else logging.INFO, "API stopped: %r", exc)
        else:
            exit_code = 1 if reason and reason[0].startswith("fatal") else 0
            log.info("stopping: %s", reason[0] if reason else "requested")
    finally:
        if api_task is not None and not api_task.done():
            api_task.cancel()
            with contextlib.suppress(BaseException):
                await api_task
        if proc is not None:
            code = await _stop_process(proc, stop_grace)
            log.info("CometBFT stopped (exit code %d)", code)
            pid_file.unlink(missing_ok=True)
        await service.aclose()
        await server.close()
        for sig in handled:
            loop.remove_signal_handler(sig)
        close = getattr(app, "close", None)
        if opened_here and callable(close):
            close()
    return exit_code


def _tune_gc() -> None:
    """Collect garbage less often in the node process (a tuning of this process only).

    Under load the node makes several short-lived objects per tx (decoded txs, branches, ABCI
    messages) and keeps many long-lived ones (the tx cache, the state cache); with CPython's
    default thresholds the collector ran every few hundred allocations and walked them all,
    about 6 % of the node's CPU (perf, docs/benchmarks.md). What exists at start is frozen out
    of collection, and collections run after 50,000 net allocations, not 700.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def run_cometbft_node(
    home: NodeHome,
    *,
    app: Application | None = None,
    api: ApiRunner | None = None,
    serve_http_api: bool = True,
    api_host: str | None = None,
    api_port: int | None = None,
    binary: Path | None = None,
) -> int:
    """Run a node under CometBFT until SIGINT/SIGTERM or either side stops; return an exit code.

    Prepares HOME/cometbft, serves `app` (default: `voxpop.node.app_factory.open_app(home)`,
    closed on exit) on the ABCI socket, starts `cometbft start --home HOME/cometbft` (output in
    HOME/cometbft/cometbft.log), and runs the HTTP API alongside over a CometNodeService: by
    default `voxpop.api.server.serve_api` on `api_host`/`api_port` (default: [api] in
    config.toml), or `api(service)` if given, or none with `serve_http_api=False`.

    Exit code: 0 after a requested stop, CometBFT's exit code (or 1) if it died, 1 after a fatal
    ABCI error or if the API failed (e.g. its port is taken).

    Raises CometBFTError (binary missing, wrong version, init failed), GenesisError, ConfigError,
    OSError (ABCI port in use) before anything is started.
    """
    _tune_gc()
    return asyncio.run(
        run_cometbft_node_async(
            home,
            app=app,
            api=api,
            serve_http_api=serve_http_api,
            api_host=api_host,
            api_port=api_port,
            binary=binary,
        )
    )


# --- NodeService over CometBFT's RPC ----------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _unhex(value: str | None) -> bytes:
    return bytes.fromhex(value) if value else b""


def parse_rfc3339_unix(value: str) -> int:
    """Whole Unix seconds of CometBFT's RFC 3339 time (nanosecond precision, `Z` or offset)."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)", value)
    if m is None:
        raise ValueError(f"not an RFC 3339 time: {value!r}")
    zone = "+00:00" if m.group(2) == "Z" else m.group(2)
    return int(datetime.fromisoformat(m.group(1) + zone).timestamp())


def _events(items: list[dict[str, Any]] | None) -> tuple[Event, ...]:
    return tuple(
        Event(
            type=e.get("type", ""),
            attributes=tuple(
                EventAttribute(
                    key=a.get("key", ""), value=a.get("value", ""), indexed=bool(a.get("index"))
                )
                for a in e.get("attributes") or ()
            ),
        )
        for e in items or ()
    )


def _exec_result(r: dict[str, Any]) -> ExecTxResult:
    return ExecTxResult(
        code=int(r.get("code", 0)),
        log=r.get("log", ""),
        codespace=r.get("codespace", ""),
        gas_wanted=int(r.get("gas_wanted", 0)),
        gas_used=int(r.get("gas_used", 0)),
        events=_events(r.get("events")),
    )


def block_record_from_rpc(block: dict[str, Any], results: dict[str, Any]) -> BlockRecord:
    """A BlockRecord from `/block` and `/block_results` of one height.

    `header.app_hash` is the state root *after* this block (as in solo mode): that is
    `block_results.app_hash`; CometBFT's own header at H carries the root after H-1.
    """
    header = block["block"]["header"]
    txs = tuple(_unb64(t) for t in block["block"]["data"].get("txs") or ())
    return BlockRecord(
        header=BlockHeader(
            chain_id=header["chain_id"],
            height=int(header["height"]),
            time_unix=parse_rfc3339_unix(header["time"]),
            last_block_hash=_unhex(header["last_block_id"]["hash"]),
            data_hash=_unhex(header["data_hash"]),
            app_hash=_unb64(results.get("app_hash")),
            proposer=_unhex(header["proposer_address"]),
            num_txs=len(txs),
        ),
        hash=_unhex(block["block_id"]["hash"]),
        txs=txs,
        results=tuple(_exec_result(r) for r in results.get("txs_results") or ()),
        events=_events(results.get("finalize_block_events")),
    )


def tx_record_from_rpc(result: dict[str, Any]) -> TxRecord:
    return TxRecord(
        hash=_unhex(result["hash"]),
        height=int(result["height"]),
        index=int(result["index"]),
        tx=_unb64(result["tx"]),
        result=_exec_result(result["tx_result"]),
    )


def mempool_refusal(err: CometRPCError) -> ChainError:
    """The chain error for CometBFT refusing a tx before CheckTx (`broadcast_tx_sync` error)."""
    text = err.data or err.message
    if text.startswith("mempool is full"):
        return MempoolFullError(text)
    if "already exists in cache" in text:
        return TxInMempoolError(f"tx is already in the mempool or was committed recently ({text})")
    return ChainError(f"refused by CometBFT: {text}")


def _is_missing(err: CometRPCError) -> bool:
    """JSON-RPC errors that mean "not there (yet)" rather than "something is wrong"."""
    text = err.data.lower()
    return any(
        s in text for s in ("not found", "must be less than or equal", "could not find results")
    )


class _JsonRpc:
    """JSON-RPC 2.0 over HTTP POST to CometBFT, sync and async, with batches."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self._timeout = timeout
        self._client = httpx.Client(timeout=timeout)  # thread-safe; used from worker threads
        self._aclient: httpx.AsyncClient | None = None
        self._seq = 0

    def _payload(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._seq += 1
        return {"jsonrpc": "2.0", "id": self._seq, "method": method, "params": params}

    @staticmethod
    def _result(method: str, reply: dict[str, Any]) -> Any:
        if reply.get("error"):
            err = reply["error"]
            raise CometRPCError(method, str(err.get("message", "")), str(err.get("data", "")))
        return reply["result"]

    def call(self, method: str, **params: Any) -> Any:
        try:
            reply = self._client.post(self.url, json=self._payload(method, params))
            reply.raise_for_status()
        except httpx.HTTPError as exc:
            raise CometRPCError(method, f"RPC unreachable at {self.url}: {exc}") from exc
        return self._result(method, reply.json())

    async def acall(self, method: str, **params: Any) -> Any:
        return (await self.abatch([(method, params)]))[0]

    async def abatch(self, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        """Send calls in one batch; results in order. Raises the first error, if any."""
        results = await self.abatch_settled(calls)
        for r in results:
            if isinstance(r, CometRPCError):
                raise r
        return results

    async def abatch_settled(
        self, calls: list[tuple[str, dict[str, Any]]]
    ) -> list[Any | CometRPCError]:
        """Send calls in one batch; each result, or the CometRPCError for that call, in order."""
        if self._aclient is None:
            self._aclient = httpx.AsyncClient(timeout=self._timeout)
        payloads = [self._payload(m, p) for m, p in calls]
        body: Any = payloads if len(payloads) > 1 else payloads[0]
        method_names = ",".join(m for m, _ in calls)
        try:
            reply = await self._aclient.post(self.url, json=body)
            reply.raise_for_status()
        except httpx.HTTPError as exc:
            raise CometRPCError(method_names, f"RPC unreachable at {self.url}: {exc}") from exc
        data = reply.json()
        replies = data if isinstance(data, list) else [data]
        by_id = {r.get("id"): r for r in replies}
        out: list[Any | CometRPCError] = []
        for (method, _), payload in zip(calls, payloads, strict=True):
            r = by_id.get(payload["id"])
            if r is None:
                out.append(CometRPCError(method, "no reply in batch"))
                continue
            try:
                out.append(self._result(method, r))
            except CometRPCError as err:
                out.append(err)
        return out

    def close(self) -> None:
        self._client.close()

    async def aclose(self) -> None:
        self.close()
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None


class CometNodeService:
    """NodeService for a node running under CometBFT.

    Writes and chain data go through CometBFT's JSON-RPC (`broadcast_tx_sync`, `block`,
    `block_results`, `tx`, `status`, `validators`, `num_unconfirmed_txs`); state queries go
    straight to the local app (`query`, a function that holds the app lock).

    COMMIT mode is `broadcast_tx_sync` and then polling `tx` by hash until the tx is indexed or
    `commit_timeout` passes; unlike `broadcast_tx_commit` this has no cap on concurrent callers
    (CometBFT allows 5 subscriptions per client). As in solo mode, a timeout gives
    CommitTimeoutError's code with height 0, and CometBFT's own refusals (mempool full, tx
    already in its cache, tx too large) give MempoolFullError, TxInMempoolError or ChainError.
    `subscribe()` polls for new heights every `poll_interval` seconds.

    The sync methods (`get_block`, `get_tx`, `status`) do blocking HTTP to the local RPC; call
    them from a worker thread when on an event loop.
    """

    def __init__(
        self,
        rpc_url: str,
        chain_id: str,
        query: Callable[[RequestQuery], ResponseQuery],
        *,
        timeout: float = 10.0,
        commit_timeout: float = 30.0,
        poll_interval: float = 0.2,
    ) -> None:
        self._rpc = _JsonRpc(rpc_url, timeout)
        self._chain_id = chain_id
        self._query = query
        self.commit_timeout = commit_timeout
        self.poll_interval = poll_interval

    @property
    def chain_id(self) -> str:
        return self._chain_id

    @property
    def rpc_url(self) -> str:
        return self._rpc.url

    async def aclose(self) -> None:
        await self._rpc.aclose()

    # --- writes -------------------------------------------------------------------------------

    @staticmethod
    def _sync_result(tx: bytes, reply: Any) -> BroadcastResult:
        tx_hash = hashlib.sha256(tx).digest()
        if isinstance(reply, CometRPCError):
            # Refused by CometBFT's mempool before CheckTx, in the chain's error vocabulary.
            err = mempool_refusal(reply)
            return BroadcastResult(
                tx_hash=tx_hash, code=err.code, log=err.message, codespace=CODESPACE
            )
        return BroadcastResult(
            tx_hash=_unhex(reply.get("hash")) or tx_hash,
            code=int(reply.get("code", 0)),
            log=reply.get("log", ""),
            codespace=reply.get("codespace", ""),
        )

    async def broadcast_tx(self, tx: bytes, mode: BroadcastMode) -> BroadcastResult:
        """Raises CometRPCError if the RPC cannot be reached."""
        (reply,) = await self._rpc.abatch_settled([("broadcast_tx_sync", {"tx": _b64(tx)})])
        checked = self._sync_result(tx, reply)
        if mode is BroadcastMode.SYNC or checked.code != 0:
            return checked
        deadline = time.monotonic() + self.commit_timeout
        while time.monotonic() < deadline:
            (found,) = await self._rpc.abatch_settled([("tx", {"hash": _b64(checked.tx_hash)})])
            if isinstance(found, CometRPCError):
                if not _is_missing(found):
                    raise found
                await asyncio.sleep(self.poll_interval)
                continue
            record = tx_record_from_rpc(found)
            r = record.result
            return BroadcastResult(
                tx_hash=checked.tx_hash,
                code=r.code,
                log=r.log,
                codespace=r.codespace,
                height=record.height,
                gas_wanted=r.gas_wanted,
                gas_used=r.gas_used,
                events=r.events,
            )
        err = CommitTimeoutError(f"not committed within {self.commit_timeout:g} s; it may still be")
        return BroadcastResult(
            tx_hash=checked.tx_hash, code=err.code, log=err.message, codespace=CODESPACE
        )

    async def broadcast_txs(self, txs: list[bytes]) -> list[BroadcastResult]:
        """CheckTx each tx, in order, in one JSON-RPC batch; return after CheckTx."""
        if not txs:
            return []
        replies = await self._rpc.abatch_settled(
            [("broadcast_tx_sync", {"tx": _b64(tx)}) for tx in txs]
        )
        return [self._sync_result(tx, r) for tx, r in zip(txs, replies, strict=True)]

    # --- reads --------------------------------------------------------------------------------

    def get_block(self, height: int) -> BlockRecord | None:
        """The block at `height` with its results; None if it is not (yet) executed.

        Raises CometRPCError for other RPC failures.
        """
        try:
            block = self._rpc.call("block", height=str(height))
            results = self._rpc.call("block_results", height=str(height))
        except CometRPCError as err:
            if _is_missing(err):
                return None
            raise
        return block_record_from_rpc(block, results)

    def get_tx(self, tx_hash: bytes) -> TxRecord | None:
        try:
            return tx_record_from_rpc(self._rpc.call("tx", hash=_b64(tx_hash)))
        except CometRPCError as err:
            if _is_missing(err):
                return None
            raise

    def query(self, req: RequestQuery) -> ResponseQuery:
        return self._query(req)

    def _validators(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in range(1, 101):
            res = self._rpc.call("validators", page=str(page), per_page="100")
            out.extend(res["validators"])
            if len(out) >= int(res["total"]) or not res["validators"]:
                break
        return out

    def light_signed_header(self, height: int | None) -> dict[str, Any] | None:
        """CometBFT's signed header at `height` (the latest with None), as its RPC gives it; None
        if there is none yet. Raises CometRPCError for other RPC failures."""
        try:
            params = {} if height is None else {"height": str(height)}
            result = self._rpc.call("commit", **params)
        except CometRPCError as err:
            if _is_missing(err):
                return None
            raise
        signed: dict[str, Any] = result["signed_header"]
        return signed

    def light_validators(self, height: int) -> list[dict[str, Any]] | None:
        """CometBFT's validator set at `height`, every page, in its order; None if unknown."""
        out: list[dict[str, Any]] = []
        try:
            for page in range(1, 101):
                res = self._rpc.call(
                    "validators", height=str(height), page=str(page), per_page="100"
                )
                out.extend(res["validators"])
                if len(out) >= int(res["total"]) or not res["validators"]:
                    break
        except CometRPCError as err:
            if _is_missing(err):
                return None
            raise
        return out

    def status(self) -> NodeStatus:
        """The latest *executed* block (one whose results CometBFT has stored).

        Raises CometRPCError if the RPC is unreachable.
        """
        st = self._rpc.call("status")
        sync = st["sync_info"]
        height = int(sync["latest_block_height"])
        block = None
        for h in (height, height - 1):
            if h >= 1 and (block := self.get_block(h)) is not None:
                break
        mempool = self._rpc.call("num_unconfirmed_txs")
        validators = self._validators()
        return NodeStatus(
            chain_id=st["node_info"]["network"],
            node_mode="cometbft",
            latest_height=block.header.height if block else 0,
            latest_block_hash=block.hash if block else b"",
            latest_app_hash=block.header.app_hash if block else b"",
            latest_block_time_unix=block.header.time_unix if block else 0,
            mempool_size=int(mempool["n_txs"]),
            validator_pub_keys=tuple(_unb64(v["pub_key"]["value"]) for v in validators),
            extra={
                "node_id": st["node_info"]["id"],
                "moniker": st["node_info"]["moniker"],
                "cometbft_version": st["node_info"]["version"],
                "catching_up": bool(sync["catching_up"]),
                "voting_power": int(st["validator_info"]["voting_power"]),
                "validator_address": st["validator_info"]["address"],
            },
        )

    async def _aget_block(self, height: int) -> BlockRecord | None:
        block, results = await self._rpc.abatch_settled(
            [("block", {"height": str(height)}), ("block_results", {"height": str(height)})]
        )
        for r in (block, results):
            if isinstance(r, CometRPCError):
                if _is_missing(r):
                    return None
                raise r
        assert isinstance(block, dict) and isinstance(results, dict)
        return block_record_from_rpc(block, results)

    async def subscribe(self) -> AsyncGenerator[NodeEvent, None]:
        """New blocks from now on, each followed by its txs. Polls; never ends by itself."""
        status = await self._rpc.acall("status")
        next_height = int(status["sync_info"]["latest_block_height"]) + 1
        while True:
            record = await self._aget_block(next_height)
            if record is None:
                await asyncio.sleep(self.poll_interval)
                continue
            yield NodeEvent(kind="block", height=next_height, block=record)
            for index, (tx, result) in enumerate(zip(record.txs, record.results, strict=False)):
                tx_record = TxRecord(
                    hash=hashlib.sha256(tx).digest(),
                    height=next_height,
                    index=index,
                    tx=tx,
                    result=result,
                )
                yield NodeEvent(kind="tx", height=next_height, tx=tx_record)
            next_height += 1

    async def wait_for_height(self, height: int, timeout: float) -> int:
        """Wait until a block at `height` or above is executed; return the latest height.

        Raises TimeoutError after `timeout` seconds (RPC errors count as "not yet").
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = await self._rpc.acall("status")
                latest = int(status["sync_info"]["latest_block_height"])
                if latest >= height:
                    return latest
            except CometRPCError:
                pass
            if time.monotonic() >= deadline:
                raise TimeoutError(f"height {height} not reached within {timeout:g}s")
            await asyncio.sleep(self.poll_interval)


# --- `python -m voxpop.node.cometbft` ---------------------------------------------------------


def load_app_factory(spec: str) -> Callable[[NodeHome], Application]:
    """Resolve `module:attribute` to an app factory taking a NodeHome.

    Raises ValueError for a malformed spec, ImportError/AttributeError if it does not resolve.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"app factory must be module:attribute, not {spec!r}")
    factory: Callable[[NodeHome], Application] = getattr(importlib.import_module(module_name), attr)
    return factory


def main(argv: list[str] | None = None) -> int:
    """Run one node in the foreground (what `testnet_up` starts for each node)."""
    parser = argparse.ArgumentParser(prog="python -m voxpop.node.cometbft", description=__doc__)
    parser.add_argument("--home", required=True, type=Path, help="the node home")
    parser.add_argument(
        "--app",
        default="voxpop.node.app_factory:open_app",
        help="application factory, module:attribute taking a NodeHome",
    )
    parser.add_argument("--no-api", action="store_true", help="do not serve the HTTP API")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from voxpop.node.config import ConfigError

    home = NodeHome(args.home.resolve())
    try:
        app = load_app_factory(args.app)(home)
        return run_cometbft_node(home, app=app, serve_http_api=not args.no_api)
    except (CometBFTError, GenesisError, ConfigError, OSError, ValueError, ImportError) as exc:
        log.error("%s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
