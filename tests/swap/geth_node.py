"""A real geth in dev mode for the Ethereum leg's tests: an ephemeral data dir, HTTP JSON-RPC on
127.0.0.1 at a free port, no peers, a block every second (so block time moves and timelocks
pass), and the dev account (pre-funded, unlocked) that funds the test's own keys.

    node = GethNode.start(tmp_path / "geth")
    node.fund(address, 10**18)
    ...
    node.stop()
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from web3 import Web3
from web3.types import Wei

from voxpop.client.testing import free_port

START_TIMEOUT = 60.0


def geth_binary() -> str | None:
    """geth on PATH, else in the Go path where scripts/install_swap_tools.sh puts it."""
    found = shutil.which("geth")
    if found:
        return found
    gopath = os.environ.get("GOPATH") or str(Path.home() / "go")
    candidate = Path(gopath) / "bin" / "geth"
    return str(candidate) if candidate.exists() else None


@dataclass
class GethNode:
    home: Path
    port: int
    process: subprocess.Popen[bytes]
    _log: IO[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def web3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 60}))

    @classmethod
    def start(cls, home: Path, binary: str) -> GethNode:
        home.mkdir(parents=True, exist_ok=True)
        port = free_port()
        log = open(home / "geth.log", "wb")  # noqa: SIM115 (closed in stop)
        process = subprocess.Popen(
            [
                binary,
                "--dev",
                "--dev.period",
                "1",
                "--datadir",
                str(home / "data"),
                "--http",
                "--http.addr",
                "127.0.0.1",
                "--http.port",
                str(port),
                "--http.api",
                "eth,net,web3",
                "--authrpc.port",
                str(free_port()),
                "--port",
                "0",
                "--nodiscover",
                "--maxpeers",
                "0",
                "--ipcdisable",
                "--verbosity",
                "2",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        node = cls(home, port, process, log)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                node.stop()
                raise RuntimeError(f"geth exited:\n{(home / 'geth.log').read_text()[-2000:]}")
            with contextlib.suppress(Exception):
                w3 = node.web3()
                if w3.is_connected() and w3.eth.accounts:
                    return node
            time.sleep(0.3)
        node.stop()
        raise RuntimeError("geth did not answer in time")

    def fund(self, address: str, wei: int) -> None:
        w3 = self.web3()
        dev = w3.eth.accounts[0]
        tx_hash = w3.eth.send_transaction({"from": dev, "to": address, "value": Wei(wei)})
        w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
