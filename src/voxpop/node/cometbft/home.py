"""HOME/cometbft, CometBFT's home inside ours: made by `cometbft init`, refreshed at each start.

Layout (see docs/operations/cometbft.md):

    HOME/config/config.toml              our settings: moniker, [api], [cometbft] (ports, timing)
    HOME/config/genesis.json             ours; HOME/cometbft/config/genesis.json is derived from it
    HOME/config/priv_validator_key.json  copied to HOME/cometbft/config/ (CometBFT's own format)
    HOME/cometbft/                       CometBFT's home: config/, data/, cometbft.log, cometbft.pid
    HOME/cometbft/overrides.toml         optional, merged last into CometBFT's config.toml
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from voxpop.node.cometbft.binary import CometBFTError, find_cometbft
from voxpop.node.cometbft.config import CometSettings, cometbft_config, rpc_url_from_laddr
from voxpop.node.cometbft.genesis import cometbft_genesis
from voxpop.node.home import NodeHome


def _write_if_changed(path: Path, content: str, mode: int | None = None) -> bool:
    if path.exists() and path.read_text() == content:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(content)
    if mode is not None:
        tmp.chmod(mode)
    os.replace(tmp, path)
    return True


@dataclass(frozen=True, slots=True)
class PreparedHome:
    """HOME/cometbft, ready to start, and what the node needs to know about it."""

    path: Path
    chain_id: str
    proxy_app: str  # where our ABCI server must listen
    rpc_url: str  # CometBFT's JSON-RPC, for CometNodeService


def prepare_cometbft_home(
    home: NodeHome, settings: CometSettings, binary: Path | None = None
) -> PreparedHome:
    """Create or refresh HOME/cometbft.

    `cometbft init` runs once (it makes node_key.json unless one exists, and
    data/priv_validator_state.json, CometBFT's double-sign guard; both are kept across restarts).
    On every call the validator key is copied from HOME/config, the genesis is derived from ours
    and CometBFT's config.toml is rewritten from our settings; a file is only rewritten when its
    content changes.

    Raises CometBFTError if `cometbft init` fails, GenesisError for a bad genesis.
    """
    binary = binary or find_cometbft()
    cdir = home.cometbft_dir
    (cdir / "config").mkdir(parents=True, exist_ok=True)

    # Verify our genesis converts before touching anything.
    genesis = cometbft_genesis(json.loads(home.genesis_json.read_text()))

    if not (cdir / "config" / "config.toml").exists():
        done = subprocess.run(
            [str(binary), "init", "--home", str(cdir)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            output = (done.stderr.strip() or done.stdout.strip()).splitlines()
            raise CometBFTError(
                f"cometbft init --home {cdir}: exit {done.returncode}: "
                + (output[-1] if output else "(no output)")
            )

    # After init, which writes a throwaway key (and the signing state file, kept from now on).
    if home.priv_validator_key.exists():
        _write_if_changed(
            cdir / "config" / "priv_validator_key.json",
            home.priv_validator_key.read_text(),
            mode=0o600,
        )

    _write_if_changed(cdir / "config" / "genesis.json", json.dumps(genesis, indent=2) + "\n")
    config_path = cdir / "config" / "config.toml"
    config = cometbft_config(tomllib.loads(config_path.read_text()), settings)
    _write_if_changed(config_path, tomli_w.dumps(config))
    return PreparedHome(
        path=cdir,
        chain_id=genesis["chain_id"],
        proxy_app=str(config["proxy_app"]),
        rpc_url=rpc_url_from_laddr(str(config["rpc"]["laddr"])),
    )
