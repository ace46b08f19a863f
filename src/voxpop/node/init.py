"""`voxpop node init`: a fresh node home with config, genesis and a validator key."""

from __future__ import annotations

import os
import time
from pathlib import Path

from voxpop.chain.genesis import (
    Genesis,
    GenesisValidator,
    default_app_state,
    default_consensus_params,
)
from voxpop.crypto.keys import PrivateKey
from voxpop.node.config import NodeConfig
from voxpop.node.home import NodeHome
from voxpop.node.validator_key import load_validator_key, save_validator_key

DEFAULT_VALIDATOR_POWER = 10


class HomeExistsError(Exception):
    code = "home_exists"


def init_home(
    home: NodeHome,
    *,
    chain_id: str = "voxpop-devnet",
    moniker: str = "voxpop-node",
    balances: list[tuple[bytes, int]] | None = None,
    registrars: list[tuple[bytes, str]] | None = None,
    config: NodeConfig | None = None,
    genesis_time_unix: int | None = None,
    overwrite: bool = False,
) -> Genesis:
    """Write config.toml, a validator key and a one-validator genesis.json into `home`."""
    if home.exists() and not overwrite:
        raise HomeExistsError(f"{home.root} already holds a node (genesis.json exists)")
    for d in (home.root, home.config_dir, home.data_dir):
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o700)
    if home.priv_validator_key.exists():
        key = load_validator_key(home.priv_validator_key)
    else:
        key = PrivateKey.generate()
        save_validator_key(home.priv_validator_key, key)
    cfg = config or NodeConfig()
    cfg.moniker = moniker
    cfg.save(home.config_toml)
    genesis = Genesis(
        chain_id=chain_id,
        genesis_time_unix=genesis_time_unix if genesis_time_unix is not None else int(time.time()),
        initial_height=1,
        validators=(GenesisValidator(key.public_key.raw, DEFAULT_VALIDATOR_POWER, moniker),),
        app_state=default_app_state(balances or [], registrars=registrars),
        consensus_params=default_consensus_params(),
    )
    genesis.save(home.genesis_json)
    return genesis


def home_at(path: Path | str) -> NodeHome:
    return NodeHome(Path(path).expanduser().resolve())
