"""The storage node's configuration: `<home>/storage.toml`, written by `voxpop storage start` from
its options (so `voxpop storage status` and a restart find the same node again).

node = "http://127.0.0.1:1317"   # the node's API: deals, challenges and txs go through it
host = "127.0.0.1"               # listen address (set the LAN address to serve other machines)
port = 7700
endpoint = "http://127.0.0.1:7700"  # the URL registered on chain (owners upload to it)
capacity = 21474836480           # bytes offered (`--capacity 20GiB`)
price = 1000                     # uvox per GiB per epoch
collateral = 1000000000          # uvox staked at registration (slashed on faults)
key_name = "storage"             # the account key in <home>/keyring
keyring_backend = "file"         # "test" on a devnet only
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

T = TypeVar("T")
CONFIG_FILE = "storage.toml"
KEYRING_DIR = "keyring"
DEFAULT_PORT = 7700
DEFAULT_HOST = "127.0.0.1"
DEFAULT_NODE = "http://127.0.0.1:1317"
DEFAULT_PRICE = 1_000  # uvox per GiB per epoch
DEFAULT_COLLATERAL = 1_000_000_000  # 1,000 VOX
DEFAULT_KEY = "storage"
# Seconds between the background loops' looks at the chain (tests and devnets use less)
DEFAULT_POLL_INTERVAL = 1.0
DEFAULT_CLAIM_INTERVAL = 30.0
# The largest shard a node takes in one PUT: owners cut larger objects into more shards
MAX_SHARD_BYTES = 256 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


class StorageConfigError(Exception):
    """A storage home or option that cannot be used; `code` is stable."""

    code = "invalid_storage_config"


def parse_size(text: str) -> int:
    """Bytes from `20GiB`, `500MB`, `1048576` (integer counts only). Raises StorageConfigError."""
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    # Verify a whole number with a known unit: capacity is counted in bytes, never rounded
    if match is None or unit not in _UNITS:
        raise StorageConfigError(f"not a size: {text!r} (e.g. 20GiB, 500MB, 1048576)")
    return int(match.group(1)) * _UNITS[unit]


@dataclass(frozen=True, slots=True)
class StorageConfig:
    home: Path
    node: str = DEFAULT_NODE
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    endpoint: str = ""  # "" = http://host:port
    capacity: int = 0
    price: int = DEFAULT_PRICE
    collateral: int = DEFAULT_COLLATERAL
    key_name: str = DEFAULT_KEY
    keyring_backend: str = "file"
    poll_interval: float = DEFAULT_POLL_INTERVAL
    claim_interval: float = DEFAULT_CLAIM_INTERVAL

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def public_url(self) -> str:
        return self.endpoint or self.url

    @property
    def path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def keyring_dir(self) -> Path:
        return self.home / KEYRING_DIR

    @property
    def data_dir(self) -> Path:
        """Where the shards and headers live."""
        return self.home / "data"

    def with_changes(self, **changes: Any) -> StorageConfig:
        return replace(self, **changes)


def check_config(config: StorageConfig) -> None:
    """Raises StorageConfigError for values a node cannot run with."""
    # Verify the node offers something and charges a whole, non-negative price
    if config.capacity <= 0:
        raise StorageConfigError("--capacity must be above 0 (e.g. 20GiB)")
    if config.price < 0 or config.collateral < 0:
        raise StorageConfigError("--price and --collateral are uvox amounts >= 0")
    if not 0 <= config.port <= 65535:
        raise StorageConfigError(f"port {config.port} is not a TCP port")
    if config.keyring_backend not in ("file", "test"):
        raise StorageConfigError("keyring_backend is file or test")


def load_config(home: Path) -> StorageConfig:
    """The config of the storage node in `home`. Raises StorageConfigError."""
    config = load_toml(StorageConfig, home, CONFIG_FILE, StorageConfigError, "storage")
    check_config(config)
    return config


def write_config(config: StorageConfig) -> None:
    check_config(config)
    save_toml(config, config.path)


def load_toml(cls: Callable[..., T], home: Path, name: str, error: type[Exception], role: str) -> T:
    """The role config dataclass `cls` from HOME/name (unknown keys ignored, `home` set).
    Raises `error`."""
    path = home / name
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"no {role} node in {home} (run `voxpop {role} start --home {home}`)") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise error(f"cannot read {path}: {exc}") from None
    known = getattr(cls, "__dataclass_fields__", {})
    fields = {k: v for k, v in doc.items() if k in known and k != "home"}
    try:
        return cls(home=home, **fields)
    except TypeError as exc:
        raise error(f"{path}: {exc}") from None


def save_toml(config: Any, path: Path) -> None:
    """A role config dataclass to `path` (all fields but `home`), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {k: v for k, v in asdict(config).items() if k != "home"}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(tomli_w.dumps(doc), encoding="utf-8")
    tmp.replace(path)
