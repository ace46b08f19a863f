"""Serve the HTTP API inside the node's own event loop.

The node owns the process: it installs the signal handlers and decides when to stop, by cancelling
the task running `serve_api`. Uvicorn is therefore run without its own signal handling, and the
listening socket is bound here so a busy port raises OSError instead of exiting the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Generator

import uvicorn

from voxpop.api.app import (
    DEFAULT_RATE_BURST,
    DEFAULT_RATE_PER_S,
    MAX_BATCH_BODY_BYTES,
    MAX_BODY_BYTES,
    create_api,
    request_shutdown,
)
from voxpop.node.service import NodeService

log = logging.getLogger("voxpop.api")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1317
GRACEFUL_SHUTDOWN_SECONDS = 5


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
    log_level: str = "warning",
    on_listening: Callable[[str, int], None] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_batch_body_bytes: int = MAX_BATCH_BODY_BYTES,
    rate_per_s: float = DEFAULT_RATE_PER_S,
    rate_burst: int = DEFAULT_RATE_BURST,
) -> None:
    """Serve the API for `node` until cancelled; then stop cleanly and re-raise the cancellation.

    `on_listening(host, port)` is called once the socket is bound (useful with port 0). The body
    limits apply to every route and to /v1/txs/batch respectively.
    Raises OSError if the address cannot be bound.
    """
    app = create_api(
        node,
        max_body_bytes=max_body_bytes,
        max_batch_body_bytes=max_batch_body_bytes,
        rate_per_s=rate_per_s,
        rate_burst=rate_burst,
    )
    sock = bind_socket(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    server = _EmbeddedServer(config)
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
