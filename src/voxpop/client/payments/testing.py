"""A real provider gateway in a child process, for tests and benchmarks of paying code.

    with LocalProvider.start(tmp / "prov", node.url, seed, kind="echo", price=10) as provider:
        provider.url, provider.signing_key

It runs `voxpop provider start` exactly as an operator would (account key in a test keyring under
its home) on a free local port, waits until `GET /v1/offer` answers, and stops it when done
(`kill()` stops it with SIGKILL, as a crash would).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from voxpop.cli.keyring import KeyringBackendChoice, open_keyring
from voxpop.client.testing import free_port, voxpop_command
from voxpop.crypto.keys import PrivateKey

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
KEY_NAME = "provider"


class LocalProviderError(Exception):
    pass


@dataclass
class LocalProvider:
    home: Path
    port: int
    argv: list[str]
    process: subprocess.Popen[bytes]
    log_path: Path
    offer: dict[str, Any] = field(default_factory=dict)
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def signing_key(self) -> bytes:
        return bytes.fromhex(str(self.offer["signing_key"]))

    @classmethod
    def start(
        cls,
        home: Path,
        node_url: str,
        account: PrivateKey,
        *,
        kind: str = "echo",
        engine: str = "echo",
        price: int | None = None,
        port: int | None = None,
        bench_unpaid: bool = False,
        extra: list[str] | None = None,
        timeout: float = START_TIMEOUT,
    ) -> LocalProvider:
        """Put `account` in a test keyring under `home` (once) and start a provider on it."""
        home.mkdir(parents=True, exist_ok=True)
        keyring = open_keyring(home, KeyringBackendChoice.TEST)
        if not keyring.has(KEY_NAME):
            keyring.import_seed(KEY_NAME, account.seed)
        port = port or free_port()
        argv = voxpop_command(
            "provider", "start", "--service", kind, "--engine", engine, "--home", str(home),
            "--key", KEY_NAME, "--keyring-backend", "test", "--node", node_url,
            "--port", str(port),
        )  # fmt: skip
        if price is not None:
            argv += ["--price", str(price)]
        if bench_unpaid:
            argv.append("--bench-unpaid")
        argv += extra or []
        return cls.run(home, port, argv, timeout)

    @classmethod
    def run(cls, home: Path, port: int, argv: list[str], timeout: float) -> LocalProvider:
        log_path = home / "provider.log"
        log = log_path.open("ab")
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        provider = cls(home, port, argv, process, log_path, _log=log)
        try:
            provider.wait_ready(timeout)
        except BaseException:
            provider.stop()
            raise
        return provider

    def restart(self, timeout: float = START_TIMEOUT) -> LocalProvider:
        """The same provider (home, port, options) started again."""
        return LocalProvider.run(self.home, self.port, self.argv, timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise LocalProviderError(
                        f"provider exited with {self.process.returncode}: {self.log()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    resp = http.get("/v1/offer")
                    if resp.status_code == 200:
                        self.offer = resp.json()
                        return
                time.sleep(0.05)
        raise LocalProviderError(f"provider did not answer within {timeout} s: {self.log()}")

    def status(self) -> dict[str, Any]:
        with httpx.Client(base_url=self.url, timeout=5.0) as http:
            data: dict[str, Any] = http.get("/v1/status").json()
            return data

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-4000:]
        return ""

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing gets to flush or shut down."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._close_log()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within STOP_TIMEOUT seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalProvider:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
