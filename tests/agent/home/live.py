"""A real home for browser tests: a solo node, the owner funded, an agent provisioned for it
(keys, grants, settings key) and served by a real `voxpop agent start` process whose home page
unlocks the owner key from a file keyring with a passphrase.

    with start_live_home(tmp, "passphrase") as live:
        live.url            # the agent: the home at /, the device API at /v1
        live.client()       # a VoxClient on the node
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from voxpop.agent.config import HomeSettings, init_agent_home, load_config, write_config
from voxpop.agent.keys import load_agent_key
from voxpop.agent.provision import provision_agent
from voxpop.client import VoxClient
from voxpop.client.testing import LocalNode, free_port, voxpop_command
from voxpop.crypto import Keyring, encode_address
from voxpop.crypto.keyfile import MINIMAL_KDF
from voxpop.crypto.keys import PrivateKey

LIVE_OWNER = PrivateKey(bytes([213]) * 32)
FUNDS = 10**13
START_TIMEOUT = 180.0  # a shared, loaded machine: the agent imports for a while


@dataclass
class LiveHome:
    root: Path
    node: LocalNode
    url: str
    owner_key: PrivateKey
    agent_key: PrivateKey
    agent_home: Path
    owner_home: Path
    passphrase: str
    process: subprocess.Popen[bytes]

    @property
    def owner(self) -> bytes:
        return self.owner_key.public_key.address

    def client(self) -> VoxClient:
        return VoxClient(self.node.url)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.agent_home / "agent.log").read_text(errors="replace")[-4000:]
        return ""


@contextlib.contextmanager
def start_live_home(root: Path, passphrase: str) -> Iterator[LiveHome]:
    owner_home = root / "owner"
    keyring = Keyring(owner_home / "keyring", "file", kdf=MINIMAL_KDF)
    keyring.import_seed("owner", LIVE_OWNER.seed, passphrase)
    funds = {encode_address(LIVE_OWNER.public_key.address): FUNDS}
    node = LocalNode.start(root / "node", funds=funds, block_interval_ms=200, timeout=START_TIMEOUT)
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    try:
        agent_home = root / "agent"
        config, _ = init_agent_home(
            agent_home,
            owner=LIVE_OWNER.public_key.address,
            chain_id=node.chain_id,
            nodes=[node.url],
            port=free_port(),
            keyring_backend="test",
        )
        home_settings = HomeSettings(owner_home=owner_home)
        write_config(
            config.with_changes(
                sync_interval=0.5, cache_fresh_seconds=1.0, home_settings=home_settings
            )
        )
        agent_key = load_agent_key(load_config(agent_home))
        with VoxClient(node.url) as client:
            provision_agent(client, LIVE_OWNER, agent_key)
        log = (agent_home / "agent.log").open("ab")
        process = subprocess.Popen(
            voxpop_command("agent", "start", "--home", str(agent_home), "--log-level", "info"),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        live = LiveHome(
            root,
            node,
            config.url,
            LIVE_OWNER,
            agent_key,
            agent_home,
            owner_home,
            passphrase,
            process,
        )
        _wait_answering(live)
        yield live
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if log is not None:
            log.close()
        node.stop()


def _wait_answering(live: LiveHome) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if live.process.poll() is not None:
            raise RuntimeError(f"agent exited {live.process.returncode}: {live.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(live.url + "/status", timeout=2.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the agent did not answer in {START_TIMEOUT} s: {live.log()}")
