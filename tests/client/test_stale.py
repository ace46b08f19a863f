"""Finding 7 of issue 6: a correctly proven but old answer to a "latest" query is refused.

The node is real; the man in the middle is a transport that, once armed, rewrites the client's
"latest" requests to ask the real node for an old height, so the answer it relays is genuine and
correctly proven, only stale.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from voxpop.client import AsyncVoxClient, ProofVerificationError, StaleResponseError, VoxClient
from voxpop.client.testing import LocalNode

from .conftest import ALICE, ALICE_ADDR, BOB_ADDR

OLD_HEIGHT = 3
LATEST_PATHS = ("/v1/query", "/v1/accounts/")


def _replay_old(request: httpx.Request, height: int | None) -> httpx.Request:
    """The request for a "latest" read, turned into one for `height` (None: unchanged)."""
    path = request.url.path
    if height is None or "height" in request.url.params or not path.startswith(LATEST_PATHS):
        return request
    url = request.url.copy_merge_params({"height": str(height)})
    return httpx.Request(request.method, url, headers=request.headers)


class ReplayTransport(httpx.BaseTransport):
    """Passes everything to the real node until `replay_height` is set; from then on, answers
    "latest" reads with the real node's proven answer at that old height."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.replay_height: int | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(_replay_old(request, self.replay_height))

    def close(self) -> None:
        self.inner.close()


class AsyncReplayTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.replay_height: int | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(_replay_old(request, self.replay_height))

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(scope="module")
def tall_node(node: LocalNode) -> Iterator[LocalNode]:
    """The shared node, with enough blocks that height 3 is well behind the tip."""
    with VoxClient(node.url) as client:
        while client.status().latest_height < OLD_HEIGHT + 8:
            assert client.send(ALICE, BOB_ADDR, 1).code == 0
    yield node


def test_finding7_old_height_refused(tall_node: LocalNode) -> None:
    mitm = ReplayTransport()
    with VoxClient(tall_node.url, transport=mitm) as client:
        honest = client.query("/bank/supply", prove=True)
        assert honest.verified and honest.height > OLD_HEIGHT + 2
        assert client.trust.highest_height == honest.height
        mitm.replay_height = OLD_HEIGHT
        # The replayed answer is genuine: asked for explicitly at that height, it verifies
        old = client.query("/bank/supply", height=OLD_HEIGHT, prove=True)
        assert old.verified and old.height == OLD_HEIGHT
        # ... but as the answer to "latest" it is refused, for queries and accounts alike
        with pytest.raises(StaleResponseError) as stale:
            client.query("/bank/supply", prove=True)
        assert stale.value.code == "stale_response"
        assert (stale.value.height, stale.value.highest_seen) == (OLD_HEIGHT, honest.height)
        assert isinstance(stale.value, ProofVerificationError)
        with pytest.raises(StaleResponseError):
            client.account(ALICE_ADDR, prove=True)
        with pytest.raises(StaleResponseError):
            client.balance(BOB_ADDR, prove=True)
        # Unproven reads promise nothing and are passed through
        assert client.query("/bank/supply").height == OLD_HEIGHT
        # The honest node again: accepted
        mitm.replay_height = None
        assert client.query("/bank/supply", prove=True).verified


def test_finding7_lag_within_tolerance_accepted(tall_node: LocalNode) -> None:
    mitm = ReplayTransport()
    with VoxClient(tall_node.url, transport=mitm, max_height_lag=2) as client:
        tip = client.account(ALICE_ADDR, prove=True).height
        # A load-balanced peer two blocks behind is within the tolerance
        mitm.replay_height = tip - 2
        lagging = client.account(ALICE_ADDR, prove=True)
        assert lagging.verified and lagging.height == tip - 2
        mitm.replay_height = tip - 3
        with pytest.raises(StaleResponseError):
            client.account(ALICE_ADDR, prove=True)
    # A client that allows no lag refuses even one block back
    mitm = ReplayTransport()
    with VoxClient(tall_node.url, transport=mitm, max_height_lag=0) as strict:
        tip = strict.query("/bank/supply", prove=True).height
        mitm.replay_height = tip - 1
        with pytest.raises(StaleResponseError):
            strict.query("/bank/supply", prove=True)


async def test_finding7_async_client_refuses_old_height(tall_node: LocalNode) -> None:
    mitm = AsyncReplayTransport()
    async with AsyncVoxClient(tall_node.url, transport=mitm) as client:
        assert (await client.query("/bank/supply", prove=True)).verified
        mitm.replay_height = OLD_HEIGHT
        with pytest.raises(StaleResponseError):
            await client.account(ALICE_ADDR, prove=True)


def test_invalid_max_height_lag() -> None:
    with pytest.raises(ValueError, match="max_height_lag"):
        VoxClient("http://127.0.0.1:1", max_height_lag=-1)
