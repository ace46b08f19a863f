"""What guards every home request: local clients only, a session, a CSRF token on every
state-changing request (a form field or an htmx header), same-origin posts, and the owner's
unlocked key for owner actions.

    @router.post("/devices/rename")
    def rename(request: Request, session: Session = Depends(require_csrf)) -> Response: ...

The cookie is set by `SessionCookieMiddleware` when a request made a new session.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxpop.agent.home.session import COOKIE_NAME, Session
from voxpop.agent.home.state import home_of

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
LOCAL_CLIENTS = frozenset({"127.0.0.1", "::1", "localhost"})
_NEW_SESSION = "home_new_session"


class HomeError(Exception):
    """An error the home shows as a page (or an htmx fragment): `code` has words in words.py."""

    def __init__(self, status: int, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.detail = detail


def local_only(request: Request) -> None:
    """The home answers this machine only (the agent may serve devices on the LAN)."""
    client = request.client.host if request.client is not None else ""
    if client not in LOCAL_CLIENTS:
        raise HomeError(403, "local_only")


def require_session(request: Request) -> Session:
    """The visitor's session, a new (anonymous) one if it has none or it expired."""
    home = home_of(request)
    session = home.sessions.get(request.cookies.get(COOKIE_NAME))
    if session is None:
        session = home.sessions.new()
        request.scope.setdefault("state", {})[_NEW_SESSION] = session.sid
    request.state.session = session
    return session


async def require_csrf(request: Request, session: Session = Depends(require_session)) -> Session:
    """For every state-changing request: the session's CSRF token, from the `X-CSRF-Token`
    header (htmx) or the `csrf` form field, and no other site's Origin. 403 otherwise."""
    # Verify the browser says the request comes from this site's own page: Sec-Fetch-Site, and
    # the Origin when it names one (no-referrer pages send "null")
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise HomeError(403, "cross_origin")
    origin = request.headers.get("origin")
    if origin not in (None, "null") and urlsplit(origin).netloc != request.headers.get("host"):
        raise HomeError(403, "cross_origin")
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
    # Verify the token is this session's (constant time)
    if token is None or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise HomeError(403, "csrf_failed")
    return session


def require_unlocked(session: Session = Depends(require_csrf)) -> Session:
    """An owner action signed here: the session holds the unlocked owner key."""
    if not session.unlocked:
        raise HomeError(403, "session_locked")
    return session


class SessionCookieMiddleware:
    """Sets the session cookie (HttpOnly, SameSite=Strict, Path=/) on the response of a request
    that made a new session."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                sid = scope.get("state", {}).get(_NEW_SESSION)
                if sid is not None:
                    cookie = f"{COOKIE_NAME}={sid}; HttpOnly; SameSite=Strict; Path=/"
                    headers = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)
