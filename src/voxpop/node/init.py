"""`voxpop node init`: a fresh node home with config, genesis and a validator key.

The node's consensus key becomes a staking validator run by an operator account whose key is
stored in HOME/keyring (`test` backend, name `validator`): genesis funds the operator and bonds
its self-bond, so the validator's power is `self_bond // 1_000_000`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from voxpop.chain.genesis import (
    UVOX_PER_VOX,
    Genesis,
    GenesisValidator,
    default_app_state,
    default_consensus_params,
    genesis_validator_power,
)
from voxpop.crypto import Keyring, decode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.node.config import NodeConfig
from voxpop.node.home import NodeHome
from voxpop.node.validator_key import load_validator_key, save_validator_key

DEFAULT_VALIDATOR_POWER = 10
OPERATOR_KEY = "validator"  # the operator account's name in the node's `test` keyring
OPERATOR_SPARE = 1_000 * UVOX_PER_VOX  # the operator's liquid balance at genesis, for fees


def operator_address(keyring: Keyring) -> bytes:
    """The operator account in `keyring` (created on first use)."""
    info = (
        keyring.show(OPERATOR_KEY) if keyring.has(OPERATOR_KEY) else keyring.add(OPERATOR_KEY).info
    )
    return decode_address(info.address)


def fund(balances: list[tuple[bytes, int]], address: bytes, amount: int) -> list[tuple[bytes, int]]:
    """`balances` with `amount` more for `address`."""
    out = dict(balances)
    out[address] = out.get(address, 0) + amount
    return sorted(out.items())


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
    operator = operator_address(Keyring(home.keyring_dir, "test"))
    self_bond = DEFAULT_VALIDATOR_POWER * UVOX_PER_VOX
    genesis = Genesis(
        chain_id=chain_id,
        genesis_time_unix=genesis_time_unix if genesis_time_unix is not None else int(time.time()),
        initial_height=1,
        validators=(
            GenesisValidator(key.public_key.raw, genesis_validator_power(self_bond), moniker),
        ),
        app_state=default_app_state(
            fund(balances or [], operator, self_bond + OPERATOR_SPARE),
            registrars=registrars,
            validators=[(operator, key.public_key.raw, self_bond)],
        ),
        consensus_params=default_consensus_params(),
    )
    genesis.save(home.genesis_json)
    return genesis


def home_at(path: Path | str) -> NodeHome:
    return NodeHome(Path(path).expanduser().resolve())
