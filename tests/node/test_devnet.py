"""`voxpop devnet up`: first run creates a funded dev account and prints its mnemonic and URLs;
Ctrl-C stops it cleanly; a second run resumes the same chain. An operator's mistake (a busy port,
an unusable home, a bad config) is one line on stderr and a non-zero exit (issue 6, finding 10)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.nodeproc import free_port
from voxpop.crypto import Keyring

pytestmark = pytest.mark.slow


def run_devnet(home: Path, port: int, until_height: int) -> tuple[int, str, int]:
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voxpop.cli.main",
            "devnet",
            "up",
            "--home",
            str(home),
            "--api-port",
            str(port),
            # the storage and privacy nodes have their own devnet tests
            "--no-storage",
            "--no-privacy",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    height = 0
    try:
        deadline = time.monotonic() + 120  # a devnet starts its node, providers and agent at once
        while time.monotonic() < deadline:
            try:
                height = httpx.get(f"{url}/v1/status", timeout=5).json()["latest_height"]
                if height >= until_height:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)  # the roles it started stop first
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out.decode(errors="replace"), height


def test_devnet_first_run_then_resume(tmp_path: Path) -> None:
    home = tmp_path / "devnet"
    port = free_port()
    code, out, height = run_devnet(home, port, until_height=1)
    assert code == 0, out
    dev = Keyring(home / "keyring", "test").show("dev")
    assert dev.address in out
    assert "mnemonic" in out.lower()
    assert f"http://127.0.0.1:{port}" in out
    assert height >= 1, out

    code, out2, height2 = run_devnet(home, port, until_height=height)
    assert code == 0, out2
    assert "resuming" in out2
    assert "mnemonic" not in out2.lower()
    assert height2 >= height


# --- finding 10: an operator's mistake is one line and a non-zero exit ------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}  # as wide as a terminal; a pipe would wrap at 80
    return subprocess.run(
        [sys.executable, "-m", "voxpop.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,  # a wait, not a delay: one CLI run took over 60 s at load 18
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: str) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr + done.stdout
    line = done.stderr.strip()
    assert line.count("\n") == 0, done.stderr
    assert line.startswith(f"error [{code}] "), line
    return line


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_finding10_busy_port_one_line_error(tmp_path: Path, busy_port: int) -> None:
    done = run_cli("devnet", "up", "--home", str(tmp_path / "devnet"), "--api-port", str(busy_port))
    line = assert_one_line_error(done, "api_port_in_use")
    assert f"127.0.0.1:{busy_port}" in line
    assert "devnet up" not in done.stdout  # never a false "up"


def test_finding10_node_start_busy_port_one_line_error(tmp_path: Path, busy_port: int) -> None:
    home = str(tmp_path / "node")
    assert run_cli("node", "init", "--home", home).returncode == 0
    done = run_cli("node", "start", "--solo", "--home", home, "--api-port", str(busy_port))
    assert f"127.0.0.1:{busy_port}" in assert_one_line_error(done, "api_port_in_use")


def test_finding10_unusable_home_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    done = run_cli("devnet", "up", "--home", str(blocker / "devnet"))
    assert_one_line_error(done, "devnet_home_unusable")


def test_finding10_bad_api_config_one_line_error(tmp_path: Path) -> None:
    home = tmp_path / "node"
    assert run_cli("node", "init", "--home", str(home)).returncode == 0
    config = home / "config" / "config.toml"
    text = config.read_text()
    assert "trusted_proxies = []" in text
    config.write_text(text.replace("trusted_proxies = []", 'trusted_proxies = ["proxy.example"]'))
    done = run_cli("node", "start", "--solo", "--home", str(home))
    assert "trusted_proxies" in assert_one_line_error(done, "node_error")
