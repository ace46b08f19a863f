"""The paying client's HTTP to providers, against a real local server: one kept-alive connection
per origin, a new one when the provider closed the idle one, and errors that say whether the
request can have left."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from voxpop.client.payments.transport import (
    ConnectFailedError,
    ProviderHttp,
    TimedOutError,
)
from voxpop.client.testing import free_port


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    peers: ClassVar[list[tuple[str, int]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.peers.append(self.client_address)
        if self.path.startswith("/slow"):
            time.sleep(0.5)
        answer = self.path.encode() + b" " + body
        self.send_response(200)
        self.send_header("Content-Type", "application/cbor")
        self.send_header("X-Vox-Amount", "7")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        if self.path.startswith("/close"):
            self.close_connection = True  # the provider ends the kept-alive connection

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    closed: ClassVar[threading.Event] = threading.Event()  # set once it closed a connection

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.closed.set()


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.peers = []
    _Server.closed = threading.Event()
    httpd = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_calls_share_one_connection(server: str) -> None:
    http = ProviderHttp()
    try:
        for i in range(3):
            answer = http.post(server + "/v1/echo", b"b%d" % i, {"X-Vox-Amount": "1"}, 5.0)
            assert answer.status == 200 and answer.content == b"/v1/echo b%d" % i
            assert answer.headers.get("x-vox-amount") == "7"  # case-insensitive
        assert len(set(_Handler.peers)) == 1
    finally:
        http.close()


def test_params_go_in_the_query(server: str) -> None:
    http = ProviderHttp()
    try:
        answer = http.post(server + "/v1/stt", b"x", {}, 5.0, {"language": "en-US"})
        assert answer.content == b"/v1/stt?language=en-US x"
    finally:
        http.close()


def test_a_connection_the_provider_closed_is_not_reused(server: str) -> None:
    http = ProviderHttp()
    try:
        assert http.post(server + "/close", b"1", {}, 5.0).content == b"/close 1"
        # The server's FIN is out (a fixed 0.1 s could be too short on a loaded machine)
        assert _Server.closed.wait(30)
        assert http.post(server + "/v1/echo", b"2", {}, 5.0).content == b"/v1/echo 2"
        assert len(set(_Handler.peers)) == 2
    finally:
        http.close()


def test_invalid_nobody_listening_is_a_connect_failure() -> None:
    http = ProviderHttp()
    with pytest.raises(ConnectFailedError):
        http.post(f"http://127.0.0.1:{free_port()}/v1/echo", b"x", {}, 2.0)
    with pytest.raises(ConnectFailedError):
        http.post("ftp://127.0.0.1/v1/echo", b"x", {}, 2.0)


def test_invalid_no_answer_in_time_is_a_timeout(server: str) -> None:
    http = ProviderHttp()
    try:
        with pytest.raises(TimedOutError):
            http.post(server + "/slow", b"x", {}, 0.1)
        # The connection that timed out is dropped: the next call gets a fresh one
        assert http.post(server + "/v1/echo", b"y", {}, 5.0).content == b"/v1/echo y"
    finally:
        http.close()
