"""The agent's HTTP app: the Selene device API under /v1, one router per area."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from voxpop.agent.agent import Agent
from voxpop.agent.auth import DeviceAuthError
from voxpop.agent.errors import AgentError, ChainRejectedError, ChainUnavailableError
from voxpop.agent.limits import BodyLimitMiddleware
from voxpop.agent.responses import error_json, plain_401
from voxpop.agent.routes import device, oauth, pairing, services, skills, uploads

log = logging.getLogger(__name__)
API_PREFIX = "/v1"


def create_app(agent: Agent) -> FastAPI:
    app = FastAPI(
        title="voxpop agent",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.agent = agent
    for module in (pairing, device, skills, services, uploads, oauth):
        app.include_router(module.router, prefix=API_PREFIX)

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
    app.add_middleware(
        BodyLimitMiddleware, max_body=config.max_body_bytes, max_upload=config.max_upload_bytes
    )
    return app
