"""A real privacy node process for integration tests and benchmarks, started as an operator
would (`voxpop privacy start`, or its lean entry), on a free local port.

    node = LocalPrivacyNode.start(home, node_url=chain.url, account=key, price=10)
    node.status()        # GET /v1/status
    node.kill()          # SIGKILL (a crash); node.restart() runs the same command again

The account key is put in the test keyring under `home` (name `privacy`) if it is not there; it
needs funds for its stake and fees (and the services module must list the `reencrypt` kind).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar

import httpx

from voxpop.client.testing import START_TIMEOUT, LocalProcess, free_port, voxpop_command
from voxpop.crypto import Keyring
from voxpop.crypto.keys import PrivateKey
from voxpop.privacy.config import (
    DEFAULT_KEY,
    DEFAULT_STAKE,
    KEYRING_DIR,
    PrivacyConfig,
    write_config,
)


class LocalPrivacyNode(LocalProcess):
    READY_PATH: ClassVar[str] = "/v1/offer"  # answered once registered and serving
    LOG_NAME: ClassVar[str] = "privacy.log"

    @classmethod
    def start(
        cls,
        home: Path,
        *,
        node_url: str,
        account: PrivateKey,
        price: int = 10,
        unpaid: bool = False,
        stake: int = DEFAULT_STAKE,
        port: int | None = None,
        poll_interval: float = 0.2,
        sweep_interval: float = 2.0,
        timeout: float = START_TIMEOUT,
        via_cli: bool = False,
    ) -> LocalPrivacyNode:
        """Start it and wait until it answers /v1/offer. `via_cli=False` writes
        HOME/privacy.toml itself and runs the lean entry (`python -m voxpop.privacy`), saving
        the CLI's start-up. Raises LocalProcessError."""
        keyring = Keyring(home / KEYRING_DIR, "test")
        if not keyring.has(DEFAULT_KEY):
            keyring.import_seed(DEFAULT_KEY, account.seed)
        port = port or free_port()
        if not via_cli:
            config = PrivacyConfig(
                home,
                node=node_url,
                port=port,
                price=price,
                stake=stake,
                unpaid=unpaid,
                keyring_backend="test",
                poll_interval=poll_interval,
                sweep_interval=sweep_interval,
            )
            write_config(config)
            argv = [sys.executable, "-m", "voxpop.privacy", "--home", str(home)]
            return cls.spawn(home, port, argv, timeout)
        argv = voxpop_command(
            "privacy",
            "start",
            "--home",
            str(home),
            "--node",
            node_url,
            "--listen",
            f"127.0.0.1:{port}",
            "--price",
            str(price),
            "--stake",
            str(stake),
            "--keyring-backend",
            "test",
            "--poll-interval",
            str(poll_interval),
            "--unpaid" if unpaid else "--paid",
        )
        return cls.spawn(home, port, argv, timeout)

    def status(self) -> dict[str, Any]:
        """Live from the running node (GET /v1/status, localhost only)."""
        value: dict[str, Any] = httpx.get(self.url + "/v1/status", timeout=5.0).json()
        return value

    @property
    def grants_dir(self) -> Path:
        return self.home / "grants"
