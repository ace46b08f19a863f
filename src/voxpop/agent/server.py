"""Run the agent: the Selene device API on the configured host and port (127.0.0.1 unless the
owner sets another), and the background sync with the chain."""

from __future__ import annotations

import logging

from voxpop.agent.agent import Agent

log = logging.getLogger(__name__)


def serve(agent: Agent, *, log_level: str = "warning") -> None:
    """Serve until interrupted (blocks)."""
    import uvicorn

    from voxpop.agent.app import create_app

    config = uvicorn.Config(
        create_app(agent),
        host=agent.config.host,
        port=agent.config.port,
        log_level=log_level,
        access_log=False,  # request lines carry device uuids; tokens never, but keep logs lean
        lifespan="on",
        # The plain asyncio loop and h11: a few devices need neither uvloop nor httptools, and
        # on a Pi every MB counts; no websockets at all
        loop="asyncio",
        http="h11",
        ws="none",
    )
    server = uvicorn.Server(config)
    try:
        server.run()
    finally:
        agent.close()
