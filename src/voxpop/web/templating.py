"""Jinja2 templates from the installed package and the shared static files.

Templates load through a package loader (they ship in the wheel), autoescape is always on, and the
shared `templates/web_head.html` puts the vendored htmx and its configuration on a page.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

HTMX_JS = "htmx-2.0.11.min.js"
HTMX_SSE_JS = "htmx-ext-sse-2.2.4.min.js"
STATIC_PATH = "/static/web"


def make_templates(*packages: str) -> Jinja2Templates:
    """Templates from each package's `templates/` folder, then the shared ones of `voxpop.web`."""
    loaders = [PackageLoader(package, "templates") for package in (*packages, "voxpop.web")]
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(web_static=STATIC_PATH, htmx_js=HTMX_JS, htmx_sse_js=HTMX_SSE_JS)
    return Jinja2Templates(env=env)


def mount_web_static(app: FastAPI) -> None:
    """Serve the shared vendored assets at `STATIC_PATH`."""
    app.mount(STATIC_PATH, StaticFiles(packages=[("voxpop.web", "static")]), name="web-static")
