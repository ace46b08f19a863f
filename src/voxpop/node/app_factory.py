"""Open the state machine of a node home: its LMDB store and the app over it.

Software upgrades: `$VOXPOP_UPGRADES` names Python modules (comma-separated) imported before the
app opens. Each registers the upgrades its version knows (`register_upgrade(name, migrate)`), so
an operator runs the upgraded version from the same install by setting the variable and
restarting the node (docs/operations/node.md, "Software upgrades").
"""

from __future__ import annotations

import importlib
import logging
import os

from voxpop.chain.app import VoxApp
from voxpop.chain.modules.gov.adopt import ADOPT_UPGRADE, missing_defaults
from voxpop.chain.modules.gov.upgrades import KNOWN_UPGRADES
from voxpop.node.blockstore import AUX_DBS
from voxpop.node.config import ConfigError, load_config
from voxpop.node.home import NodeHome
from voxpop.node.validator_key import beacon_prover, load_validator_key
from voxpop.store import MerkleStore

log = logging.getLogger("voxpop.node.app_factory")

UPGRADES_ENV = "VOXPOP_UPGRADES"


class UpgradeModuleError(ConfigError):
    """A module named in $VOXPOP_UPGRADES cannot be imported."""

    code = "upgrade_module"


def load_upgrade_modules(spec: str | None = None) -> list[str]:
    """Import the modules named in `spec` (default: $VOXPOP_UPGRADES), in order; return the
    names of the upgrades now known. Importing a module twice registers nothing twice.

    Raises UpgradeModuleError if a name is empty or its module fails to import.
    """
    spec = os.environ.get(UPGRADES_ENV, "") if spec is None else spec
    names = [name.strip() for name in spec.split(",")] if spec.strip() else []
    for name in names:
        # Verify each entry names a module (a stray comma would otherwise be silently ignored)
        if not name:
            raise UpgradeModuleError(f"${UPGRADES_ENV}={spec!r} has an empty module name")
        try:
            importlib.import_module(name)
        except Exception as exc:  # whatever the module raised: the node must not start
            raise UpgradeModuleError(
                f"${UPGRADES_ENV}: cannot import {name!r}: {type(exc).__name__}: {exc}"
            ) from exc
    known = sorted(KNOWN_UPGRADES)
    if names:
        log.info("upgrades this version knows: %s (from %s)", ", ".join(known) or "none", spec)
    return known


def open_app(home: NodeHome) -> VoxApp:
    """The app over HOME/data/state, with the upgrades of $VOXPOP_UPGRADES registered.

    Raises UpgradeModuleError (a ConfigError), ConfigError, StoreError.
    """
    load_upgrade_modules()
    config = load_config(home.config_toml)
    home.state_dir.mkdir(parents=True, exist_ok=True)
    store = MerkleStore(home.state_dir, keep_versions=config.store.keep_versions, aux_dbs=AUX_DBS)
    app = VoxApp(store)
    app.retain_blocks = config.store.retain_blocks
    if home.priv_validator_key.exists():
        # The vote extensions of a validator: VRF proofs with its consensus key (solo mode signs
        # its own the same way)
        app.beacon_prover = beacon_prover(load_validator_key(home.priv_validator_key))
    changes = missing_defaults(app.committed, app.modules) if app.last_height else []
    if changes:
        log.warning(
            "this state was made by an earlier voxpop and lacks this version's params (%s): a "
            "solo node adopts their defaults in its next block; a network adopts them through "
            "the upgrade proposal %r (docs/operations/node.md, Software upgrades)",
            "; ".join(changes),
            ADOPT_UPGRADE,
        )
    return app
