"""A real solo node in a child process, for integration tests of code that uses the client.

    with LocalNode.start(tmp_path / "node", funds={alice_address: 10**12}) as node:
        with VoxClient(node.url) as client:
            ...

It runs the `voxpop` CLI exactly as an operator would (`node init`, then `node start --solo`) on a
free local port, waits until the API answers, and always stops the process when done.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, ClassVar, Self

import httpx

from voxpop.node.config import NodeConfig, load_config

DEFAULT_CHAIN_ID = "voxpop-test"
START_TIMEOUT = 120.0  # a wait, not a delay: a loaded 2-core CI machine starts Python slowly
STOP_TIMEOUT = 10.0


class LocalNodeError(Exception):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def voxpop_command(*args: str) -> list[str]:
    """The argv that runs the voxpop CLI with this interpreter."""
    return [sys.executable, "-m", "voxpop.cli.main", *args]


@dataclass
class LocalNode:
    home: Path
    port: int
    chain_id: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def init_home(
        cls,
        home: Path,
        *,
        funds: Mapping[str, int] | None = None,
        chain_id: str = DEFAULT_CHAIN_ID,
        port: int = 1317,
        block_interval_ms: int = 100,
        configure: Callable[[NodeConfig], None] | None = None,
    ) -> None:
        """`voxpop node init` with the given genesis balances, then a faster block interval and
        any other config changes `configure` makes."""
        argv = voxpop_command(
            "node", "init", "--home", str(home), "--chain-id", chain_id, "--api-port", str(port)
        )
        for address, amount in (funds or {}).items():
            argv += ["--fund", f"{address}={amount}"]
        done = subprocess.run(argv, capture_output=True, check=False)
        if done.returncode != 0:
            raise LocalNodeError(f"node init failed: {done.stdout!r} {done.stderr!r}")
        config_path = home / "config" / "config.toml"
        config = load_config(config_path)
        config.solo.block_interval_ms = block_interval_ms
        if configure is not None:
            configure(config)
        config.save(config_path)

    @classmethod
    def start(
        cls,
        home: Path,
        *,
        funds: Mapping[str, int] | None = None,
        chain_id: str = DEFAULT_CHAIN_ID,
        block_interval_ms: int = 100,
        configure: Callable[[NodeConfig], None] | None = None,
        timeout: float = START_TIMEOUT,
    ) -> LocalNode:
        """Initialize `home` (unless it already holds a node) and run a solo node on it.

        Raises LocalNodeError if the node does not answer within `timeout` seconds.
        """
        if not (home / "config" / "genesis.json").exists():
            cls.init_home(
                home,
                funds=funds,
                chain_id=chain_id,
                block_interval_ms=block_interval_ms,
                configure=configure,
            )
        port = free_port()
        log_path = home / "node.log"
        log = log_path.open("ab")
        process = subprocess.Popen(
            voxpop_command("node", "start", "--solo", "--home", str(home), "--api-port", str(port)),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        node = cls(home, port, chain_id, process, log_path, log)
        try:
            node.wait_ready(timeout)
        except BaseException:
            node.stop()
            raise
        return node

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=10.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise LocalNodeError(
                        f"node exited with {self.process.returncode}: {self.log()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if http.get("/v1/status").status_code == 200:
                        return
                time.sleep(0.05)
        raise LocalNodeError(f"node did not answer within {timeout} s: {self.log()}")

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-4000:]
        return ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if the node has not exited within STOP_TIMEOUT seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> LocalNode:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class LocalProcessError(Exception):
    pass


@dataclass
class LocalProcess:
    """A role's process (`voxpop <role> start ...`) on a local port, for tests and benchmarks:
    started, waited for until READY_PATH answers 200, killed (a crash) or stopped, restarted with
    the same command. Its output goes to HOME/LOG_NAME. Subclasses give a `start` that builds the
    command and calls `spawn`."""

    READY_PATH: ClassVar[str] = "/v1/status"
    LOG_NAME: ClassVar[str] = "process.log"

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
    def spawn(cls, home: Path, port: int, argv: list[str], timeout: float) -> Self:
        """Run `argv` and wait until it answers. Raises LocalProcessError (stopping it)."""
        home.mkdir(parents=True, exist_ok=True)
        log_path = home / cls.LOG_NAME
        log = log_path.open("ab")
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        child = cls(home, port, argv, process, log_path, log)
        try:
            child.wait_ready(timeout)
        except BaseException:
            child.stop()
            raise
        return child

    def restart(self, timeout: float = START_TIMEOUT) -> Self:
        """The same command again (after stop() or kill()), on the same port."""
        return self.spawn(self.home, self.port, self.argv, timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=10.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise LocalProcessError(f"exited with {self.process.returncode}: {self.log()}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(self.READY_PATH).status_code == 200:
                        return
                time.sleep(0.05)
        raise LocalProcessError(f"did not answer within {timeout} s: {self.log()}")

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-4000:]
        return ""

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush (a crash)."""
        if self.process.poll() is None:
            self.process.kill()
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

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
