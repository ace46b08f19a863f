"""Run a solo node with its HTTP API until SIGINT or SIGTERM, then stop both cleanly.

If block production fails, the node stops too and `run_solo` raises BlockProductionError (a
SoloNodeError): a node that cannot make blocks must not keep answering as if it could.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

from voxpop.api.server import serve_api
from voxpop.node.home import NodeHome
from voxpop.node.solo import SoloNode, SoloNodeError


async def run_solo(
    home: NodeHome,
    *,
    api_host: str | None = None,
    api_port: int | None = None,
    on_ready: Callable[[SoloNode, str], None] | None = None,
) -> None:
    node = SoloNode(home)
    host = api_host or node.config.api.host
    port = api_port if api_port is not None else node.config.api.port
    await node.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def listening(_: str, bound_port: int) -> None:
        # Ready only once the port is bound: a busy port is an error, never a false "up"
        if on_ready is not None:
            on_ready(node, f"http://{host}:{bound_port}")

    api = asyncio.create_task(
        serve_api(node, host, port, config=node.config.api, on_listening=listening),
        name="voxpop-api",
    )
    supervisor = asyncio.create_task(node.supervise(), name="voxpop-supervisor")
    try:
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({api, stopper, supervisor}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        for task in (supervisor, api):
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        supervisor.cancel()
        api.cancel()
        with contextlib.suppress(asyncio.CancelledError, SoloNodeError):
            await supervisor
        with contextlib.suppress(asyncio.CancelledError):
            await api
        await node.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
