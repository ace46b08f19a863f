"""`voxpop node init --state-sync RPC1,RPC2`: a home for a node that joins a running network by
restoring a snapshot instead of replaying every block.

The trust root CometBFT's state sync starts from (`[statesync] trust_height/trust_hash`) comes
from our light client (voxpop.client.light): unless one is given out of band, the first RPC
server's latest header is taken, the block below it verified back along the hash chain and
cross-checked with every other server; that block becomes the root. The same root is checked
again by the node itself before it restores a snapshot (voxpop.node.snapshots.light_check).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from voxpop.client.errors import VoxClientError
from voxpop.client.light import LightClient, TrustOptions
from voxpop.crypto.keys import PrivateKey
from voxpop.node.config import NodeConfig
from voxpop.node.home import NodeHome
from voxpop.node.snapshots.light_check import RpcLightDriver
from voxpop.node.validator_key import save_validator_key


class StateSyncSetupError(Exception):
    """The trust root cannot be verified, or the arguments cannot make a joining node."""

    code = "state_sync_setup"


def verified_trust_root(
    rpc_servers: Sequence[str], trust: TrustOptions | None = None
) -> TrustOptions:
    """A trust root for state sync, verified by our light client across `rpc_servers` (see the
    module doc); with `trust` given, that root is verified (its hash at its height) and kept.

    Raises StateSyncSetupError.
    """
    if len(rpc_servers) < 2:
        raise StateSyncSetupError("state sync needs two RPC servers at least (one a witness)")
    driver = RpcLightDriver(rpc_servers[0])
    light = LightClient(trust_options=trust, witnesses=rpc_servers[1:])
    try:
        root = driver.run(light.initialize_flow())
        if trust is not None:
            return trust
        # Verify a block below the primary's latest against it and against every witness
        below = driver.run(light.verified_flow(max(1, root.height - 1)))
    except VoxClientError as exc:
        raise StateSyncSetupError(f"cannot verify a trust root: {exc}") from exc
    finally:
        driver.close()
    return TrustOptions(below.height, below.hash)


def init_state_sync_home(
    home: NodeHome,
    *,
    genesis: Path,
    rpc_servers: Sequence[str],
    trust: TrustOptions,
    config: NodeConfig | None = None,
    discovery_ms: int = 15_000,
) -> NodeConfig:
    """Write a home that joins the network of `genesis` by state sync: config.toml (with
    `[cometbft] state_sync_*` from `rpc_servers` and `trust`), the network's genesis.json, and a
    consensus key of its own (a full node: not in the validator set)."""
    for d in (home.root, home.config_dir, home.data_dir):
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o700)
    if not home.priv_validator_key.exists():
        save_validator_key(home.priv_validator_key, PrivateKey.generate())
    shutil.copyfile(genesis, home.genesis_json)
    cfg = config or NodeConfig()
    cfg.cometbft.state_sync_rpc_servers = ",".join(rpc_servers)
    cfg.cometbft.state_sync_trust_height = trust.height
    cfg.cometbft.state_sync_trust_hash = trust.hash.hex().upper()
    cfg.cometbft.state_sync_discovery_ms = discovery_ms
    cfg.save(home.config_toml)
    return cfg
