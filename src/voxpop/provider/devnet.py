"""The devnet's providers: one per service kind a device asks for, each registered with the services
module and run as a child process of `voxpop devnet up`, so a paying client (and the agent) has
something to pay for every call:

    stt          pocketsphinx (offline)                      port base+0, key `provider`
    weather      openweathermap -> the local upstream        port base+1, key `provider-weather`
    knowledge    wolframalpha   -> the local upstream        port base+2, key `provider-knowledge`
    geolocation  places (offline)                            port base+3, key `provider-geolocation`

These machines have no internet, so the weather and knowledge engines ask
`voxpop.provider.engines.local_upstreams` (a small fixed world served on loopback by the devnet
itself); a real provider points them at the real APIs. Each provider has its own home under
`DEVNET/providers/<kind>` (its keyring, voucher log and status) and its own account, funded from the
dev account when first needed: a provider's channels and vouchers are per account.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from voxpop.client import VoxClient, VoxClientError
from voxpop.client.funding import top_up
from voxpop.crypto import Keyring
from voxpop.crypto.keys import PrivateKey
from voxpop.provider.keys import response_public_key

DEVNET_PROVIDER_KEY = "provider"
DEVNET_PROVIDER_PORT = 8700
DEVNET_UPSTREAM_PORT = 8790
DEVNET_STT_PRICE = 1_000  # uvox per started 10 s of audio
DEVNET_PROVIDER_STAKE = 1_000_000_000  # the services module's default min_stake (1,000 VOX)
DEVNET_PROVIDER_FUNDS = 1_100_000_000  # the stake and fees for a year of claims
REGISTER_GAS = 200_000


@dataclass(frozen=True, slots=True)
class DevnetOffer:
    kind: str
    engine: str
    price: int  # uvox per unit
    port_offset: int
    key: str  # its account's name in the devnet keyring
    upstream: str = ""  # the local upstream's path prefix ("" = the engine needs none)


DEVNET_OFFERS = (
    DevnetOffer("stt", "pocketsphinx", DEVNET_STT_PRICE, 0, DEVNET_PROVIDER_KEY),
    DevnetOffer("weather", "openweathermap", 100, 1, "provider-weather", "/data/2.5"),
    DevnetOffer("knowledge", "wolframalpha", 200, 2, "provider-knowledge", "/"),
    DevnetOffer("geolocation", "places", 50, 3, "provider-geolocation"),
)


@dataclass(frozen=True, slots=True)
class DevnetProvider:
    kind: str
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


def register_offer(node_url: str, account: PrivateKey, offer: DevnetOffer, endpoint: str) -> bool:
    """Register the devnet's offer of `offer.kind` unless the account already has one; True if
    it sent one. Raises VoxClientError if the node refuses it."""
    address = account.public_key.address
    with VoxClient(node_url) as client:
        existing = client.query("/services/offer", address + offer.kind.encode())
        if existing.value:
            return False
        register = {
            "provider": address,
            "kind": offer.kind,
            "endpoint": endpoint,
            "price": offer.price,
            "languages": ["en-us"],
            "signing_key": response_public_key(account),
            "stake": DEVNET_PROVIDER_STAKE,
        }
        result = client.execute(account, [("services/Register", register)], gas_limit=REGISTER_GAS)
    if result.code != 0:
        raise VoxClientError(f"registering the devnet {offer.kind} provider failed: {result.log}")
    return True


def register_stt_offer(node_url: str, account: PrivateKey, endpoint: str) -> bool:
    """The devnet's stt offer (see register_offer)."""
    return register_offer(node_url, account, DEVNET_OFFERS[0], endpoint)


def provider_account(devnet_keyring: Keyring, offer: DevnetOffer) -> PrivateKey:
    """The offer's account key, made in the devnet's test keyring on first use."""
    if not devnet_keyring.has(offer.key):
        devnet_keyring.add(offer.key)
    return devnet_keyring.load_private_key(offer.key)


def fund(node_url: str, dev: PrivateKey, accounts: list[PrivateKey]) -> None:
    """Send each provider what it needs to stake and claim, from the dev account, in one tx (one
    sender, one sequence), if it lacks it."""
    addresses = [a.public_key.address for a in accounts]
    top_up(node_url, dev, addresses, DEVNET_PROVIDER_FUNDS, "the devnet providers")


def upstream_key_file(devnet_root: Path) -> tuple[str, Path]:
    """The local upstream's API key (made once, kept in the devnet home, owner-only)."""
    path = devnet_root / "upstream.key"
    if not path.exists():
        path.write_text(secrets.token_hex(16))
        path.chmod(0o600)
    return path.read_text().strip(), path


def provider_home(devnet_root: Path, offer: DevnetOffer) -> Path:
    """The stt provider keeps the devnet home (as devnets made before the others did); the others
    a home of their own under providers/."""
    return (
        devnet_root if offer.key == DEVNET_PROVIDER_KEY else devnet_root / "providers" / offer.kind
    )


def start_devnet_provider(
    devnet_root: Path,
    node_url: str,
    account: PrivateKey,
    port: int = DEVNET_PROVIDER_PORT,
    offer: DevnetOffer = DEVNET_OFFERS[0],
    upstream_url: str = "",
    key_file: Path | None = None,
) -> DevnetProvider:
    """Register the offer if needed, then run `voxpop provider start` for it (its home's test
    keyring holds its key). Logs to HOME/provider.log."""
    url = f"http://127.0.0.1:{port}"
    register_offer(node_url, account, offer, url)
    home = provider_home(devnet_root, offer)
    if home != devnet_root:
        keyring = Keyring(home / "keyring", "test")
        if not keyring.has(offer.key):
            keyring.import_seed(offer.key, account.seed)
    log_path = home / "provider.log"
    argv = [
        sys.executable,
        "-m",
        "voxpop.cli.main",
        "provider",
        "start",
        "--service",
        offer.kind,
        "--engine",
        offer.engine,
        "--home",
        str(home),
        "--key",
        offer.key,
        "--keyring-backend",
        "test",
        "--node",
        node_url,
        "--port",
        str(port),
    ]
    if offer.upstream:
        if not upstream_url or key_file is None:
            raise ValueError(f"the {offer.engine} engine needs the local upstream")
        base = upstream_url.rstrip("/") + offer.upstream.rstrip("/")
        argv += ["--engine-option", f"upstream={base}", "--engine-option", f"key_file={key_file}"]
    home.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return DevnetProvider(offer.kind, url, process, log_path)
