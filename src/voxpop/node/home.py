"""The layout of a node home directory. Every role finds its files through here.

HOME/
  config/config.toml               node settings (API address, block interval, ...)
  config/genesis.json              chain id, genesis time, validators, app_state
  config/priv_validator_key.json   Ed25519 consensus key, in CometBFT's own format (mode 0600)
  data/state/                      the LMDB environment: state tree, block store, tx index
  keyring/                         account keys (encrypted unless --keyring-backend test)
  cometbft/                        CometBFT's home when the node runs under CometBFT
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME_ENV = "VOXPOP_HOME"


def default_home() -> Path:
    env = os.environ.get(DEFAULT_HOME_ENV)
    return Path(env).expanduser() if env else Path.home() / ".voxpop"


@dataclass(frozen=True, slots=True)
class NodeHome:
    root: Path

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def config_toml(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def genesis_json(self) -> Path:
        return self.config_dir / "genesis.json"

    @property
    def priv_validator_key(self) -> Path:
        return self.config_dir / "priv_validator_key.json"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def keyring_dir(self) -> Path:
        return self.root / "keyring"

    @property
    def cometbft_dir(self) -> Path:
        return self.root / "cometbft"

    def exists(self) -> bool:
        return self.genesis_json.exists()
