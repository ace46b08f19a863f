"""Rendering home pages: a whole page for a plain browser request, the fragment alone for htmx.

    return page(request, "home/devices.html", devices=views)        # extends home/base.html
    return fragment(request, "home/_tx.html", result=result)         # no layout

Every template gets `session` (unlocked or not), `csrf` (the token), `key_here`, `nav` and
`owner` (the owner's vox1 address).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from voxpop.agent.home.session import Session
from voxpop.agent.home.state import home_of
from voxpop.crypto import encode_address

# (path, label) of the navigation bar, in order
NAV: tuple[tuple[str, str], ...] = (
    ("/devices", "Devices"),
    ("/settings", "Settings"),
    ("/wallet", "Wallet"),
    ("/data", "Data"),
    ("/community", "Community"),
    ("/earning", "Earning"),
)


def is_htmx(request: Request) -> bool:
    """Whether htmx made the request (it wants a fragment, not a page)."""
    return request.headers.get("hx-request") == "true"


def context(request: Request, **values: Any) -> dict[str, Any]:
    home = home_of(request)
    session: Session | None = getattr(request.state, "session", None)
    return {
        "request": request,
        "session": session,
        "csrf": session.csrf if session is not None else "",
        "key_here": home.key_here,
        "needs_passphrase": home.owner_keyring is not None and home.owner_keyring.needs_passphrase,
        "nav": NAV,
        "here": _page_path(request),
        "owner": encode_address(home.agent.owner),
        **values,
    }


def _page_path(request: Request) -> str:
    """The page the visitor is on: a GET's own path; for an action (POST /devices/pair), its
    page (/devices), where an unlock link returns to."""
    path = request.url.path
    if request.method == "GET":
        return path
    return "/" + path.split("/")[1]


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A whole page (`template` extends home/base.html)."""
    templates = home_of(request).templates
    response: HTMLResponse = templates.TemplateResponse(
        request, template, context(request, **values), status_code=status
    )
    response.headers["cache-control"] = "no-store"
    return response


def fragment(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A piece of a page (what an htmx swap puts in place)."""
    return page(request, template, status, **values)


def action_response(
    request: Request, result: Any, whole_page: Callable[[], HTMLResponse]
) -> HTMLResponse:
    """After an action: for htmx, the `home/_tx.html` fragment (with an `HX-Trigger: tx-done`
    header once nothing is left to wait for, so lists reload); for a plain form post,
    `whole_page()` (the page again, showing `result` on top)."""
    if is_htmx(request):
        response = fragment(request, "home/_tx.html", result=result)
        if result.done:
            response.headers["hx-trigger"] = "tx-done"
        return response
    return whole_page()
