"""The paying client's HTTP to providers: one kept-alive HTTP/1.1 connection per provider origin
(the client makes one call at a time, under its lock), on the standard library's http.client.

A paid call is one POST and its answer; httpx spent about 0.9 ms of the caller's CPU on each (URL
models, cookies, h11) against about 0.1 ms here, and a paying agent or buyer may make hundreds
of calls a second.

The errors say whether the request can have reached the provider, which decides whether the
voucher it carried counts as spent: `ConnectFailedError` (nothing was sent), `TimedOutError`
and `ExchangeFailedError` (it may have been).
"""

from __future__ import annotations

import http.client
import select
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

ORIGIN_SCHEMES = ("http", "https")


class TransportError(Exception):
    """The exchange with a provider failed."""


class ConnectFailedError(TransportError):
    """No connection could be made: the request was not sent."""


class TimedOutError(TransportError):
    """No answer within the timeout (the request may have been served)."""


class ExchangeFailedError(TransportError):
    """The connection broke, or the answer was not HTTP (the request may have been served)."""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: http.client.HTTPMessage  # case-insensitive .get
    content: bytes


class ProviderHttp:
    """Kept-alive connections by origin. Not thread-safe: the paying client calls it under its
    lock, one call at a time."""

    def __init__(self) -> None:
        self._connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}
        self._targets: dict[str, tuple[tuple[str, str, int], str]] = {}

    def post(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
        params: Mapping[str, str] | None = None,
    ) -> HttpAnswer:
        """POST `body` to `url` (with `params` as its query) and read the whole answer.
        Raises ConnectFailedError, TimedOutError, ExchangeFailedError."""
        origin, target = self._target(url)
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params)
        conn = self._connection(origin, timeout)
        try:
            if conn.sock is None:
                conn.connect()
        except TimeoutError:
            self._discard(origin)
            raise ConnectFailedError(f"connect to {origin[1]}:{origin[2]} timed out") from None
        except OSError as exc:
            self._discard(origin)
            raise ConnectFailedError(f"connect to {origin[1]}:{origin[2]}: {exc}") from None
        try:
            conn.request("POST", target, body, headers)
            resp = conn.getresponse()
            content = resp.read()
        except TimeoutError:
            self._discard(origin)
            raise TimedOutError(f"no answer within {timeout} s") from None
        except (OSError, http.client.HTTPException) as exc:
            self._discard(origin)
            raise ExchangeFailedError(f"{exc.__class__.__name__}: {exc}") from None
        if resp.will_close:
            self._discard(origin)
        return HttpAnswer(resp.status, resp.headers, content)

    def close(self) -> None:
        for origin in list(self._connections):
            self._discard(origin)

    def _target(self, url: str) -> tuple[tuple[str, str, int], str]:
        cached = self._targets.get(url)
        if cached is None:
            parts = urlsplit(url)
            # Verify an http(s) URL with a host (an offer's endpoint is the provider's word)
            if parts.scheme not in ORIGIN_SCHEMES or not parts.hostname:
                raise ConnectFailedError(f"not an http(s) URL: {url!r}")
            try:
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError:
                raise ConnectFailedError(f"bad port in {url!r}") from None
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            cached = ((parts.scheme, parts.hostname, port), target)
            self._targets[url] = cached
        return cached

    def _connection(
        self, origin: tuple[str, str, int], timeout: float
    ) -> http.client.HTTPConnection:
        conn = self._connections.get(origin)
        if conn is not None and (conn.sock is None or _closed_by_peer(conn.sock)):
            # The provider closed the idle connection (its keep-alive ended): a new one, so
            # the request is never written into a connection already gone
            self._discard(origin)
            conn = None
        if conn is None:
            scheme, host, port = origin
            if scheme == "https":
                conn = http.client.HTTPSConnection(host, port, timeout=timeout)
            else:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            self._connections[origin] = conn
        else:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
        return conn

    def _discard(self, origin: tuple[str, str, int]) -> None:
        conn = self._connections.pop(origin, None)
        if conn is not None:
            conn.close()


def _closed_by_peer(sock: socket.socket) -> bool:
    """An idle kept-alive connection that is readable has been closed (or sent garbage): it
    must not carry a request."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
