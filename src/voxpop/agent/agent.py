"""The agent: one object holding the config, the local store, the chain view and the clock.
Routes reach it as `request.app.state.agent` (auth.get_agent)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from voxpop.agent.chain import ChainView
from voxpop.agent.config import AgentConfig, load_config
from voxpop.agent.keys import load_agent_key
from voxpop.agent.pairings import PairingBook
from voxpop.agent.registry import DeviceRegistry
from voxpop.agent.store import LocalStore
from voxpop.agent.sync import Syncer
from voxpop.agent.tokens import TokenBook
from voxpop.crypto.keys import PrivateKey


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        agent_key: PrivateKey,
        *,
        store: LocalStore | None = None,
        chain: ChainView | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.key = agent_key
        self.address = agent_key.public_key.address
        self.owner = config.owner
        self.clock = clock
        self.store = store or LocalStore.open(config.home, agent_key)
        self.chain = chain or ChainView(config, agent_key, self.store, clock=clock)
        self.devices = DeviceRegistry(self.store, config.owner, clock)
        self.tokens = TokenBook(self.store, config.tokens, clock, self.devices.session)
        self.pairings = PairingBook(self)
        self.syncer = Syncer(self, config.sync_interval)

    @classmethod
    def open(
        cls,
        home: Path,
        passphrase: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> Agent:
        """The agent of a home made by init_agent_home. Raises AgentConfigError, AgentKeyError,
        StoreError."""
        config = load_config(Path(home))
        return cls(config, load_agent_key(config, passphrase), clock=clock)

    def close(self) -> None:
        self.syncer.stop()
        self.chain.close()
        self.store.close()
