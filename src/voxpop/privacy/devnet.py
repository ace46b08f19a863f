"""The devnet's privacy (re-encryption) nodes: `voxpop devnet up` runs DEVNET_PRIVACY_NODES of
them (grants use threshold 2 of 3), each a child process with its own home under
`DEVNET/privacy/<i>`, its own account (`privacy-<i>` in the devnet keyring, funded from the dev
account: distinct accounts are distinct operators) and port DEVNET_PRIVACY_PORT + i.
"""

from __future__ import annotations

from pathlib import Path

from voxpop.client.funding import top_up
from voxpop.crypto import Keyring
from voxpop.crypto.keys import PrivateKey
from voxpop.privacy.testing import LocalPrivacyNode

DEVNET_PRIVACY_NODES = 3
DEVNET_PRIVACY_THRESHOLD = 2
DEVNET_PRIVACY_PORT = 7800
DEVNET_PRIVACY_PRICE = 10  # uvox per re-encryption
DEVNET_PRIVACY_STAKE = 1_000_000_000  # the services module's default min_stake (1,000 VOX)
DEVNET_PRIVACY_FUNDS = 1_100_000_000  # the stake, and fees for records and claims


def privacy_key_name(index: int) -> str:
    return f"privacy-{index}"


def privacy_accounts(
    devnet_keyring: Keyring, count: int = DEVNET_PRIVACY_NODES
) -> list[PrivateKey]:
    """The privacy nodes' account keys, made in the devnet's test keyring on first use."""
    keys = []
    for i in range(count):
        name = privacy_key_name(i)
        if not devnet_keyring.has(name):
            devnet_keyring.add(name)
        keys.append(devnet_keyring.load_private_key(name))
    return keys


def fund_privacy(node_url: str, dev: PrivateKey, accounts: list[PrivateKey]) -> None:
    """Send each node what it needs to stake and pay fees, from the dev account, in one tx."""
    addresses = [a.public_key.address for a in accounts]
    top_up(node_url, dev, addresses, DEVNET_PRIVACY_FUNDS, "the devnet privacy nodes")


def start_devnet_privacy(
    devnet_root: Path,
    node_url: str,
    account: PrivateKey,
    index: int,
    port: int | None = None,
    price: int = DEVNET_PRIVACY_PRICE,
    unpaid: bool = False,
) -> LocalPrivacyNode:
    """Run privacy node `index` (it publishes its keys and registers its offer on first start).
    Raises LocalProcessError, OSError."""
    return LocalPrivacyNode.start(
        devnet_root / "privacy" / str(index),
        node_url=node_url,
        account=account,
        price=price,
        unpaid=unpaid,
        stake=DEVNET_PRIVACY_STAKE,
        port=port or DEVNET_PRIVACY_PORT + index,
        poll_interval=0.5,
        sweep_interval=5.0,
        timeout=60.0,
    )


def start_privacy_nodes(
    devnet_root: Path,
    node_url: str,
    dev: PrivateKey,
    devnet_keyring: Keyring,
    count: int = DEVNET_PRIVACY_NODES,
    base_port: int = DEVNET_PRIVACY_PORT,
    price: int = DEVNET_PRIVACY_PRICE,
) -> list[LocalPrivacyNode]:
    """Start N privacy nodes (accounts made and funded as needed), on base_port + i."""
    accounts = privacy_accounts(devnet_keyring, count)
    fund_privacy(node_url, dev, accounts)
    nodes: list[LocalPrivacyNode] = []
    try:
        for i, account in enumerate(accounts):
            nodes.append(
                start_devnet_privacy(devnet_root, node_url, account, i, base_port + i, price)
            )
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes
