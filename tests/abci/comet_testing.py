"""Helpers for the ABCI adapter and CometBFT node tests: ports, an RPC client, process cleanup."""

from __future__ import annotations

import base64
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
TESTS_ABCI = Path(__file__).resolve().parent


def free_base_port(count: int) -> int:
    """A base port B such that B .. B + 10*count + 3 (the testnet layout) are free on 127.0.0.1.

    Drawn below Linux's ephemeral range (32768+), so outgoing connections cannot take them.
    """
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32000, 10)
        if all(_port_free(base + 10 * i + k) for i in range(count) for k in range(4)):
            return base
    raise RuntimeError("no free port range found")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def node_env(**extra: str) -> dict[str, str]:
    """Environment for node subprocesses: the kv test app importable as `kvapp`."""
    env = dict(os.environ)
    path = [str(TESTS_ABCI), str(ROOT / "src")]
    if env.get("PYTHONPATH"):
        path.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(path)
    env.update(extra)
    return env


class Rpc:
    """A small synchronous client for CometBFT's RPC (GET form), for assertions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(timeout=5.0)

    def get(self, method: str, **params: Any) -> Any:
        reply = self.client.get(f"{self.url}/{method}", params=params).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def height(self) -> int:
        try:
            return int(self.get("status")["sync_info"]["latest_block_height"])
        except (httpx.HTTPError, RuntimeError):
            return 0

    def header_app_hash(self, height: int) -> bytes:
        return bytes.fromhex(self.get("block", height=height)["block"]["header"]["app_hash"])

    def results_app_hash(self, height: int) -> bytes:
        return base64.b64decode(self.get("block_results", height=height)["app_hash"])

    def app_query(self, path: str, data: bytes) -> dict[str, Any]:
        response: dict[str, Any] = self.get("abci_query", path=f'"{path}"', data="0x" + data.hex())[
            "response"
        ]
        return response

    def app_hash_at(self, height: int) -> bytes:
        """The kv app's own record of its hash after `height` (query /hash)."""
        response = self.app_query("/hash", str(height).encode())
        assert response["code"] == 0, response
        return base64.b64decode(response["value"])

    def broadcast(self, tx: bytes) -> dict[str, Any]:
        result: dict[str, Any] = self.get("broadcast_tx_sync", tx="0x" + tx.hex())
        return result

    def close(self) -> None:
        self.client.close()


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str | Callable[[], str]
) -> None:
    """Poll `predicate` until true; after `timeout` s raise TimeoutError naming `what` (a callable
    is asked then, so the message shows the state at the timeout, not at the start)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {said}")
        time.sleep(0.1)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


class Processes:
    """Processes started by one test; all stopped at teardown (SIGTERM, then SIGKILL)."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.pid_files: list[Path] = []

    def start(self, argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.procs.append(proc)
        return proc

    def watch_pid_file(self, path: Path) -> None:
        """Also stop the process named in `path` (e.g. HOME/cometbft/cometbft.pid) at teardown."""
        self.pid_files.append(path)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for path in self.pid_files:
            try:
                pid = int(path.read_text().strip())
            except (FileNotFoundError, ValueError):
                continue
            cmdline = Path(f"/proc/{pid}/cmdline")
            if pid_alive(pid) and cmdline.exists() and b"cometbft" in cmdline.read_bytes():
                os.kill(pid, signal.SIGKILL)


PYTHON = sys.executable
