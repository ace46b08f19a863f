"""OAuth for skills with the owner's own apps (voxpop.agent.oauth has the flow):

- `GET /device/{uuid}/token/{cred}?refresh=` (a paired device): `{access_token, token_type,
  expires_in, expires_at, scope}`;
- `GET /device/{uuid}/oauth/{cred}/link` (a paired device): `{"url": connect link}` for the
  owner's browser;
- `GET /oauth/{cred}/start?ticket=` (the owner's browser): 302 to the provider;
- `GET /oauth/callback?code=&state=` (the provider, through the browser): a page saying so.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from voxpop.agent.auth import DeviceSession, current_device, get_agent
from voxpop.agent.oauth import OAuthError, broker_for
from voxpop.agent.responses import error_json, json_ok

router = APIRouter()


def _page(status: int, title: str, text: str) -> HTMLResponse:
    body = (
        "<!doctype html><meta charset='utf-8'><title>voxpop agent</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


@router.get("/device/{uuid}/token/{cred}")
async def device_token(
    uuid: str,
    cred: str,
    request: Request,
    refresh: str = "true",
    device: DeviceSession = Depends(current_device),
) -> Response:
    """The access token of the owner's app `cred`, refreshed by the agent when due."""
    broker = broker_for(get_agent(request))
    auto = refresh.strip().lower() not in ("false", "0", "no")
    try:
        token = await run_in_threadpool(broker.token, cred, refresh=auto)
    except OAuthError as exc:
        return error_json(exc.status, exc.code, str(exc))
    return json_ok(token, headers={"Cache-Control": "no-store"})


@router.get("/device/{uuid}/oauth/{cred}/link")
async def device_connect_link(
    uuid: str, cred: str, request: Request, device: DeviceSession = Depends(current_device)
) -> Response:
    """A connect link for the owner's browser (a skill shows or sends it)."""
    agent = get_agent(request)
    try:
        url = broker_for(agent).connect_url(cred, str(request.base_url))
    except OAuthError as exc:
        return error_json(exc.status, exc.code, str(exc))
    return json_ok({"url": url})


@router.get("/oauth/{cred}/start")
async def start(cred: str, request: Request, ticket: str = "") -> Response:
    broker = broker_for(get_agent(request))
    callback = str(request.url_for("oauth_callback"))
    try:
        url = broker.start(cred, ticket, callback)
    except OAuthError as exc:
        return _page(exc.status, "Cannot connect", str(exc))
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


@router.get("/oauth/callback", name="oauth_callback")
async def callback(request: Request, state: str = "", code: str = "", error: str = "") -> Response:
    broker = broker_for(get_agent(request))
    # Verify the provider granted access (it sends ?error=access_denied when the owner said no)
    if error or not code or not state:
        reason = error[:64] if error else "the provider sent no code"
        return _page(400, "Not connected", f"The provider did not grant access: {reason}.")
    try:
        cred = await run_in_threadpool(broker.complete, state, code)
    except OAuthError as exc:
        return _page(exc.status, "Not connected", str(exc))
    return _page(200, "Connected", f"{cred} is connected. You can close this window.")
