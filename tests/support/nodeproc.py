"""Real node processes for integration tests: init a home, start `voxpop node start --solo`, wait
for its API, and always kill it afterwards."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from voxpop.client.testing import free_port
from voxpop.crypto.keys import PrivateKey
from voxpop.node.config import NodeConfig
from voxpop.node.home import NodeHome
from voxpop.node.init import init_home


@dataclass
class NodeProcess:
    home: NodeHome
    port: int
    chain_id: str
    proc: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        root: Path,
        funded: list[tuple[PrivateKey, int]],
        *,
        chain_id: str = "voxpop-itest",
        block_interval_ms: int = 200,
        registrars: list[tuple[bytes, str]] | None = None,
    ) -> NodeProcess:
        home = NodeHome(root)
        config = NodeConfig()
        config.api.port = free_port()
        config.solo.block_interval_ms = block_interval_ms
        init_home(
            home,
            chain_id=chain_id,
            config=config,
            registrars=registrars,
            balances=[(k.public_key.address, n) for k, n in funded],
        )
        return cls(home, config.api.port, chain_id)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        log = self.home.root / f"node-{len(self.logs)}.log"
        self.logs.append(log)
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "voxpop.cli.main",
                    "node",
                    "start",
                    "--solo",
                    "--home",
                    str(self.home.root),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited {self.proc.returncode}:\n{self.log_text()}")
            try:
                # A wait, not a delay: a loaded machine starts Python and answers slowly
                if httpx.get(f"{self.url}/v1/status", timeout=10).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"node not ready in {timeout} s:\n{self.log_text()}")

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as in a power cut."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in self.logs if p.exists())


__all__ = ["NodeProcess", "free_port"]
