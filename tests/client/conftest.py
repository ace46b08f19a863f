"""A real solo node process per test module, and transports that tamper with its answers (a
lying node) to show the client rejects them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from voxpop.client.testing import LocalNode
from voxpop.crypto import PrivateKey, encode_address

ALICE = PrivateKey(bytes([11]) * 32)
BOB = PrivateKey(bytes([12]) * 32)
ALICE_ADDR = encode_address(ALICE.public_key.address)
BOB_ADDR = encode_address(BOB.public_key.address)
FUNDS = 1_000_000_000_000

# (request path, JSON answer) -> the answer to give instead, or None to pass it on unchanged
Edit = Callable[[str, Any], Any]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("client") / "node"
    with LocalNode.start(home, funds={ALICE_ADDR: FUNDS}) as running:
        yield running


def _edited(response: httpx.Response, path: str, edit: Edit) -> httpx.Response:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return response
    replaced = edit(path, json.loads(response.content))
    if replaced is None:
        return response
    return httpx.Response(response.status_code, json=replaced)


class TamperingTransport(httpx.BaseTransport):
    """Forwards to the real node, then lets `edit` rewrite the JSON it answers."""

    def __init__(self, edit: Edit) -> None:
        self.inner = httpx.HTTPTransport()
        self.edit = edit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        return _edited(response, request.url.path, self.edit)

    def close(self) -> None:
        self.inner.close()


class AsyncTamperingTransport(httpx.AsyncBaseTransport):
    def __init__(self, edit: Edit) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.edit = edit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        return _edited(response, request.url.path, self.edit)

    async def aclose(self) -> None:
        await self.inner.aclose()
