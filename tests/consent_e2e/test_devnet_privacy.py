"""`voxpop devnet up` runs three privacy nodes (grants use 2 of 3), registered on chain with
offers of kind `reencrypt` (listed in a new devnet's genesis), and stops them on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from voxpop.client import VoxClient
from voxpop.client.payments.offers import fetch_candidates
from voxpop.client.testing import free_port, voxpop_command
from voxpop.privacy.devnet import DEVNET_PRIVACY_NODES

pytestmark = pytest.mark.slow


def serving(urls: list[str]) -> list[str]:
    up = []
    for url in urls:
        try:
            if httpx.get(url + "/v1/offer", timeout=1).status_code == 200:
                up.append(url)
        except httpx.HTTPError:
            pass
    return up


def test_devnet_runs_three_registered_privacy_nodes(tmp_path: Path) -> None:
    api_port, privacy_port = free_port(), free_port()
    argv = voxpop_command("devnet", "up", "--home", str(tmp_path / "devnet"))
    argv += ["--no-provider", "--no-agent", "--no-storage", "--api-port", str(api_port)]
    argv += ["--privacy-port", str(privacy_port)]
    log_path = tmp_path / "devnet.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    urls = [f"http://127.0.0.1:{privacy_port + i}" for i in range(DEVNET_PRIVACY_NODES)]
    try:
        deadline = time.monotonic() + 180  # the devnet starts all its nodes at once
        while time.monotonic() < deadline and len(serving(urls)) < len(urls):
            assert proc.poll() is None, log_path.read_text()
            time.sleep(0.5)
        assert len(serving(urls)) == DEVNET_PRIVACY_NODES, log_path.read_text()
        with VoxClient(f"http://127.0.0.1:{api_port}") as vox:
            offers = fetch_candidates(vox, "reencrypt")
        assert sorted(c.offer.endpoint for c in offers) == sorted(urls)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    for url in urls:  # Ctrl-C stops the privacy nodes with the devnet
        with pytest.raises(httpx.HTTPError):
            httpx.get(url + "/v1/offer", timeout=1)
