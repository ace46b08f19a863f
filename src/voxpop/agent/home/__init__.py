"""Home: the owner's web app, served by the agent at `/` (the Selene device API stays under /v1).

Server-rendered pages (FastAPI + Jinja2), progressive enhancement with the vendored htmx of
voxpop.web: every form works without JavaScript. Each page is a module of `pages/` exporting
`router`. Sessions, CSRF and the owner's key: security.py and session.py; owner and agent actions
and a tx's progress: actions.py; live updates: stream.py. docs/home.md says what each page does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from voxpop.agent.home.last_seen import LastSeenMiddleware
from voxpop.agent.home.render import is_htmx, page
from voxpop.agent.home.security import HomeError, SessionCookieMiddleware, local_only
from voxpop.agent.home.state import Home
from voxpop.agent.home.words import in_words
from voxpop.web.security import SecurityHeadersMiddleware
from voxpop.web.templating import make_templates, mount_web_static

if TYPE_CHECKING:
    from voxpop.agent.agent import Agent

HOME_STATIC = "/static/home"


def mount_home(app: FastAPI, agent: Agent) -> Home:
    """Serve the home on `app` (the agent's): its pages, static files and headers."""
    from voxpop.agent.home import routes, stream
    from voxpop.agent.home.pages import PAGES

    templates = make_templates("voxpop.agent.home")
    templates.env.globals.update(home_static=HOME_STATIC, in_words=in_words)
    home = Home(agent, templates)
    app.state.home = home
    guard = [Depends(local_only)]
    for module in (routes, stream, *PAGES):
        app.include_router(module.router, dependencies=guard, include_in_schema=False)
    mount_web_static(app)
    app.mount(HOME_STATIC, StaticFiles(packages=[("voxpop.agent.home", "static")]), name="home")

    @app.exception_handler(HomeError)
    async def _home_error(request: Request, exc: HomeError) -> Response:
        template = "home/_error.html" if is_htmx(request) else "home/error.html"
        return page(request, template, exc.status, code=exc.code, detail=exc.detail)

    app.add_middleware(LastSeenMiddleware, book=home.last_seen)
    app.add_middleware(SessionCookieMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    return home


__all__ = ["HOME_STATIC", "Home", "mount_home"]
