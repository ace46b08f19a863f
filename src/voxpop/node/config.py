"""config.toml: the node's settings. Everything has a default: a missing key is never an error."""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

from voxpop.abci.event_index import (
    DEFAULT_INDEX_EVENTS,
    EventIndex,
    EventIndexError,
)


class ConfigError(Exception):
    pass


@dataclass(slots=True)
class ApiConfig:
    host: str = "127.0.0.1"  # localhost unless the operator says otherwise
    port: int = 1317
    max_body_bytes: int = 16 * 1024 * 1024
    rate_limit_per_s: int = 500  # requests per second per client address (0: no limit)
    rate_limit_burst: int = 1_000
    # Proxies (addresses or CIDR networks) whose X-Forwarded-For names the client; none: ignored
    trusted_proxies: list[str] = field(default_factory=list)
    # Host names served besides IP addresses, localhost and `host`; "*": any (DNS rebinding)
    allowed_hosts: list[str] = field(default_factory=list)
    max_stream_subscribers: int = 256  # live feeds (SSE + WebSocket) open at once
    max_stream_subscribers_per_client: int = 8
    stream_queue_events: int = 10_000  # events a feed may be behind at a new block, or dropped

    def __post_init__(self) -> None:
        for proxy in self.trusted_proxies:
            # Verify each trusted proxy is an address or network (a name could be spoofed)
            try:
                if not isinstance(proxy, str):
                    raise TypeError(proxy)
                ipaddress.ip_network(proxy, strict=False)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"api.trusted_proxies: {proxy!r} is not an IP address or network"
                ) from None
        # Verify the allowed hosts are names
        if not all(isinstance(h, str) and h.strip() for h in self.allowed_hosts):
            raise ConfigError("api.allowed_hosts must be a list of host names")
        # Verify the stream bounds allow at least one feed of one event
        for key in ("max_stream_subscribers", "max_stream_subscribers_per_client"):
            if getattr(self, key) < 1:
                raise ConfigError(f"api.{key} must be at least 1")
        if self.stream_queue_events < 1:
            raise ConfigError("api.stream_queue_events must be at least 1")


@dataclass(slots=True)
class SoloConfig:
    block_interval_ms: int = 1000
    create_empty_blocks: bool = False
    commit_timeout_s: int = 30


@dataclass(slots=True)
class MempoolConfig:
    max_txs: int = 100_000
    max_bytes: int = 256 * 1024 * 1024


@dataclass(slots=True)
class StoreConfig:
    # ~4.6 MB per 2,000-key block at 1M accounts (docs/benchmarks.md): 1,000 versions ~ 5 GB
    keep_versions: int = 1_000
    # Blocks CometBFT keeps (Commit's retain_height; 0: all). A block is only useful for proofs
    # while its state version is kept, so a pruned node sets both to its window.
    retain_blocks: int = 0


@dataclass(slots=True)
class SnapshotConfig:
    """State sync snapshots a CometBFT node takes and serves (docs/protocol/snapshots.md)."""

    interval: int = 1_000  # a snapshot every `interval` blocks (0: none)
    keep: int = 2  # the newest `keep` are kept (CometBFT keeps their blocks too)
    chunk_bytes: int = 4 << 20

    def __post_init__(self) -> None:
        # Verify the numbers make a snapshot possible (a chunk holds at least a small record)
        if self.interval < 0 or self.keep < 1 or self.chunk_bytes < 1024:
            raise ConfigError("snapshots: interval >= 0, keep >= 1, chunk_bytes >= 1024")


@dataclass(slots=True)
class CometConfig:
    """Ports and timing when the node runs under CometBFT (see docs/operations/cometbft.md)."""

    p2p_port: int = 26656
    rpc_port: int = 26657
    abci_port: int = 26658
    timeout_commit_ms: int = 1000
    create_empty_blocks: bool = True
    persistent_peers: str = ""
    # State sync (`voxpop node init --state-sync`): CometBFT RPC servers (comma-separated, two at
    # least) and the trust root our light client verified there; empty: sync by replay.
    state_sync_rpc_servers: str = ""
    state_sync_trust_height: int = 0
    state_sync_trust_hash: str = ""
    state_sync_discovery_ms: int = 15_000  # CometBFT allows 0 or at least 5 s
    # Event attributes CometBFT's tx indexer indexes for `tx_search` (`type.key`; "*": all):
    # each costs a database write per tx (voxpop.abci.event_index)
    index_events: list[str] = field(default_factory=lambda: list(DEFAULT_INDEX_EVENTS))

    def __post_init__(self) -> None:
        # Verify each indexed event names an attribute (a typo would silently index nothing)
        try:
            self.event_index()
        except EventIndexError as exc:
            raise ConfigError(f"cometbft.index_events: {exc}") from None

    def event_index(self) -> EventIndex:
        return EventIndex.parse(self.index_events)


@dataclass(slots=True)
class NodeConfig:
    moniker: str = "voxpop-node"
    api: ApiConfig = field(default_factory=ApiConfig)
    solo: SoloConfig = field(default_factory=SoloConfig)
    mempool: MempoolConfig = field(default_factory=MempoolConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    cometbft: CometConfig = field(default_factory=CometConfig)
    snapshots: SnapshotConfig = field(default_factory=SnapshotConfig)

    def save(self, path: Path) -> None:
        path.write_text(tomli_w.dumps(asdict(self)))


def _section(cls: type[Any], data: Any, name: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"[{name}] must be a table")
    known = {f.name: f for f in fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise ConfigError(f"[{name}] has unknown keys {sorted(unknown)}")
    default = cls()
    for key, value in data.items():
        expected = type(getattr(default, key))
        if type(value) is not expected:
            raise ConfigError(f"{name}.{key} must be {expected.__name__}")
    return cls(**data)


def load_config(path: Path) -> NodeConfig:
    if not path.exists():
        return NodeConfig()
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    config = NodeConfig()
    for key, value in doc.items():
        if key == "moniker":
            if not isinstance(value, str):
                raise ConfigError("moniker must be text")
            config.moniker = value
        elif key in ("api", "solo", "mempool", "store", "cometbft", "snapshots"):
            current = getattr(config, key)
            setattr(config, key, _section(type(current), value, key))
        else:
            raise ConfigError(f"unknown config section {key!r}")
    return config
