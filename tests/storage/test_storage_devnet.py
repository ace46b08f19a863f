"""`voxpop devnet up` runs six storage nodes (the default k=4 of n=6), registered on chain from
accounts the dev account funded, on a genesis with short storage epochs."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from voxpop.chain.modules.storage.state import decode_params
from voxpop.client import VoxClient
from voxpop.client.testing import free_port, voxpop_command
from voxpop.storage.devnet import DEVNET_STORAGE_NODES, DEVNET_STORAGE_PARAMS

pytestmark = pytest.mark.slow


def test_devnet_runs_six_registered_storage_nodes(tmp_path: Path) -> None:
    api_port, storage_port = free_port(), free_port()
    argv = voxpop_command(
        "devnet",
        "up",
        "--home",
        str(tmp_path / "devnet"),
        "--no-provider",
        "--no-agent",
        "--no-privacy",
    )
    argv += ["--api-port", str(api_port), "--storage-port", str(storage_port)]
    log = (tmp_path / "devnet.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    urls = [f"http://127.0.0.1:{storage_port + i}" for i in range(DEVNET_STORAGE_NODES)]
    try:
        deadline = time.monotonic() + 180  # the devnet starts all its nodes at once
        serving: list[str] = []
        while time.monotonic() < deadline and len(serving) < len(urls):
            assert proc.poll() is None, (tmp_path / "devnet.log").read_text()
            serving = []
            for url in urls:
                try:
                    if httpx.get(url + "/v1/status", timeout=1).status_code == 200:
                        serving.append(url)
                except httpx.HTTPError:
                    pass
            time.sleep(0.5)
        assert len(serving) == DEVNET_STORAGE_NODES, (tmp_path / "devnet.log").read_text()
        with VoxClient(f"http://127.0.0.1:{api_port}") as vox:
            providers = vox.query_list("/storage/providers", b"")
            assert len(providers.items) == DEVNET_STORAGE_NODES
            params = decode_params(vox.query("/storage/params").value)
        assert params.epoch_blocks == DEVNET_STORAGE_PARAMS["epoch_blocks"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    # Ctrl-C stops the storage nodes with the devnet
    for url in urls:
        with pytest.raises(httpx.HTTPError):
            httpx.get(url + "/v1/status", timeout=1)
