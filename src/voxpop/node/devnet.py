"""The devnet: everything voxpop needs, locally, from one command.

The first run creates the home with a funded dev account and a grant registrar (keys in the
unencrypted `test` keyring: a devnet is for trying things, not for value). Later runs resume it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voxpop.chain.genesis import UVOX_PER_VOX
from voxpop.crypto import Keyring, decode_address
from voxpop.node.config import NodeConfig
from voxpop.node.home import NodeHome, default_home
from voxpop.node.init import init_home

DEVNET_CHAIN_ID = "voxpop-devnet"
DEV_KEY = "dev"
REGISTRAR_KEY = "registrar"
PROVIDER_KEY = "provider"  # the devnet's stt provider (voxpop.provider.devnet)
DEV_FUNDS = 1_000_000 * UVOX_PER_VOX
PROVIDER_FUNDS = 2_000 * UVOX_PER_VOX  # the services module's 1,000 VOX min stake, and fees


def default_devnet_home() -> Path:
    return default_home() / "devnet"


@dataclass(frozen=True, slots=True)
class DevnetInfo:
    home: NodeHome
    created: bool
    dev_address: str
    dev_mnemonic: str | None  # only when just created
    registrar_pub_key: bytes
    has_provider: bool = False  # a funded provider key (devnets made before it have none)


def ensure_devnet(home: NodeHome, *, api_port: int | None = None) -> DevnetInfo:
    keyring = Keyring(home.keyring_dir, "test")
    if home.exists():
        dev = keyring.show(DEV_KEY)
        registrar = keyring.show(REGISTRAR_KEY)
        return DevnetInfo(
            home, False, dev.address, None, registrar.public_key, keyring.has(PROVIDER_KEY)
        )
    home.root.mkdir(parents=True, exist_ok=True)
    new_dev = keyring.show(DEV_KEY) if keyring.has(DEV_KEY) else None
    mnemonic = None
    if new_dev is None:
        created = keyring.add(DEV_KEY)
        new_dev, mnemonic = created.info, created.mnemonic
    registrar = (
        keyring.show(REGISTRAR_KEY)
        if keyring.has(REGISTRAR_KEY)
        else keyring.add(REGISTRAR_KEY).info
    )
    provider = (
        keyring.show(PROVIDER_KEY) if keyring.has(PROVIDER_KEY) else keyring.add(PROVIDER_KEY).info
    )
    config = NodeConfig()
    if api_port is not None:
        config.api.port = api_port
    init_home(
        home,
        chain_id=DEVNET_CHAIN_ID,
        moniker="devnet",
        balances=[
            (decode_address(new_dev.address), DEV_FUNDS),
            (decode_address(provider.address), PROVIDER_FUNDS),
        ],
        registrars=[(registrar.public_key, "devnet registrar")],
        config=config,
    )
    return DevnetInfo(home, True, new_dev.address, mnemonic, registrar.public_key, True)
