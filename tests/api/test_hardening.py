"""Issue 6, findings 4, 5 and 9, against real node processes (and one in-process node):

4. X-Forwarded-For does not pick the client's rate-limit bucket unless the proxy is trusted.
5. Live feeds are bounded: WebSocket upgrades pay the rate limit, feeds are capped per client and
   in total, a consumer that falls behind is dropped, and each event is serialized once.
9. A request naming a foreign Host (DNS rebinding), or a WebSocket from a foreign page, is refused.

Several clients are told apart by their loopback source address (127.0.0.1, .2, .3).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tests.api.txs import ALICE, ALICE_ADDR, BOB, FUNDS, b64, signed_send
from voxpop.api import stream
from voxpop.api.server import serve_api
from voxpop.client.testing import DEFAULT_CHAIN_ID, LocalNode
from voxpop.node.config import NodeConfig
from voxpop.node.home import NodeHome
from voxpop.node.init import init_home
from voxpop.node.solo import SoloNode

pytestmark = pytest.mark.slow

CLIENT_A, CLIENT_B, CLIENT_C = "127.0.0.1", "127.0.0.2", "127.0.0.3"
TX_EVENT = re.compile(rb'"event": ?"tx"')  # a tx event in the raw WebSocket stream


def api_config(**values: Any) -> Callable[[NodeConfig], None]:
    def configure(config: NodeConfig) -> None:
        for key, value in values.items():
            setattr(config.api, key, value)

    return configure


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[Callable[..., LocalNode]]:
    started: list[LocalNode] = []

    def start(block_interval_ms: int = 100, **api: Any) -> LocalNode:
        node = LocalNode.start(
            tmp_path / f"node{len(started)}",
            funds={ALICE_ADDR: FUNDS},
            block_interval_ms=block_interval_ms,
            configure=api_config(**api),
        )
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


def error_code(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    code: str = resp.json()["error"]["code"]
    return code


def ws_url(node: LocalNode, query: str = "") -> str:
    return node.url.replace("http://", "ws://") + "/v1/ws" + query


def open_ws(url: str, client: str = CLIENT_A, **kwargs: Any) -> connect:
    return connect(url, proxy=None, local_addr=(client, 0), open_timeout=10, **kwargs)


async def refused_ws(url: str, client: str = CLIENT_A, **kwargs: Any) -> tuple[int, str]:
    """The HTTP status and error code a WebSocket upgrade is refused with."""
    with pytest.raises(InvalidStatus) as refused:
        async with open_ws(url, client, **kwargs):
            pass
    response = refused.value.response
    return response.status_code, json.loads(response.body or b"{}")["error"]["code"]


def raw_upgrade(
    port: int, headers: dict[str, str], *, rcvbuf: int | None = None, path: str = "/v1/ws"
) -> tuple[socket.socket, int, bytes]:
    """A WebSocket upgrade sent by hand (any Host, a tiny receive buffer): the socket, the
    HTTP status and whatever came after the response head."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", "Upgrade: websocket", "Connection: Upgrade"]
    lines += [f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += [f"{k}: {v}" for k, v in {"Host": f"127.0.0.1:{port}", **headers}.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")[1:]
            if line.startswith(b"content-length:")
        ),
        0,
    )
    while status != 101 and len(rest) < length and (chunk := sock.recv(4096)):
        rest += chunk
    return sock, status, rest


def batch(http: httpx.Client, txs: list[bytes]) -> None:
    results = http.post("/v1/txs/batch", json={"txs": [b64(tx) for tx in txs]}).json()["results"]
    assert all(r["code"] == 0 for r in results), results[:3]


async def tx_events(ws: ClientConnection, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    """The next `count` tx events of a feed."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while len(seen) < count:
            message = json.loads(await ws.recv())
            if message["event"] == "tx":
                seen.append(message)
    return seen


# --- finding 4: forwarded headers -------------------------------------------------------------


def test_finding4_forwarded_for_does_not_bypass_rate_limit(
    make_node: Callable[..., LocalNode],
) -> None:
    node = make_node(rate_limit_per_s=5, rate_limit_burst=10)
    with httpx.Client(base_url=node.url, timeout=10) as http:
        codes = [
            http.get("/v1/status", headers={"X-Forwarded-For": f"10.0.{i}.1"}).status_code
            for i in range(40)
        ]
    # One bucket for the one real client, whatever it claims to forward
    assert codes.count(200) <= 14, codes
    assert codes.count(429) >= 26, codes


def test_finding4_trusted_proxy_names_the_client(make_node: Callable[..., LocalNode]) -> None:
    node = make_node(rate_limit_per_s=5, rate_limit_burst=10, trusted_proxies=["127.0.0.0/8"])
    with httpx.Client(base_url=node.url, timeout=10) as http:
        # Behind a trusted proxy, each forwarded client has its own bucket...
        codes = [
            http.get("/v1/status", headers={"X-Forwarded-For": f"10.0.{i}.1"}).status_code
            for i in range(40)
        ]
        assert codes == [200] * 40
        # ...and one forwarded client is limited like any other
        same = [
            http.get("/v1/status", headers={"X-Forwarded-For": "10.9.9.9"}).status_code
            for _ in range(20)
        ]
        assert same.count(429) >= 5, same


# --- finding 5: live feeds --------------------------------------------------------------------


async def test_finding5_websocket_upgrade_rate_limited(
    make_node: Callable[..., LocalNode],
) -> None:
    node = make_node(rate_limit_per_s=1, rate_limit_burst=5)
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as http:
        for _ in range(10):
            if (await http.get("/v1/status")).status_code == 429:
                break
        else:
            pytest.fail("the HTTP bucket never emptied")
        assert await refused_ws(ws_url(node)) == (429, "rate_limited")
        # Another client is unaffected
        async with open_ws(ws_url(node), CLIENT_B):
            pass


async def test_finding5_websocket_subscriptions_capped(
    make_node: Callable[..., LocalNode],
) -> None:
    """Per client, with the default share (8)."""
    node = make_node()
    url = ws_url(node, "?kinds=block")
    transport = httpx.AsyncHTTPTransport(local_address=CLIENT_A)
    async with (
        httpx.AsyncClient(base_url=node.url, timeout=10, transport=transport) as http,
        contextlib.AsyncExitStack() as feeds,
    ):
        for _ in range(8):
            await feeds.enter_async_context(open_ws(url))
        # The client's share is taken, over WebSocket and SSE alike; another client's is not
        assert await refused_ws(url) == (429, "too_many_streams")
        assert error_code(await http.get("/v1/stream"), 429) == "too_many_streams"
        async with open_ws(url, CLIENT_B):
            pass
        # A feed that closes frees its place at once
        await feeds.aclose()
        async with open_ws(url):
            pass
        assert (await http.get("/v1/status")).status_code == 200


async def test_finding5_total_subscriptions_capped(make_node: Callable[..., LocalNode]) -> None:
    node = make_node(max_stream_subscribers=3, max_stream_subscribers_per_client=2)
    url = ws_url(node, "?kinds=block")
    async with open_ws(url), open_ws(url):
        assert await refused_ws(url) == (429, "too_many_streams")
        async with open_ws(url, CLIENT_B):
            # The node's share is taken: even a new client waits
            assert await refused_ws(url, CLIENT_C) == (503, "streams_full")
        async with open_ws(url, CLIENT_C):
            pass


async def test_finding5_slow_consumer_dropped(make_node: Callable[..., LocalNode]) -> None:
    # One block per batch (blocks 1 s apart): a reader keeping up is never 300 events behind
    node = make_node(stream_queue_events=300, block_interval_ms=1000)
    txs = [signed_send(ALICE, BOB, 1, seq) for seq in range(8_000)]
    # A client that upgrades and then never reads, with a tiny receive window
    slow, status, _ = raw_upgrade(node.port, {}, rcvbuf=4096, path="/v1/ws?kinds=tx")
    with contextlib.closing(slow):
        assert status == 101
        async with open_ws(ws_url(node, "?kinds=tx"), CLIENT_B) as fast:
            await asyncio.sleep(0.3)  # both feeds are subscribed before the txs
            with httpx.Client(base_url=node.url, timeout=60) as http:
                # In several blocks: a feed is judged when a block comes
                for i in range(0, len(txs), 1_000):
                    batch(http, txs[i : i + 1_000])
                    # The reader gets every event; the node still answers
                    assert len(await tx_events(fast, 1_000)) == 1_000
                started = time.monotonic()
                assert http.get("/v1/status").status_code == 200
                assert time.monotonic() - started < 1
        # The slow client was cut off: what it can still read ends, well short of every event
        received = b""
        slow.settimeout(15)
        try:
            while chunk := slow.recv(65536):
                received += chunk
        except TimeoutError:
            events = len(TX_EVENT.findall(received))
            pytest.fail(f"the slow feed was kept open ({events} events read)")
    assert len(TX_EVENT.findall(received)) < len(txs)


async def test_finding5_event_serialized_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight subscribers, one serialization per event (in-process, to count the calls)."""
    home = NodeHome(tmp_path / "node")
    config = NodeConfig()
    config.solo.block_interval_ms = 100
    init_home(
        home,
        chain_id=DEFAULT_CHAIN_ID,
        config=config,
        balances=[(ALICE.public_key.address, FUNDS)],
    )
    serialized: list[str] = []
    real_payload = stream.event_payload

    def counting_payload(event: Any) -> Any:
        serialized.append(event.kind)
        return real_payload(event)

    monkeypatch.setattr(stream, "event_payload", counting_payload)
    node = SoloNode(home)
    await node.start()
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(
        serve_api(node, "127.0.0.1", 0, on_listening=lambda _, port: listening.set_result(port))
    )
    try:
        port = await asyncio.wait_for(listening, 10)
        url = f"ws://127.0.0.1:{port}/v1/ws"
        feeds = [await open_ws(url) for _ in range(8)]
        await asyncio.sleep(0.3)
        txs = [signed_send(ALICE, BOB, 1, seq) for seq in range(20)]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            resp = await http.post("/v1/txs/batch", json={"txs": [b64(tx) for tx in txs]})
            assert all(r["code"] == 0 for r in resp.json()["results"])
        for feed in feeds:
            assert len(await tx_events(feed, len(txs))) == len(txs)
        # Each event was turned into JSON once, not once per subscriber
        assert serialized.count("tx") == len(txs)
        assert 1 <= serialized.count("block") <= len(txs)
        for feed in feeds:
            await feed.close()
    finally:
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server
        await node.stop()


# --- finding 9: Host and Origin ---------------------------------------------------------------


async def test_finding9_foreign_host_refused(make_node: Callable[..., LocalNode]) -> None:
    node = make_node()
    port = node.port
    with httpx.Client(base_url=node.url, timeout=10) as http:
        for foreign in ("evil.example", f"evil.example:{port}", "localhost.evil.example"):
            resp = http.get("/v1/status", headers={"Host": foreign})
            assert error_code(resp, 403) == "host_not_allowed", foreign
            resp = http.post("/v1/txs", headers={"Host": foreign}, json={})
            assert error_code(resp, 403) == "host_not_allowed"
        for own in (
            f"127.0.0.1:{port}",
            f"localhost:{port}",
            "LOCALHOST",
            f"[::1]:{port}",
            "192.0.2.7",  # an address cannot be rebound
        ):
            assert http.get("/v1/status", headers={"Host": own}).status_code == 200, own

    # A WebSocket: a foreign Host, or a page elsewhere (Origin), is refused before the upgrade
    for headers in (
        {"Host": "evil.example"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
    ):
        sock, status, body = raw_upgrade(port, headers)
        sock.close()
        assert status == 403, headers
        assert json.loads(body)["error"]["code"] == "host_not_allowed"
    sock, status, _ = raw_upgrade(port, {"Origin": f"http://localhost:{port}"})
    sock.close()
    assert status == 101


def test_finding9_configured_host_allowed(make_node: Callable[..., LocalNode]) -> None:
    node = make_node(allowed_hosts=["node.example"])
    with httpx.Client(base_url=node.url, timeout=10) as http:
        for own in ("node.example", f"Node.Example:{node.port}", "localhost"):
            assert http.get("/v1/status", headers={"Host": own}).status_code == 200, own
        resp = http.get("/v1/status", headers={"Host": "other.example"})
        assert error_code(resp, 403) == "host_not_allowed"
