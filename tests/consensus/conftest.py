"""Fixtures for consensus tests: real CometBFT processes running the real voxpop app.

Every test here is `slow` and `cometbft`; it skips only when the binary is absent. The network a
test makes is always stopped at teardown (SIGTERM, then SIGKILL), whatever the test did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.abci.conftest import cometbft_binary
from tests.consensus.network import Network

__all__ = ["cometbft_binary", "make_network"]


@pytest.fixture
def make_network(tmp_path: Path, cometbft_binary: Path) -> Iterator[Callable[..., Network]]:
    """Make (not start) a testnet under tmp_path: `make(n=4, keys=20, timeout_commit_ms=300)`."""
    made: list[Network] = []

    def make(**kwargs: Any) -> Network:
        network = Network.create(tmp_path / f"net{len(made)}", **kwargs)
        made.append(network)
        return network

    try:
        yield make
    finally:
        for network in made:
            network.close()
