"""The explorer's configuration: `<home>/explorer.toml`, written by `voxpop explorer start` from its
options (so `voxpop explorer status` and a restart find the same explorer and index again).

node = "http://127.0.0.1:1317"   # the node's API: blocks, the block stream, state queries
host = "127.0.0.1"               # listen address
port = 7900
index = ""                       # "" = SQLite at <home>/index.sqlite; or postgresql://...
batch_blocks = 200               # blocks per index transaction while backfilling
refresh_blocks = 5               # re-read validators, proposals, offers, providers this often
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from voxpop.explorer.schema import sqlite_url
from voxpop.storage.config import load_toml, save_toml

CONFIG_FILE = "explorer.toml"
INDEX_FILE = "index.sqlite"
DEFAULT_PORT = 7900
DEFAULT_HOST = "127.0.0.1"
DEFAULT_NODE = "http://127.0.0.1:1317"
INDEX_SCHEMES = ("sqlite:///", "postgresql://", "postgres://", "postgresql+psycopg://")


class ExplorerConfigError(Exception):
    """An explorer home or option that cannot be used; `code` is stable."""

    code = "invalid_explorer_config"


@dataclass(frozen=True, slots=True)
class ExplorerConfig:
    home: Path
    node: str = DEFAULT_NODE
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    index: str = ""  # "" = SQLite in the home
    batch_blocks: int = 200
    refresh_blocks: int = 5

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def index_url(self) -> str:
        return self.index or sqlite_url(self.home / INDEX_FILE)

    @property
    def index_kind(self) -> str:
        return "sqlite" if self.index_url.startswith("sqlite") else "postgresql"

    def with_changes(self, **changes: Any) -> ExplorerConfig:
        return replace(self, **changes)


def check_config(config: ExplorerConfig) -> None:
    """Raises ExplorerConfigError for values an explorer cannot run with."""
    # Verify a TCP port, a database the explorer can use, and positive batch sizes
    if not 0 <= config.port <= 65535:
        raise ExplorerConfigError(f"port {config.port} is not a TCP port")
    if config.index and not config.index.startswith(INDEX_SCHEMES):
        raise ExplorerConfigError(
            f"--index takes sqlite:///PATH or postgresql://USER@HOST:PORT/DB, not {config.index!r}"
        )
    if config.batch_blocks < 1 or config.refresh_blocks < 1:
        raise ExplorerConfigError("batch_blocks and refresh_blocks are >= 1")


def load_config(home: Path) -> ExplorerConfig:
    """The config of the explorer in `home`. Raises ExplorerConfigError."""
    config = load_toml(ExplorerConfig, home, CONFIG_FILE, ExplorerConfigError, "explorer")
    check_config(config)
    return config


def write_config(config: ExplorerConfig) -> None:
    check_config(config)
    save_toml(config, config.path)
