"""`voxpop devnet up` runs one stt provider (pocketsphinx), registered with the services module,
and stops it with the devnet."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from voxpop.chain.modules.services.state import decode_offer
from voxpop.client import VoxClient
from voxpop.client.testing import free_port
from voxpop.crypto import Keyring, decode_address
from voxpop.provider.devnet import DEVNET_STT_PRICE

pytestmark = pytest.mark.slow


def test_devnet_runs_a_registered_stt_provider(tmp_path: Path) -> None:
    home = tmp_path / "devnet"
    api_port, provider_port = free_port(), free_port()
    argv = [sys.executable, "-m", "voxpop.cli.main", "devnet", "up", "--home", str(home)]
    argv += ["--api-port", str(api_port), "--provider-port", str(provider_port)]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
    )
    offer = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and offer is None:
            try:
                offer = httpx.get(f"http://127.0.0.1:{provider_port}/v1/offer", timeout=1).json()
            except httpx.HTTPError:
                time.sleep(0.2)
        assert offer is not None, "the devnet's provider never answered"
        provider = Keyring(home / "keyring", "test").show("provider").address
        assert offer["provider"] == provider and offer["kind"] == "stt"
        assert offer["unit"] == "10s_audio" and offer["price"] == DEVNET_STT_PRICE
        with VoxClient(f"http://127.0.0.1:{api_port}") as client:
            raw = client.query("/services/offer", decode_address(provider) + b"stt", prove=True)
        registered = decode_offer(raw.value)
        assert registered.signing_key.hex() == offer["signing_key"]
        assert registered.price == DEVNET_STT_PRICE
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out.decode(errors="replace")
    # The provider stopped with the devnet
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{provider_port}/v1/offer", timeout=1)
