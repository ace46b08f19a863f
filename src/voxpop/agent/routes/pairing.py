"""Selene device API: pairing and token refresh.

GET  /device/code?state=     a code for the device to speak, its request published on chain
POST /device/activate        the login once the owner claimed the code; until then an EMPTY 404
GET  /auth/token             a new login for the refresh token (Bearer) of a paired device
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from voxpop.agent.auth import bearer_token, get_agent
from voxpop.agent.pairings import PairingError
from voxpop.agent.responses import empty_404, error_json, json_ok, plain_401

router = APIRouter()

# The names a device reports its versions by, in both the spellings clients use
_REPORT_ALIASES = {
    "coreVersion": ("coreVersion", "core_version"),
    "enclosureVersion": ("enclosureVersion", "enclosure_version"),
    "platform": ("platform",),
    "platform_build": ("platform_build", "platformBuild"),
    "name": ("name",),
}


def device_report(body: dict[str, Any]) -> dict[str, str]:
    """A device's version report with each field under one name (coreVersion and core_version
    are both accepted); values as short strings."""
    report: dict[str, str] = {}
    for name, aliases in _REPORT_ALIASES.items():
        for alias in aliases:
            value = body.get(alias)
            if value is not None and value != "":
                report[name] = str(value)[:64]
                break
    return report


@router.get("/device/code")
def device_code(request: Request, state: str = "") -> Response:
    agent = get_agent(request)
    try:
        grant = agent.pairings.start(state, device_report(dict(request.query_params)))
    except PairingError as exc:
        return error_json(429 if exc.code == "too_many_pairings" else 400, exc.code, str(exc))
    return json_ok(grant.to_json())


@router.post("/device/activate")
async def device_activate(request: Request) -> Response:
    agent = get_agent(request)
    # Refusals here are plain text: a JSON body would be saved as the identity by
    # ovos-backend-client, which reads .json() before looking at the status
    try:
        body = json.loads(await request.body())
    except ValueError:
        return PlainTextResponse("invalid_json: the body is not JSON", status_code=400)
    # Verify the body names the pairing: its state and token
    if not isinstance(body, dict):
        return PlainTextResponse("invalid_json: the body is a JSON object", status_code=400)
    state, token = body.get("state"), body.get("token")
    if not isinstance(state, str) or not isinstance(token, str):
        return PlainTextResponse("invalid_activation: state and token are required", 400)
    from starlette.concurrency import run_in_threadpool

    login = await run_in_threadpool(agent.pairings.activate, state, token, device_report(body))
    if login is None:
        # Empty: ovos-backend-client would save a JSON body as the device's identity
        return empty_404()
    return json_ok(login)


@router.get("/auth/token")
def refresh_token(request: Request) -> Response:
    agent = get_agent(request)
    token = bearer_token(request)
    if token is None:
        return plain_401()
    # A Device header, when sent, must name the token's own device
    login = agent.tokens.refresh(token, request.headers.get("device"))
    if login is None:
        return plain_401()
    return json_ok(login.to_json())
