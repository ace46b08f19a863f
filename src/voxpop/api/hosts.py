"""Answer only requests addressed to this node by a name it knows (a DNS rebinding defence).

A web page can point a name it controls at 127.0.0.1 and then read a local node as if it were
same-origin; the browser still sends that name in Host. So a request is served only if its Host
is an IP address (no rebinding is possible through an address), `localhost`, the name the API is
bound to, or a name in `[api] allowed_hosts` ("*" allows any). A WebSocket upgrade that carries an
Origin (browsers always send one) must come from an allowed host too, since browsers let any page
open a WebSocket anywhere (an opaque Origin, `null`, is refused). Anything else is a 403
`host_not_allowed`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from voxpop.api.errors import HOST_NOT_ALLOWED, ApiError, send_error

LOCAL_NAMES = frozenset({"localhost"})
ANY_HOST = "*"


def host_name(authority: str) -> str:
    """The lowercase name or address of a Host value, without port, brackets or trailing dot."""
    text = authority.strip().lower()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    if text.count(":") == 1:
        text = text.partition(":")[0]
    return text.rstrip(".")


def is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostCheckMiddleware:
    """Refuse requests (HTTP and WebSocket) whose Host, or WebSocket Origin, is not allowed."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        names = {host_name(h) for h in allowed_hosts if h}
        self.allow_any = ANY_HOST in names
        self.allowed = frozenset(names | LOCAL_NAMES)

    def is_allowed(self, name: str) -> bool:
        return self.allow_any or name in self.allowed or is_ip_address(name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.allow_any:
            await self.app(scope, receive, send)
            return
        host = origin = None
        for name, value in scope.get("headers", ()):
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
        # Verify the request names this node (no Host at all: not a browser, nothing to rebind)
        if host is not None and not self.is_allowed(host_name(host)):
            await send_error(scope, send, ApiError(403, HOST_NOT_ALLOWED, "Host is not allowed"))
            return
        # Verify a browser's WebSocket comes from a page on an allowed host
        if scope["type"] == "websocket" and origin is not None:
            origin_host = urlsplit(origin).hostname or ""
            if not self.is_allowed(host_name(origin_host)):
                await send_error(
                    scope, send, ApiError(403, HOST_NOT_ALLOWED, "Origin is not allowed")
                )
                return
        await self.app(scope, receive, send)
