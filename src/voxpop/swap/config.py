"""The swap tool's configuration: `<swap dir>/config.json`, one section per chain.

    {
      "vox": {"node": "http://127.0.0.1:1317", "home": "~/.voxpop/devnet", "key": "dev",
              "keyring_backend": "test", "passphrase_file": ""},   (or "key_file": a hex seed)
      "eth": {"rpc_url": "http://127.0.0.1:8545", "contract": "0x...", "key_file": "eth.key",
              "confirmations": "1"},
      "btc": {... the keys voxpop.swap.btc.open_btc_leg reads ...}
    }

Relative paths are relative to the swap dir. Key files hold a 32-byte key in hex (0600); a
missing one is created. The file keyring's passphrase comes from `passphrase_file` or
VOXPOP_KEYRING_PASSPHRASE.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from voxpop.client import VoxClient
from voxpop.crypto.keyring import Keyring
from voxpop.crypto.keys import PrivateKey
from voxpop.node.home import NodeHome
from voxpop.swap.legs import Leg, SwapLegError
from voxpop.swap.vox import VoxLeg

CONFIG_FILE = "config.json"
PASSPHRASE_ENV = "VOXPOP_KEYRING_PASSPHRASE"


def read_config(root: Path) -> dict[str, Any]:
    """Raises SwapLegError if the file is missing or not a JSON object of sections."""
    path = root / CONFIG_FILE
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise SwapLegError(f"{path} is missing (see docs/swaps.md)") from None
    except ValueError as exc:
        raise SwapLegError(f"{path}: not JSON ({exc})") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise SwapLegError(f"{path} must be an object of sections (vox, eth, btc)")
    return value


def key_file(root: Path, name: str) -> bytes:
    """A 32-byte hex key from `name` (relative to `root`); created, mode 0600, if absent."""
    path = (root / name).expanduser()
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_bytes(32).hex() + "\n")
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise SwapLegError(f"{path}: must hold a 32-byte key in hex")
    return key


def open_vox_leg(root: Path, section: Mapping[str, Any]) -> VoxLeg:
    client = VoxClient(str(section.get("node", "http://127.0.0.1:1317")))
    if section.get("key_file"):  # a bare 32-byte seed in hex (a key for swaps only)
        return VoxLeg(client, PrivateKey(key_file(root, str(section["key_file"]))))
    home = Path(str(section.get("home", "~/.voxpop"))).expanduser()
    backend: Literal["file", "test"] = (
        "test" if section.get("keyring_backend") == "test" else "file"
    )
    passphrase: str | None = None
    if backend != "test":
        file = section.get("passphrase_file")
        if file:
            lines = (root / str(file)).expanduser().read_text().splitlines()
            passphrase = lines[0] if lines else ""
        else:
            passphrase = os.environ.get(PASSPHRASE_ENV)
    keyring = Keyring(NodeHome(home).keyring_dir, backend)
    key = keyring.load_private_key(str(section.get("key", "default")), passphrase)
    return VoxLeg(client, key)


def open_eth_leg(root: Path, section: Mapping[str, Any]) -> Leg:
    from web3 import Web3

    from voxpop.swap.eth import EthLeg

    for required in ("rpc_url", "contract", "key_file"):
        if not section.get(required):
            raise SwapLegError(f"[eth] needs {required}")
    w3 = Web3(Web3.HTTPProvider(str(section["rpc_url"]), request_kwargs={"timeout": 60}))
    confirmations = int(section.get("confirmations", 1))
    return EthLeg(
        w3, str(section["contract"]), key_file(root, str(section["key_file"])), confirmations
    )


def open_legs(root: Path) -> tuple[VoxLeg, dict[str, Leg]]:
    """The VOX leg and every other leg the config names."""
    config = read_config(root)
    if "vox" not in config:
        raise SwapLegError("the swap config needs a vox section")
    vox = open_vox_leg(root, config["vox"])
    others: dict[str, Leg] = {}
    if "eth" in config:
        others["ETH"] = open_eth_leg(root, config["eth"])
    if "btc" in config:
        from voxpop.swap.btc import open_btc_leg

        btc = {k: str(v) for k, v in config["btc"].items()}
        if btc.get("key_file"):
            btc["key_file"] = str((root / btc["key_file"]).expanduser())
        others["BTC"] = open_btc_leg(btc)
    return vox, others
