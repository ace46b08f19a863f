"""An agent served in-process for route tests: a real Agent (config, encrypted LocalStore, chain
view) in a temp home, a paired device with a live login, and the app served by uvicorn in a
thread on a free local port (an httpx client on it).

    with local_agent(home, owner=owner, agent_key=key, nodes=[node.url]) as (agent, http, login):
        http.get("/v1/...", headers=bearer(login))
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import uvicorn

from voxpop.agent.agent import Agent
from voxpop.agent.app import create_app
from voxpop.agent.config import AgentConfig, OptIns, PaymentSettings, write_config
from voxpop.agent.tokens import Login
from voxpop.client.testing import free_port
from voxpop.crypto.keys import PrivateKey

DEFAULT_NODES = ("http://127.0.0.1:9",)  # nothing listens: a chain that is never reached


def bearer(login: Login) -> dict[str, str]:
    return {"Authorization": f"Bearer {login.access_token}", "Device": login.uuid}


@contextmanager
def local_agent(
    home: Path,
    *,
    owner: bytes,
    agent_key: PrivateKey,
    chain_id: str = "voxpop-test",
    nodes: tuple[str, ...] | list[str] = DEFAULT_NODES,
    opt_in: OptIns | None = None,
    payments: PaymentSettings | None = None,
    toml_extra: str = "",
    clock: Callable[[], float] | None = None,
    device_seed: bytes = b"device",
) -> Iterator[tuple[Agent, httpx.Client, Login]]:
    """An agent whose home is `home`, serving one paired device (its login)."""
    port = free_port()
    config = AgentConfig(
        home=home,
        port=port,
        owner=owner,
        chain_id=chain_id,
        nodes=tuple(nodes),
        opt_in=opt_in or OptIns(),
        payments=payments or PaymentSettings(),
        keyring_backend="test",
    )
    home.mkdir(parents=True, exist_ok=True)
    write_config(config)
    if toml_extra:
        with (home / "agent.toml").open("a", encoding="utf-8") as f:
            f.write("\n" + toml_extra)
    kwargs = {} if clock is None else {"clock": clock}
    agent = Agent(replace(config), agent_key, **kwargs)
    try:
        device_id = hashlib.sha256(device_seed).digest()
        uuid = agent.devices.add(device_id, {"name": "kitchen"})
        login = agent.tokens.issue(uuid)
        with serve_in_thread(agent) as url, httpx.Client(base_url=url, timeout=30.0) as http:
            yield agent, http, login
    finally:
        agent.close()


@contextmanager
def serve_in_thread(agent: Agent) -> Iterator[str]:
    """The agent's app on 127.0.0.1:<config.port> in a thread; yields its URL."""
    config = uvicorn.Config(
        create_app(agent),
        host="127.0.0.1",
        port=agent.config.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the agent's server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{agent.config.port}"
    finally:
        server.should_exit = True
        thread.join(10)
