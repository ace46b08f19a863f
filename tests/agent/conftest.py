"""The agent tests' shared world: one real solo node, an agent provisioned for the owner
(funded, keys published, authorized with caps, holding the settings key) and served by a real
`voxpop agent start` process on a free port, and, for the tests that pay, providers of each
service kind. The outside client (ovos-backend-client 1.0.1) runs in its own venv (ovos_env.py).

    def test_x(agent_world: AgentWorld) -> None:
        login = agent_world.pair_device("kitchen")          # /device/code, owner claim, activate
        agent_world.http.get(f"/v1/device/{login['uuid']}", headers=agent_world.bearer(login))
        agent_world.owner_cli("device", "settings", "set", "kitchen", "timeFormat=full")

Session-scoped: the node, the agent and the providers start once for all the agent tests.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from typer.testing import CliRunner

from voxpop.agent.config import init_agent_home, load_config, write_config
from voxpop.agent.keys import load_agent_key
from voxpop.agent.provision import provision_agent
from voxpop.client import VoxClient
from voxpop.client.testing import LocalNode, free_port, voxpop_command
from voxpop.crypto import Keyring, encode_address
from voxpop.crypto.keys import PrivateKey

OWNER = PrivateKey(bytes([201]) * 32)
FUNDS = 10**13
AGENT_SYNC_SECONDS = 0.5  # catch-up passes in tests
START_TIMEOUT = 60.0


@dataclass
class AgentProcess:
    """`voxpop agent start --home HOME`, restartable on the same port."""

    home: Path
    url: str
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.home / "agent.log"

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            voxpop_command("agent", "start", "--home", str(self.home), "--log-level", "info"),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"agent exited {self.process.returncode}: {self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/status", timeout=2.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the agent did not answer in {START_TIMEOUT} s: {self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-4000:]
        return ""


@dataclass
class AgentWorld:
    root: Path
    node: LocalNode
    agent: AgentProcess
    owner_key: PrivateKey
    agent_key: PrivateKey
    http: httpx.Client

    @property
    def url(self) -> str:
        """The agent's base URL (devices add /v1)."""
        return self.agent.url

    @property
    def owner(self) -> bytes:
        return self.owner_key.public_key.address

    @property
    def owner_address(self) -> str:
        return encode_address(self.owner)

    def client(self) -> VoxClient:
        return VoxClient(self.node.url)

    # --- the owner ---

    def owner_cli(self, *args: str, check: bool = True) -> Any:
        """`voxpop device ...` as the owner (test keyring in the node home), JSON out."""
        from voxpop.cli.device import device_app

        options = [
            *("--node", self.node.url, "--home", str(self.node.home)),
            *("--keyring-backend", "test", "--key", "owner", "--output", "json"),
        ]
        env = {"VOXPOP_KEYRING_PASSPHRASE": None, "VOXPOP_OWNER_KEY": None, "VOXPOP_HOME": None}
        result = CliRunner().invoke(device_app, [*args, *options], env=env)
        out = json.loads(result.stdout) if result.stdout.strip() else {}
        if check:
            assert result.exit_code == 0, (result.stdout, result.exception)
        return out

    def claim(self, code: str, name: str | None = None) -> Any:
        extra = ["--name", name] if name else []
        return self.owner_cli("claim", code, *extra)

    # --- a device speaking HTTP as mycroft-core does ---

    def bearer(self, login: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {login['accessToken']}", "Device": login["uuid"]}

    def pair_device(self, name: str, **report: str) -> dict[str, Any]:
        """Pair a device over HTTP: code, the owner's claim, activate. Its login."""
        state = f"state-{name}-{time.monotonic_ns()}"
        grant = self.http.get("/v1/device/code", params={"state": state}).json()
        self.claim(grant["code"], name)
        body: dict[str, str] = {"state": state, "token": grant["token"], **report}
        if "core_version" not in report:
            body.setdefault("coreVersion", "21.2.2")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = self.http.post("/v1/device/activate", json=body)
            if answer.status_code == 200:
                login: dict[str, Any] = answer.json()
                return login
            assert answer.status_code == 404 and answer.content == b""
            time.sleep(0.2)
        raise AssertionError("the device was never activated")

    # --- stopping and starting the chain under the agent ---

    def stop_node(self) -> None:
        self.node.stop()

    def restart_node(self) -> None:
        """The same node, on the same port (the agent's config names it)."""
        node = self.node
        log = node.log_path.open("ab")
        process = subprocess.Popen(
            voxpop_command(
                "node", "start", "--solo", "--home", str(node.home), "--api-port", str(node.port)
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.node = LocalNode(node.home, node.port, node.chain_id, process, node.log_path, log)
        self.node.wait_ready(START_TIMEOUT)


def make_agent_home(
    home: Path, node: LocalNode, owner_key: PrivateKey, *, port: int | None = None
) -> PrivateKey:
    """An agent home for `owner_key` on `node` (test keyring), provisioned on chain. Its key."""
    config, _address = init_agent_home(
        home,
        owner=owner_key.public_key.address,
        chain_id=node.chain_id,
        nodes=[node.url],
        port=port if port is not None else free_port(),
        keyring_backend="test",
    )
    write_config(config.with_changes(sync_interval=AGENT_SYNC_SECONDS))
    agent_key = load_agent_key(load_config(home))
    with VoxClient(node.url) as client:
        provision_agent(client, owner_key, agent_key)
    return agent_key


@pytest.fixture(scope="session")
def agent_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentWorld]:
    root = tmp_path_factory.mktemp("agent-world")
    node_home = root / "node"
    Keyring(node_home / "keyring", "test").import_seed("owner", OWNER.seed)
    funds = {encode_address(OWNER.public_key.address): FUNDS}
    node = LocalNode.start(node_home, funds=funds)
    agent: AgentProcess | None = None
    try:
        agent_home = root / "agent"
        agent_key = make_agent_home(agent_home, node, OWNER)
        config = load_config(agent_home)
        agent = AgentProcess(agent_home, config.url)
        agent.start()
        with httpx.Client(base_url=config.url, timeout=30.0) as http:
            world = AgentWorld(root, node, agent, OWNER, agent_key, http)
            yield world
            node = world.node
    finally:
        if agent is not None:
            agent.stop()
        node.stop()
