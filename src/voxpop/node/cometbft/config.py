"""CometBFT's config.toml as this node writes it: from our HOME/config/config.toml, then
HOME/cometbft/overrides.toml merged last (see CometSettings)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from voxpop.abci.event_index import DEFAULT_INDEX_EVENTS
from voxpop.node.home import NodeHome

OVERRIDES_FILE = "overrides.toml"
# Above the HTTP API's batch body limit (32 MB of base64) once hex-free JSON-RPC framing is added.
RPC_MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CometSettings:
    """How this node's CometBFT is configured.

    From our HOME/config/config.toml (`voxpop.node.config`): `moniker`, `[api] host/port` and
    `[cometbft] p2p_port, rpc_port, abci_port, timeout_commit_ms, create_empty_blocks,
    persistent_peers, state_sync_*` (CometBFT's [statesync]), `index_events` (which event
    attributes the ABCI server marks for CometBFT's tx indexer). P2P listens on all interfaces
    (peers must reach it), RPC and ABCI on 127.0.0.1 only (the HTTP API is the public face).

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
    state_sync_rpc_servers: str = ""
    state_sync_trust_height: int = 0
    state_sync_trust_hash: str = ""
    state_sync_discovery_ms: int = 15_000
    api_host: str = "127.0.0.1"
    api_port: int = 1317
    index_events: tuple[str, ...] = DEFAULT_INDEX_EVENTS  # for the ABCI server (not config.toml)
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
        state_sync_rpc_servers=c.state_sync_rpc_servers,
        state_sync_trust_height=c.state_sync_trust_height,
        state_sync_trust_hash=c.state_sync_trust_hash,
        state_sync_discovery_ms=c.state_sync_discovery_ms,
        api_host=config.api.host,
        api_port=config.api.port,
        index_events=tuple(c.index_events),
        overrides=overrides,
    )


def rpc_url_from_laddr(laddr: str) -> str:
    """An http:// URL for CometBFT's `rpc.laddr` (a wildcard host becomes 127.0.0.1)."""
    hostport = re.sub(r"^\w+://", "", laddr)
    host, _, port = hostport.rpartition(":")
    if host in ("", "0.0.0.0", "[::]", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


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
    if settings.state_sync_rpc_servers:
        # A new node restores the latest snapshot its peers serve (docs/operations/state-sync.md);
        # CometBFT skips this once it has blocks of its own.
        cfg.setdefault("statesync", {}).update(
            enable=True,
            rpc_servers=settings.state_sync_rpc_servers,
            trust_height=settings.state_sync_trust_height,
            trust_hash=settings.state_sync_trust_hash,
            discovery_time=f"{settings.state_sync_discovery_ms}ms",
        )
    return _deep_merge(cfg, settings.overrides)
