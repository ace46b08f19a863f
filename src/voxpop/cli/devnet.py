"""`voxpop devnet up`: the whole system locally, in the foreground, on the embedded defaults."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import typer
from rich.panel import Panel

from voxpop.agent.errors import AgentError
from voxpop.chain.errors import InvalidGenesisError
from voxpop.cli.keyring import KeyringBackendChoice, open_keyring
from voxpop.cli.output import console, fail
from voxpop.client import VoxClientError
from voxpop.client.funding import top_up
from voxpop.client.testing import LocalProcessError
from voxpop.crypto import KeyringError
from voxpop.crypto.keys import PrivateKey
from voxpop.explorer.devnet import DEVNET_EXPLORER_PORT, start_devnet_explorer
from voxpop.explorer.testing import LocalExplorer
from voxpop.node.config import ConfigError
from voxpop.node.devnet import (
    DEV_KEY,
    DEVNET_AGENT_PORT,
    PROVIDER_KEY,
    DevnetAgent,
    default_devnet_home,
    ensure_devnet,
    mycroft_conf_snippet,
    start_devnet_agent,
)
from voxpop.node.init import home_at
from voxpop.node.solo import SoloNode, SoloNodeError
from voxpop.node.validator_key import ValidatorKeyError
from voxpop.privacy.devnet import (
    DEVNET_PRIVACY_NODES,
    DEVNET_PRIVACY_PORT,
    fund_privacy,
    privacy_accounts,
    start_devnet_privacy,
)
from voxpop.privacy.testing import LocalPrivacyNode
from voxpop.provider.devnet import (
    DEVNET_OFFERS,
    DEVNET_UPSTREAM_PORT,
    DevnetOffer,
    DevnetProvider,
    fund,
    provider_account,
    start_devnet_provider,
    upstream_key_file,
)
from voxpop.provider.engines.local_upstreams import LocalUpstream
from voxpop.storage.devnet import (
    DEVNET_STORAGE_FUNDS,
    DEVNET_STORAGE_NODES,
    DEVNET_STORAGE_PARAMS,
    DEVNET_STORAGE_PORT,
    set_storage_params,
    start_devnet_storage,
    storage_accounts,
)
from voxpop.storage.testing import LocalStorageNode

devnet_app = typer.Typer(no_args_is_help=True, help="Run everything locally with one command.")


class RoleProcess(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def log_path(self) -> Path: ...

    def stop(self) -> None: ...


Role = TypeVar("Role", bound=RoleProcess)


def start_each(
    label: str,
    accounts: Sequence[PrivateKey],
    start: Callable[[int, PrivateKey], Role],
    into: list[Role],
    stopping: threading.Event,
) -> None:
    """Start one process of a role per account, all at once (each registers on chain and waits
    for blocks). A process that fails is reported and left out; one that starts after the devnet
    began stopping is stopped at once."""

    def start_one(index: int, account: PrivateKey) -> None:
        try:
            started = start(index, account)
        except (LocalProcessError, OSError) as exc:
            console.print(f"[yellow]{label} node {index} not started[/]: {exc}")
            return
        if stopping.is_set():
            started.stop()
            return
        into.append(started)
        console.print(f"  {label} {started.url} (log {started.log_path})")

    threads = [
        threading.Thread(target=start_one, args=(i, account), daemon=True)
        for i, account in enumerate(accounts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)


@devnet_app.command("up")
def up(
    home: Path = typer.Option(default_devnet_home(), "--home", help="devnet home"),
    api_port: int | None = typer.Option(None, "--api-port", help="HTTP API port (default 1317)"),
    provider: bool = typer.Option(
        True,
        "--provider/--no-provider",
        help="also run a provider of each kind: stt (pocketsphinx), weather and knowledge (on a "
        "local upstream), geolocation (places)",
    ),
    provider_port: int = typer.Option(
        8700, "--provider-port", help="the stt provider's port; the others take the next three"
    ),
    upstream_port: int = typer.Option(
        DEVNET_UPSTREAM_PORT, "--upstream-port", help="the local weather/knowledge upstream's port"
    ),
    storage: bool = typer.Option(
        True,
        "--storage/--no-storage",
        help=f"also run {DEVNET_STORAGE_NODES} storage nodes (enough for k=4 of n=6)",
    ),
    storage_port: int = typer.Option(
        DEVNET_STORAGE_PORT, "--storage-port", help="the first storage node's port; the rest follow"
    ),
    privacy: bool = typer.Option(
        True,
        "--privacy/--no-privacy",
        help=f"also run {DEVNET_PRIVACY_NODES} privacy (re-encryption) nodes: grants use 2 of 3",
    ),
    privacy_port: int = typer.Option(
        DEVNET_PRIVACY_PORT, "--privacy-port", help="the first privacy node's port; the rest follow"
    ),
    explorer: bool = typer.Option(
        True, "--explorer/--no-explorer", help="also run the block explorer (SQLite index)"
    ),
    explorer_port: int = typer.Option(
        DEVNET_EXPLORER_PORT, "--explorer-port", help="the explorer's port"
    ),
    agent: bool = typer.Option(
        True, "--agent/--no-agent", help="also run a user agent for the dev account's devices"
    ),
    agent_port: int = typer.Option(
        DEVNET_AGENT_PORT, "--agent-port", help="the agent's port (devices point here)"
    ),
) -> None:
    """Create the devnet on first run (printing the dev account's mnemonic), then run it."""
    h = home_at(home)
    try:
        with console.status("preparing the devnet home..."):
            info = ensure_devnet(h, api_port=api_port)
    except (KeyringError, InvalidGenesisError, ValidatorKeyError, ConfigError) as exc:
        fail("devnet_failed", str(exc))
    except OSError as exc:
        fail("devnet_home_unusable", f"cannot prepare {h.root}: {exc.strerror or exc}")
    if info.created:
        # Short storage epochs, so a quick start sees its shards proven and paid in a minute
        set_storage_params(h.genesis_json, **DEVNET_STORAGE_PARAMS)
    if info.created and info.dev_mnemonic:
        console.print(
            Panel(
                f"[bold]{info.dev_mnemonic}[/]\n\naddress {info.dev_address}\n"
                "Funded with 1,000,000 VOX. Its key is in the devnet's test keyring "
                f"({h.keyring_dir}); use --keyring-backend test --home {h.root}.",
                title="dev account (devnet only: this mnemonic is not secret)",
            )
        )
    else:
        console.print(f"resuming the devnet in {h.root}; dev account {info.dev_address}")

    providers: list[DevnetProvider] = []
    agents: list[DevnetAgent] = []
    starters: list[threading.Thread] = []
    # The dev account signs the providers' funding and the agent's grants: one at a time, or two
    # txs would take the same sequence
    dev_txs = threading.Lock()

    def start_agent(url: str) -> None:
        # Provisioning waits for blocks: off the event loop, in its own thread
        try:
            with dev_txs:  # its provisioning sends the dev account's txs too
                started = start_devnet_agent(h, url, agent_port)
        except (AgentError, VoxClientError, KeyringError, OSError) as exc:
            console.print(f"[yellow]agent not started[/]: {exc}")
            return
        agents.append(started)
        console.print(
            f"  agent   {started.url}/v1 ({started.address}, log {started.log_path})\n"
            f"  home    {started.url}/ (the owner's web app: devices, settings, wallet, data)\n"
            "  point a device at it: ~/.config/mycroft/mycroft.conf\n"
            f"{mycroft_conf_snippet(started.url)}\n"
            "  pair it: the device speaks a code; then "
            f"voxpop device claim CODE --home {h.root} --keyring-backend test --key dev"
        )

    upstreams: list[LocalUpstream] = []
    storage_nodes: list[LocalStorageNode] = []
    stopping = threading.Event()

    def start_storage(url: str) -> None:
        # Funding and registering wait for blocks: off the event loop, in their own threads
        try:
            keyring = open_keyring(h.root, KeyringBackendChoice.TEST)
            accounts = storage_accounts(keyring)
            with dev_txs:
                addresses = [a.public_key.address for a in accounts]
                dev = keyring.load_private_key(DEV_KEY)
                top_up(url, dev, addresses, DEVNET_STORAGE_FUNDS, "the storage nodes")
        except (VoxClientError, KeyringError, OSError) as exc:
            console.print(f"[yellow]storage nodes not started[/]: {exc}")
            return

        start_each(
            "storage",
            accounts,
            lambda i, account: start_devnet_storage(h.root, url, account, i, storage_port + i),
            storage_nodes,
            stopping,
        )

    privacy_nodes: list[LocalPrivacyNode] = []
    explorers: list[LocalExplorer] = []

    def start_explorer(url: str) -> None:
        try:
            started = start_devnet_explorer(h.root, url, explorer_port)
        except (LocalProcessError, OSError) as exc:
            console.print(f"[yellow]explorer not started[/]: {exc}")
            return
        if stopping.is_set():
            started.stop()
            return
        explorers.append(started)
        console.print(f"  explorer {started.url} (log {started.log_path})")

    def start_privacy(url: str) -> None:
        # As the storage nodes: funded by the dev account, then started at once
        try:
            keyring = open_keyring(h.root, KeyringBackendChoice.TEST)
            accounts = privacy_accounts(keyring)
            with dev_txs:
                fund_privacy(url, keyring.load_private_key(DEV_KEY), accounts)
        except (VoxClientError, KeyringError, OSError) as exc:
            console.print(f"[yellow]privacy nodes not started[/]: {exc}")
            return

        start_each(
            "privacy",
            accounts,
            lambda i, account: start_devnet_privacy(h.root, url, account, i, privacy_port + i),
            privacy_nodes,
            stopping,
        )

    def start_providers(url: str) -> None:
        # Funding and registering wait for blocks: off the event loop, in their own threads
        try:
            keyring = open_keyring(h.root, KeyringBackendChoice.TEST)
            accounts = [provider_account(keyring, offer) for offer in DEVNET_OFFERS]
            # The stt provider's account is funded at genesis; the others by the dev account
            others = [
                a for a, o in zip(accounts, DEVNET_OFFERS, strict=True) if o.key != PROVIDER_KEY
            ]
            with dev_txs:
                fund(url, keyring.load_private_key(DEV_KEY), others)
        except (VoxClientError, KeyringError, OSError) as exc:
            console.print(f"[yellow]providers not started[/]: {exc}")
            return
        threads = [
            threading.Thread(target=start_provider, args=(url, offer, account), daemon=True)
            for offer, account in zip(DEVNET_OFFERS, accounts, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    def start_provider(url: str, offer: DevnetOffer, account: PrivateKey) -> None:
        try:
            upstream_url, key_file = "", None
            if offer.upstream:
                _, key_file = upstream_key_file(h.root)
                upstream_url = upstreams[0].url if upstreams else ""
            port = provider_port + offer.port_offset
            started = start_devnet_provider(
                h.root, url, account, port, offer, upstream_url, key_file
            )
        except (VoxClientError, OSError, ValueError) as exc:
            console.print(f"[yellow]{offer.kind} provider not started[/]: {exc}")
            return
        providers.append(started)
        console.print(
            f"  {offer.kind} provider {started.url} ({offer.engine}; log {started.log_path})"
        )

    def ready(node: SoloNode, url: str) -> None:
        console.print(
            f"[green]devnet up[/]: chain [bold]{node.chain_id}[/], height {node.app.last_height}\n"
            f"  API     {url}\n  docs    {url}/docs\n  stream  {url}/v1/stream\n"
            "Ctrl-C to stop; run again to resume."
        )
        if provider and info.has_provider:
            try:
                key, _ = upstream_key_file(h.root)
                upstreams.append(LocalUpstream.start(key=key, port=upstream_port))
                console.print(f"  local upstream {upstreams[0].url} (weather, knowledge)")
            except OSError as exc:
                console.print(f"[yellow]local upstream not started[/]: {exc}")
            starter = threading.Thread(target=start_providers, args=(url,), daemon=True)
            starters.append(starter)
            starter.start()
        if storage:
            starter = threading.Thread(target=start_storage, args=(url,), daemon=True)
            starters.append(starter)
            starter.start()
        if privacy:
            starter = threading.Thread(target=start_privacy, args=(url,), daemon=True)
            starters.append(starter)
            starter.start()
        if explorer:
            starter = threading.Thread(target=start_explorer, args=(url,), daemon=True)
            starters.append(starter)
            starter.start()
        if agent:
            starter = threading.Thread(target=start_agent, args=(url,), daemon=True)
            starters.append(starter)
            starter.start()

    from voxpop.node.run import run_solo

    # Every error an operator can cause or fix is one line and a non-zero exit, never a traceback
    try:
        asyncio.run(run_solo(h, api_port=api_port, on_ready=ready))
    except (SoloNodeError, ConfigError) as exc:  # ConfigError includes a busy API port
        fail(getattr(exc, "code", "config_error"), str(exc))
    except (InvalidGenesisError, ValidatorKeyError, KeyringError) as exc:
        fail("devnet_failed", str(exc))
    except OSError as exc:
        fail("devnet_failed", f"{exc.strerror or exc} ({exc.filename or h.root})")
    except KeyboardInterrupt:
        pass
    finally:
        stopping.set()
        for starter in starters:
            starter.join(timeout=60)  # a provider started late is still stopped
        for running in providers:
            running.stop()
        for stored in storage_nodes:
            stored.process.terminate()  # all at once: each flushes its confirms and exits
        for stored in storage_nodes:
            stored.stop()
        for holding in privacy_nodes:
            holding.stop()
        for browsing in explorers:
            browsing.stop()
        for upstream in upstreams:
            upstream.stop()
        for serving in agents:
            serving.stop()
    console.print("devnet stopped")
