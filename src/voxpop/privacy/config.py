"""The privacy node's configuration: `<home>/privacy.toml`, written by `voxpop privacy start` from
its options (so `voxpop privacy status` and a restart find the same node again).

node = "http://127.0.0.1:1317"   # the node's API: grants, channels and txs go through it
host = "127.0.0.1"               # listen address
port = 7800
endpoint = ""                    # the URL registered on chain ("" = http://host:port)
price = 10                       # uvox per re-encryption (the chain's prices are >= 1)
unpaid = false                   # also serve requests without a voucher (devnets, benchmarks)
stake = 1000000000               # uvox staked with the reencrypt offer at registration
key_name = "privacy"             # the account key in <home>/keyring
keyring_backend = "file"         # "test" on a devnet only
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from voxpop.storage.config import load_toml, save_toml

CONFIG_FILE = "privacy.toml"
KEYRING_DIR = "keyring"
DEFAULT_PORT = 7800
DEFAULT_HOST = "127.0.0.1"
DEFAULT_NODE = "http://127.0.0.1:1317"
DEFAULT_PRICE = 10  # uvox per re-encryption
DEFAULT_STAKE = 1_000_000_000  # the services module's default min_stake (1,000 VOX)
DEFAULT_KEY = "privacy"
KIND = "reencrypt"  # the services kind a privacy node registers (consent checks it)


class PrivacyConfigError(Exception):
    """A privacy home or option that cannot be used; `code` is stable."""

    code = "invalid_privacy_config"


@dataclass(frozen=True, slots=True)
class PrivacyConfig:
    home: Path
    node: str = DEFAULT_NODE
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    endpoint: str = ""  # "" = http://host:port
    price: int = DEFAULT_PRICE
    stake: int = DEFAULT_STAKE
    key_name: str = DEFAULT_KEY
    keyring_backend: str = "file"
    unpaid: bool = False
    # Seconds between looks at the chain: grant refreshes and the batched Record (about a block)
    poll_interval: float = 0.5
    # Seconds between sweeps of every held grant (deleting the expired and revoked)
    sweep_interval: float = 10.0
    claim_interval: float = 2.0

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
    def grants_dir(self) -> Path:
        """The grants delivered to this node, as delivered (the fragment stays sealed on disk)."""
        return self.home / "grants"

    def with_changes(self, **changes: Any) -> PrivacyConfig:
        return replace(self, **changes)


def check_config(config: PrivacyConfig) -> None:
    """Raises PrivacyConfigError for values a node cannot run with."""
    # Verify whole, non-negative amounts and a TCP port
    if config.price < 1 or config.stake < 0:
        raise PrivacyConfigError("--price is a uvox amount >= 1, --stake >= 0")
    if not 0 <= config.port <= 65535:
        raise PrivacyConfigError(f"port {config.port} is not a TCP port")
    if config.keyring_backend not in ("file", "test"):
        raise PrivacyConfigError("keyring_backend is file or test")
    if config.poll_interval <= 0 or config.sweep_interval <= 0 or config.claim_interval <= 0:
        raise PrivacyConfigError("intervals are positive seconds")


def load_config(home: Path) -> PrivacyConfig:
    """The config of the privacy node in `home`. Raises PrivacyConfigError."""
    config = load_toml(PrivacyConfig, home, CONFIG_FILE, PrivacyConfigError, "privacy")
    check_config(config)
    return config


def write_config(config: PrivacyConfig) -> None:
    check_config(config)
    save_toml(config, config.path)
