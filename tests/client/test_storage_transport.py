"""Shard reads over real HTTP (a tiny local server): a body is received into one buffer of its
announced length and watched as it arrives; a node announcing more than the format allows is
refused before its body is read, and one sending less than it announced is refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from voxpop.client.storage.errors import ShardFetchError
from voxpop.client.storage.transport import StorageNodes
from voxpop.crypto.keys import PrivateKey

OBJECT_ID = bytes(range(32))
BODY = bytes(range(256)) * 1000  # 256,000 bytes


class _Node(BaseHTTPRequestHandler):
    announce = len(BODY)  # the Content-Length sent

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(self.announce))
        self.end_headers()
        self.wfile.write(BODY[: self.announce])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def node() -> Iterator[tuple[str, type[_Node]]]:
    handler = type("Node", (_Node,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_shard_received_whole_and_watched(node: tuple[str, type[_Node]]) -> None:
    url, _ = node
    seen: list[int] = []
    with StorageNodes(PrivateKey.generate()) as nodes:
        assert nodes.get_shard(url, OBJECT_ID, 0, len(BODY)) == BODY
        view = nodes.get_shard_watched(
            url, OBJECT_ID, 0, len(BODY), threading.Event(), lambda v, filled: seen.append(filled)
        )
    assert view == BODY and seen[-1] == len(BODY) and seen == sorted(seen)


def test_invalid_over_announced_or_short_body(node: tuple[str, type[_Node]]) -> None:
    url, handler = node
    with StorageNodes(PrivateKey.generate()) as nodes:
        with pytest.raises(ShardFetchError, match="over"):
            nodes.get_shard(url, OBJECT_ID, 0, len(BODY) - 1)
        handler.announce = len(BODY) + 10  # more announced than sent
        with pytest.raises(ShardFetchError):
            nodes.get_shard(url, OBJECT_ID, 0, len(BODY) + 10)
