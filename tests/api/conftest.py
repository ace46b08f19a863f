"""One real solo node process per test module, and helpers to sign txs for it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.txs import ALICE_ADDR, CAROL_ADDR, FUNDS
from voxpop.client.testing import LocalNode


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("api") / "node"
    with LocalNode.start(home, funds={ALICE_ADDR: FUNDS, CAROL_ADDR: FUNDS}) as running:
        yield running


@pytest.fixture
def http(node: LocalNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=60) as client:
        yield client
