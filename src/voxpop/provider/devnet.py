"""The devnet's provider: one stt provider (pocketsphinx) registered with the services module and
run as a child process of `voxpop devnet up`, so a paying client has something to pay."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from voxpop.client import VoxClient, VoxClientError
from voxpop.crypto.keys import PrivateKey
from voxpop.provider.keys import response_public_key

DEVNET_PROVIDER_KEY = "provider"
DEVNET_PROVIDER_PORT = 8700
DEVNET_STT_PRICE = 1_000  # uvox per started 10 s of audio
DEVNET_PROVIDER_STAKE = 1_000_000_000  # the services module's default min_stake (1,000 VOX)
REGISTER_GAS = 200_000


@dataclass(frozen=True, slots=True)
class DevnetProvider:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def register_stt_offer(node_url: str, account: PrivateKey, endpoint: str) -> bool:
    """Register the devnet's stt offer unless the account already has one; True if it sent one.

    Raises VoxClientError if the node refuses it."""
    address = account.public_key.address
    with VoxClient(node_url) as client:
        existing = client.query("/services/offer", address + b"stt")
        if existing.value:
            return False
        register = {
            "provider": address,
            "kind": "stt",
            "endpoint": endpoint,
            "price": DEVNET_STT_PRICE,
            "languages": ["en-us"],
            "signing_key": response_public_key(account),
            "stake": DEVNET_PROVIDER_STAKE,
        }
        result = client.execute(account, [("services/Register", register)], gas_limit=REGISTER_GAS)
    if result.code != 0:
        raise VoxClientError(f"registering the devnet provider failed: {result.log}")
    return True


def start_devnet_provider(
    home: Path, node_url: str, account: PrivateKey, port: int = DEVNET_PROVIDER_PORT
) -> DevnetProvider:
    """Register the offer if needed, then run `voxpop provider start` for stt on `home` (the
    devnet home: its test keyring holds the provider key). Logs to HOME/provider.log."""
    url = f"http://127.0.0.1:{port}"
    register_stt_offer(node_url, account, url)
    log_path = home / "provider.log"
    argv = [
        sys.executable,
        "-m",
        "voxpop.cli.main",
        "provider",
        "start",
        "--service",
        "stt",
        "--engine",
        "pocketsphinx",
        "--home",
        str(home),
        "--key",
        DEVNET_PROVIDER_KEY,
        "--keyring-backend",
        "test",
        "--node",
        node_url,
        "--port",
        str(port),
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return DevnetProvider(url, process, log_path)
