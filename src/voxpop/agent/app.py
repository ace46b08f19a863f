"""The agent's HTTP app: the Selene device API under /v1, one router per area, and the owner's
web app (agent/home) at /."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from voxpop.agent.agent import Agent
from voxpop.agent.auth import DeviceAuthError
from voxpop.agent.errors import AgentError, ChainRejectedError, ChainUnavailableError
from voxpop.agent.home import mount_home
from voxpop.agent.limits import BodyLimitMiddleware
from voxpop.agent.responses import error_json, json_ok, plain_401
from voxpop.agent.routes import device, oauth, pairing, services, skills, uploads
from voxpop.client.errors import VoxClientError
from voxpop.client.settings import SettingsKeyError
from voxpop.crypto import encode_address

log = logging.getLogger(__name__)
API_PREFIX = "/v1"


def create_app(agent: Agent) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        agent.syncer.start()
        try:
            yield
        finally:
            agent.syncer.stop()

    app = FastAPI(
        title="voxpop agent",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.agent = agent
    for module in (pairing, device, skills, services, uploads, oauth):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(uploads.root_router)  # /precise/upload: outside /v1, as Mycroft sent it

    @app.exception_handler(DeviceAuthError)
    async def _unauthorized(_request: Request, _exc: DeviceAuthError) -> Response:
        # Plain text, never JSON: ovos-backend-client reads any JSON body as "paired"
        return plain_401()

    @app.exception_handler(ChainUnavailableError)
    async def _unavailable(_request: Request, exc: ChainUnavailableError) -> Response:
        return error_json(503, exc.code, str(exc))

    @app.exception_handler(ChainRejectedError)
    async def _rejected(_request: Request, exc: ChainRejectedError) -> Response:
        return error_json(502, exc.code, str(exc))

    @app.exception_handler(SettingsKeyError)
    async def _no_settings_key(_request: Request, exc: SettingsKeyError) -> Response:
        # The owner has not wrapped its settings key to this agent (yet, or any more)
        return error_json(
            503,
            "no_settings_key",
            f"{exc}: the owner runs `voxpop settings rotate` after authorizing this agent",
        )

    @app.exception_handler(VoxClientError)
    async def _node_error(_request: Request, exc: VoxClientError) -> Response:
        # A node's answer the agent cannot use (a failed proof, no settings key for the agent)
        log.warning("chain read failed: %r", exc)
        return error_json(502, "chain_error", type(exc).__name__)

    @app.get("/status")
    def status(request: Request) -> Response:
        """What `voxpop agent status` shows: no secrets, no device data; for this machine only
        (an agent serving the LAN does not tell the LAN whose it is)."""
        client = request.client.host if request.client is not None else ""
        if client not in {"127.0.0.1", "::1", agent.config.host}:
            return error_json(403, "local_only", "the status is for the agent's own machine")
        devices = [r for r in agent.devices.all() if not r["removed"]]
        return json_ok(
            {
                "agent": encode_address(agent.address),
                "owner": encode_address(agent.owner),
                "chain_id": agent.config.chain_id,
                "nodes": list(agent.config.nodes),
                "devices": len(devices),
                "last_chain_contact": agent.chain.last_online,
                "last_sync": agent.syncer.last_ok,
            }
        )

    @app.exception_handler(AgentError)
    async def _agent_error(_request: Request, exc: AgentError) -> Response:
        log.warning("agent error %s: %s", exc.code, exc)
        return error_json(500, exc.code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        return error_json(
            422, "invalid_request", "; ".join(str(e.get("msg")) for e in exc.errors())
        )

    config = agent.config
    # The owner's web app at / (agent/home): its pages, their security headers and sessions
    mount_home(app, agent)
    app.add_middleware(
        BodyLimitMiddleware, max_body=config.max_body_bytes, max_upload=config.max_upload_bytes
    )
    return app
