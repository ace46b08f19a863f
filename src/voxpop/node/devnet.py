"""The devnet: everything voxpop needs, locally, from one command.

The first run creates the home with a funded dev account and a grant registrar (keys in the
unencrypted `test` keyring: a devnet is for trying things, not for value). Later runs resume it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
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
    # Storage epochs are counted in blocks: an idle devnet still proves and pays its shards
    config.solo.create_empty_blocks = True
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


# --- the devnet's agent ------------------------------------------------------------------------

DEVNET_AGENT_PORT = 6712


@dataclass(frozen=True, slots=True)
class DevnetAgent:
    """The devnet's user agent, run as a child process of `voxpop devnet up`: it serves the
    Selene device API for the dev account's devices, authorized by the dev account."""

    url: str
    address: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def devnet_agent_home(home: NodeHome) -> Path:
    return home.root / "agent"


def mycroft_conf_snippet(agent_url: str) -> str:
    """What a device's mycroft.conf needs to use the agent (ovos-backend-client's `personal`
    backend speaks the same paths as Selene)."""
    doc = {"server": {"url": agent_url, "version": "v1", "backend_type": "personal"}}
    return json.dumps(doc, indent=2)


def start_devnet_agent(
    home: NodeHome, node_url: str, port: int = DEVNET_AGENT_PORT, wait: float = 30.0
) -> DevnetAgent:
    """Create the devnet agent's home on first run (test keyring), provision it on chain for the
    dev account (funds, keys, grants, settings key; skipped steps already done), then run
    `voxpop agent start`. Logs to HOME/agent/agent.log.

    Raises AgentError, VoxClientError, KeyringError, OSError."""
    from voxpop.agent.config import HomeSettings, load_config, write_config
    from voxpop.agent.keys import load_agent_key
    from voxpop.agent.provision import provision_agent
    from voxpop.client import VoxClient
    from voxpop.crypto import encode_address

    agent_home = devnet_agent_home(home)
    dev_key = Keyring(home.keyring_dir, "test").load_private_key(DEV_KEY)
    if not (agent_home / "agent.toml").exists():
        from voxpop.agent.config import init_agent_home

        init_agent_home(
            agent_home,
            owner=dev_key.public_key.address,
            chain_id=DEVNET_CHAIN_ID,
            nodes=[node_url],
            port=port,
            keyring_backend="test",
        )
    config = load_config(agent_home)
    # The node's URL and the agent's port follow this run's options; its home page (at /) signs
    # the dev account's owner actions with the dev key of the devnet's test keyring
    home_page = HomeSettings(owner_home=home.root, owner_key=DEV_KEY, owner_keyring_backend="test")
    config = config.with_changes(nodes=(node_url,), port=port, home_settings=home_page)
    write_config(config)
    agent_key = load_agent_key(config)
    with VoxClient(node_url) as client:
        provision_agent(client, dev_key, agent_key)
    log_path = agent_home / "agent.log"
    argv = [sys.executable, "-m", "voxpop.cli.main", "agent", "start", "--home", str(agent_home)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    agent = DevnetAgent(config.url, encode_address(agent_key.public_key.address), process, log_path)
    _wait_answering(agent, wait)
    return agent


def _wait_answering(agent: DevnetAgent, wait: float) -> None:
    import httpx

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and agent.process.poll() is None:
        try:
            if httpx.get(agent.url + "/status", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    agent.stop()
    raise OSError(f"the devnet agent did not start: see {agent.log_path}")
