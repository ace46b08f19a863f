"""When each device was last seen: the time of its last authenticated device API call.

A pure ASGI middleware watches `/v1/device/<uuid>/...` answers: a 2xx one passed the device's
token check (auth.py: the token must be that uuid's), so the device was there. Kept in the
agent's local store, written at most once a minute per device.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxpop.agent.store import LocalStore

LAST_SEEN_NS = "home-last-seen"
WRITE_EVERY = 60.0
_DEVICE_PATH = re.compile(r"^/v1/device/([0-9a-f-]{36})(?:/|$)")


class LastSeenBook:
    def __init__(self, store: LocalStore, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        self._written: dict[str, float] = {}
        self._lock = threading.Lock()

    def seen(self, uuid: str) -> None:
        now = self.clock()
        with self._lock:
            if now - self._written.get(uuid, float("-inf")) < WRITE_EVERY:
                return
            self._written[uuid] = now
        self.store.put_json(LAST_SEEN_NS, uuid, int(now))

    def last_seen(self, uuid: str) -> int | None:
        value = self.store.get_json(LAST_SEEN_NS, uuid)
        return value if isinstance(value, int) else None


class LastSeenMiddleware:
    def __init__(self, app: ASGIApp, book: LastSeenBook) -> None:
        self.app = app
        self.book = book

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = _DEVICE_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        uuid = found.group(1)

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                self.book.seen(uuid)
            await send(message)

        await self.app(scope, receive, watch)
