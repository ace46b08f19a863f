"""Earning: the paid-API provider and the storage node the owner runs on this machine, as each
reports itself (views/earning.py says where they are looked for); plainly "not running" when none
runs. Read only: running a role is `voxpop provider start` / `voxpop storage start`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from voxpop.agent.home.render import page
from voxpop.agent.home.security import require_session
from voxpop.agent.home.session import Session
from voxpop.agent.home.state import home_of
from voxpop.agent.home.views.earning import earning_places, read_earning
from voxpop.node.home import default_home

router = APIRouter()


@router.get("/earning")
def earning_page(request: Request, session: Session = Depends(require_session)) -> Response:
    config = home_of(request).agent.config
    fallback = config.home_settings.owner_home or default_home()
    view = read_earning(earning_places(config.config_path, fallback))
    return page(request, "home/earning.html", earning=view)
