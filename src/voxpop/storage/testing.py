"""A real storage node process for integration tests and benchmarks, started through the CLI as
an operator would (`voxpop storage start`), on a free local port.

    node = LocalStorageNode.start(home, node_url=chain.url, account=key, capacity="1GiB")
    node.status()        # GET /v1/status
    node.kill()          # SIGKILL (a crash); node.restart() runs the same command again

The account key is put in the test keyring under `home` (name `storage`) if it is not there.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar

import httpx

from voxpop.client.testing import START_TIMEOUT, LocalProcess, free_port, voxpop_command
from voxpop.crypto import Keyring
from voxpop.crypto.keys import PrivateKey
from voxpop.storage.config import (
    DEFAULT_KEY,
    KEYRING_DIR,
    StorageConfig,
    parse_size,
    write_config,
)


class LocalStorageNode(LocalProcess):
    READY_PATH: ClassVar[str] = "/v1/status"  # answered once registered on chain
    LOG_NAME: ClassVar[str] = "storage.log"

    @classmethod
    def start(
        cls,
        home: Path,
        *,
        node_url: str,
        account: PrivateKey,
        capacity: str = "1GiB",
        price: int = 1_000,
        collateral: int = 1_000_000_000,
        port: int | None = None,
        poll_interval: float = 0.2,
        claim_interval: float = 1.0,
        extra: list[str] | None = None,
        timeout: float = START_TIMEOUT,
        via_cli: bool = True,
    ) -> LocalStorageNode:
        """Run `voxpop storage start` (test keyring) and wait until it answers /v1/status.

        `via_cli=False` writes HOME/storage.toml itself and runs the lean entry the CLI would
        exec into (`python -m voxpop.storage`), saving the CLI's start-up: for starting many.
        Raises LocalProcessError."""
        keyring = Keyring(home / KEYRING_DIR, "test")
        if not keyring.has(DEFAULT_KEY):
            keyring.import_seed(DEFAULT_KEY, account.seed)
        port = port or free_port()
        if not via_cli:
            config = StorageConfig(
                home,
                node=node_url,
                port=port,
                capacity=parse_size(capacity),
                price=price,
                collateral=collateral,
                keyring_backend="test",
                poll_interval=poll_interval,
                claim_interval=claim_interval,
            )
            write_config(config)
            argv = [sys.executable, "-m", "voxpop.storage", "--home", str(home)]
            return cls.spawn(home, port, argv, timeout)
        argv = voxpop_command(
            "storage",
            "start",
            "--home",
            str(home),
            "--node",
            node_url,
            "--listen",
            f"127.0.0.1:{port}",
            "--capacity",
            capacity,
            "--price",
            str(price),
            "--collateral",
            str(collateral),
            "--keyring-backend",
            "test",
            "--poll-interval",
            str(poll_interval),
            "--claim-interval",
            str(claim_interval),
            *(extra or []),
        )
        return cls.spawn(home, port, argv, timeout)

    def status(self) -> dict[str, Any]:
        """Live from the running node (GET /v1/status)."""
        value: dict[str, Any] = httpx.get(self.url + "/v1/status", timeout=5.0).json()
        return value

    @property
    def shards_dir(self) -> Path:
        return self.home / "data" / "shards"
