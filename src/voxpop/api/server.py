"""Serve the HTTP API inside the node's own event loop.

The node owns the process: it installs the signal handlers and decides when to stop, by cancelling
the task running `serve_api`. Uvicorn is therefore run without its own signal handling, and the
listening socket is bound here so a busy port raises ApiBindError instead of exiting the process.

Forwarded headers (X-Forwarded-For, X-Forwarded-Proto) are believed only from the proxies listed
in `[api] trusted_proxies`; by default none, so a client cannot pick its own address and with it
its rate-limit bucket and stream quota.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import socket
from collections.abc import Callable, Generator

import uvicorn

from voxpop.api.app import MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES, create_api, request_shutdown
from voxpop.node.config import ApiConfig, ConfigError
from voxpop.node.service import NodeService

log = logging.getLogger("voxpop.api")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1317
GRACEFUL_SHUTDOWN_SECONDS = 5


class ApiBindError(ConfigError):
    """The API's address cannot be listened on (port in use, unknown host, no permission).

    A ConfigError: the operator fixes it in `[api]` (or with --api-host/--api-port)."""

    def __init__(self, host: str, port: int, exc: OSError) -> None:
        if exc.errno == errno.EADDRINUSE:
            super().__init__(f"API address {host}:{port} is in use")
            self.code = "api_port_in_use"
        else:
            super().__init__(f"cannot serve the API on {host}:{port}: {exc.strerror or exc}")
            self.code = "api_bind_failed"


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signals to its host process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (IPv4 or IPv6). Raises OSError (e.g. port in use)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    # The protocol must say TCP: asyncio sets TCP_NODELAY on accepted connections only then, and
    # without it every keep-alive response waits ~40 ms on Nagle and delayed ACKs
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(2048)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def serve_api(
    node: NodeService,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    config: ApiConfig | None = None,
    log_level: str = "warning",
    on_listening: Callable[[str, int], None] | None = None,
) -> None:
    """Serve the API for `node` until cancelled; then stop cleanly and re-raise the cancellation.

    `config` holds the limits (default: ApiConfig's defaults); `host` and `port` win over its
    own. `on_listening(host, port)` is called once the socket is bound (useful with port 0).
    Raises ApiBindError if the address cannot be bound.
    """
    cfg = config or ApiConfig()
    app = create_api(
        node,
        max_body_bytes=MAX_BODY_BYTES,
        max_batch_body_bytes=cfg.max_body_bytes if config else MAX_BATCH_BODY_BYTES,
        rate_per_s=cfg.rate_limit_per_s,
        rate_burst=cfg.rate_limit_burst,
        allowed_hosts=[host, *cfg.allowed_hosts],
        max_stream_subscribers=cfg.max_stream_subscribers,
        max_stream_subscribers_per_client=cfg.max_stream_subscribers_per_client,
        stream_queue_events=cfg.stream_queue_events,
    )
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        raise ApiBindError(host, port, exc) from None
    bound_host, bound_port = sock.getsockname()[:2]
    server_config = uvicorn.Config(
        app,
        log_config=None,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # Client addresses come from forwarded headers only through a proxy the operator named
        proxy_headers=bool(cfg.trusted_proxies),
        forwarded_allow_ips=[
            str(ipaddress.ip_network(p, strict=False)) for p in cfg.trusted_proxies
        ],
        # Compression would run per subscriber per message, undoing "serialize each event once"
        ws_per_message_deflate=False,
    )
    server = _EmbeddedServer(server_config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    log.info("API listening on http://%s:%d", bound_host, bound_port)
    if on_listening is not None:
        on_listening(bound_host, bound_port)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        # Stop accepting, end the live feeds, let requests in flight finish, then stop
        server.should_exit = True
        request_shutdown(app)
        try:
            await task
        finally:
            sock.close()
        raise
    finally:
        sock.close()
