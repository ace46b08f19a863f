"""A consent and data-market world of real processes, shared by tests/consent_e2e and
bench/reencrypt.py: the genesis patch (the `reencrypt` kind listed, sales paid at once, offers
closable when their grants end), the buyer's and the privacy nodes' keys, and three privacy nodes
(`python -m voxpop.privacy`) started at once."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from voxpop.chain.modules.market.module import MarketModule
from voxpop.chain.modules.services.module import ServicesModule
from voxpop.client.testing import LocalProcessError
from voxpop.crypto.keys import PrivateKey
from voxpop.privacy.testing import LocalPrivacyNode

BUYER = PrivateKey(bytes([81]) * 32)
PRIVACY_KEYS = [PrivateKey(bytes([90 + i]) * 32) for i in range(3)]
START_TIMEOUT = 120.0


def set_market_genesis(genesis_json: Path) -> None:
    """The `reencrypt` kind listed; sales paid at once; offers closable when their grants end."""
    doc = json.loads(genesis_json.read_text())
    state = doc["app_state"]
    state.setdefault("services", ServicesModule().default_genesis())
    state.setdefault("market", MarketModule().default_genesis())
    kinds = state["services"]["params"]["kinds"]
    state["services"]["params"]["kinds"] = sorted({*kinds, "reencrypt"})
    state["market"]["params"]["dispute_seconds"] = 0
    state["market"]["params"]["settle_seconds"] = 0
    genesis_json.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def start_privacy_nodes(
    root: Path, chain_url: str, keys: list[PrivateKey], price: int
) -> list[LocalPrivacyNode]:
    """One privacy node per key (homes privacy<i>), started at once; each publishes its keys and
    registers its reencrypt offer. Raises LocalProcessError (the started ones are stopped)."""

    def one(i: int) -> LocalPrivacyNode:
        return LocalPrivacyNode.start(
            root / f"privacy{i}",
            node_url=chain_url,
            account=keys[i],
            price=price,
            timeout=START_TIMEOUT,
        )

    started: list[LocalPrivacyNode] = []
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        for fut in [pool.submit(one, i) for i in range(len(keys))]:
            try:
                started.append(fut.result())
            except LocalProcessError as exc:
                errors.append(str(exc))
    if errors:
        for node in started:
            node.stop()
        raise LocalProcessError(f"privacy nodes did not start: {errors}")
    return started
