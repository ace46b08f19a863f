"""Open the state machine of a node home: its LMDB store and the app over it."""

from __future__ import annotations

from voxpop.chain.app import VoxApp
from voxpop.node.blockstore import AUX_DBS
from voxpop.node.config import load_config
from voxpop.node.home import NodeHome
from voxpop.store import MerkleStore


def open_app(home: NodeHome) -> VoxApp:
    config = load_config(home.config_toml)
    home.state_dir.mkdir(parents=True, exist_ok=True)
    store = MerkleStore(home.state_dir, keep_versions=config.store.keep_versions, aux_dbs=AUX_DBS)
    return VoxApp(store)
