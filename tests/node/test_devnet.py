"""`voxpop devnet up`: first run creates a funded dev account and prints its mnemonic and URLs;
Ctrl-C stops it cleanly; a second run resumes the same chain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    height = 0
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                height = httpx.get(f"{url}/v1/status", timeout=1).json()["latest_height"]
                if height >= until_height:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
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
