"""A real provider process for integration tests and benchmarks, started through the CLI exactly
as an operator would (`voxpop provider start`), on a free local port.

    with LocalProvider.start(home, node_url=node.url, kind="echo", engine="echo", price=10) as p:
        httpx.post(p.url + "/v1/echo", ...)

The provider's account key must already be in the test keyring under `home` (name `key`).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from voxpop.client.testing import free_port, voxpop_command
from voxpop.provider.service import provider_dir
from voxpop.provider.status import STATUS_NAME, read_status

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class LocalProviderError(Exception):
    pass


@dataclass
class LocalProvider:
    home: Path
    port: int
    argv: list[str]
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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
        return cls._spawn(home, port, argv, timeout)

    @classmethod
    def _spawn(cls, home: Path, port: int, argv: list[str], timeout: float) -> LocalProvider:
        home.mkdir(parents=True, exist_ok=True)
        log_path = home / "provider.log"
        log = log_path.open("ab")
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        provider = cls(home, port, argv, process, log_path, log)
        try:
            provider.wait_ready(timeout)
        except BaseException:
            provider.stop()
            raise
        return provider

    def restart(self, timeout: float = START_TIMEOUT) -> LocalProvider:
        """The same command again (after stop() or kill()), on the same port."""
        return self._spawn(self.home, self.port, self.argv, timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise LocalProviderError(
                        f"provider exited with {self.process.returncode}: {self.log()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if http.get("/v1/offer").status_code == 200:
                        return
                time.sleep(0.05)
        raise LocalProviderError(f"provider did not answer within {timeout} s: {self.log()}")

    def offer(self) -> dict[str, Any]:
        value: dict[str, Any] = httpx.get(self.url + "/v1/offer", timeout=5.0).json()
        return value

    def status(self) -> dict[str, Any]:
        """Live from the running process (GET /v1/status)."""
        value: dict[str, Any] = httpx.get(self.url + "/v1/status", timeout=5.0).json()
        return value

    def status_file(self) -> dict[str, Any] | None:
        return read_status(provider_dir(self.home) / STATUS_NAME)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-4000:]
        return ""

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush (a crash)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self._log.close()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within STOP_TIMEOUT seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> LocalProvider:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
