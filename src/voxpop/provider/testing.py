"""A real provider process for integration tests and benchmarks, started through the CLI exactly
as an operator would (`voxpop provider start`), on a free local port.

    with LocalProvider.start(home, node_url=node.url, kind="echo", engine="echo", price=10) as p:
        httpx.post(p.url + "/v1/echo", ...)

The provider's account key must already be in the test keyring under `home` (name `key`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx

from voxpop.client.testing import LocalProcess, LocalProcessError, free_port, voxpop_command
from voxpop.provider.service import provider_dir
from voxpop.provider.status import STATUS_NAME, read_status

START_TIMEOUT = 120.0  # a wait, not a delay: a loaded 2-core CI machine starts Python slowly


# What a provider that exits or does not answer in time raises
LocalProviderError = LocalProcessError


@dataclass
class LocalProvider(LocalProcess):
    """`voxpop provider start` on a local port (a real process), ready once it answers /v1/offer."""

    READY_PATH: ClassVar[str] = "/v1/offer"
    LOG_NAME: ClassVar[str] = "provider.log"

    @classmethod
    def start(
        cls,
        home: Path,
        *,
        node_url: str,
        kind: str = "echo",
        engine: str = "echo",
        key: str = "provider",
        price: int | None = None,
        port: int | None = None,
        extra: list[str] | None = None,
        timeout: float = START_TIMEOUT,
    ) -> LocalProvider:
        """Run `voxpop provider start` (test keyring) and wait until it answers /v1/offer.

        Raises LocalProviderError if it exits or does not answer within `timeout` seconds."""
        port = port or free_port()
        argv = voxpop_command(
            "provider",
            "start",
            "--service",
            kind,
            "--engine",
            engine,
            "--home",
            str(home),
            "--key",
            key,
            "--keyring-backend",
            "test",
            "--node",
            node_url,
            "--port",
            str(port),
        )
        if price is not None:
            argv += ["--price", str(price)]
        argv += extra or []
        return cls.spawn(home, port, argv, timeout)

    def offer(self) -> dict[str, Any]:
        value: dict[str, Any] = httpx.get(self.url + "/v1/offer", timeout=5.0).json()
        return value

    def status(self) -> dict[str, Any]:
        """Live from the running process (GET /v1/status)."""
        value: dict[str, Any] = httpx.get(self.url + "/v1/status", timeout=5.0).json()
        return value

    def status_file(self) -> dict[str, Any] | None:
        return read_status(provider_dir(self.home) / STATUS_NAME)
