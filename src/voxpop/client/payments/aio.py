"""AsyncPayingClient: the paying client for asyncio code (an agent's event loop).

Each call runs the blocking PayingClient in a worker thread, one call at a time (the client's
own lock), so the loop is never blocked by a provider, a channel tx or an fsync of the ledger.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import TracebackType

from voxpop.client.payments.client import PaidAnswer, PayingClient


class AsyncPayingClient:
    def __init__(self, client: PayingClient) -> None:
        self.client = client

    async def call(
        self,
        kind: str,
        body: bytes,
        *,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
        language: str | None = None,
    ) -> PaidAnswer:
        """PayingClient.call, awaited; raises the same errors."""
        return await asyncio.to_thread(
            self.client.call,
            kind,
            body,
            content_type=content_type,
            params=params,
            language=language,
        )

    async def aclose(self) -> None:
        await asyncio.to_thread(self.client.close)

    async def __aenter__(self) -> AsyncPayingClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
