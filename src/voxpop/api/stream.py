"""The live feed of blocks and committed txs, for Server-Sent Events and WebSocket clients.

Each item is (kind, id, data): kind "block" carries the block's header, hash and signature (fetch
the txs from /v1/blocks/{height}); kind "tx" carries the committed tx with its result. The feed ends
when the client goes away or the server shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection
from typing import Any

from pydantic import BaseModel

from voxpop.api.models import BlockHeaderModel, block_model, tx_record_model
from voxpop.node.service import NodeEvent, NodeService

KINDS = frozenset({"block", "tx"})


class BlockHeadModel(BaseModel):
    """A block event: enough to follow and verify the chain without its txs."""

    height: int
    hash: str
    header: BlockHeaderModel
    signature: str
    signer_pub_key: str


def event_payload(event: NodeEvent) -> tuple[str, str, dict[str, Any]] | None:
    """(kind, id, JSON data) of a node event; None for events the API does not publish."""
    if event.kind == "block" and event.block is not None:
        block = block_model(event.block)
        head = BlockHeadModel(
            height=event.height,
            hash=block.hash,
            header=block.header,
            signature=block.signature,
            signer_pub_key=block.signer_pub_key,
        )
        return "block", str(event.height), head.model_dump(mode="json")
    if event.kind == "tx" and event.tx is not None:
        record = tx_record_model(event.tx)
        return "tx", f"{event.height}:{event.tx.index}", record.model_dump(mode="json")
    return None


async def node_events(
    node: NodeService, shutdown: asyncio.Event, kinds: Collection[str] = KINDS
) -> AsyncIterator[tuple[str, str, dict[str, Any]]]:
    """Published events of `kinds` from node.subscribe(), until it ends or `shutdown` is set."""
    source = aiter(node.subscribe())
    stop = asyncio.ensure_future(shutdown.wait())
    step: asyncio.Future[NodeEvent] | None = None
    try:
        while True:
            step = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait({step, stop}, return_when=asyncio.FIRST_COMPLETED)
            if step not in done:
                return
            try:
                event = step.result()
            except StopAsyncIteration:
                return
            step = None
            payload = event_payload(event)
            if payload is not None and payload[0] in kinds:
                yield payload
    finally:
        stop.cancel()
        if step is not None and not step.done():
            step.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await step
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(RuntimeError):
                await aclose()
