"""Settings: device settings, the location, and skill settings as forms from each skill's
settingsMeta; saved through the owner's settings/Put (an owner action)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from voxpop.agent.home.render import page
from voxpop.agent.home.security import require_session
from voxpop.agent.home.session import Session

router = APIRouter()


@router.get("/settings")
def settings_page(request: Request, session: Session = Depends(require_session)) -> Response:
    return page(request, "home/placeholder.html", title="Settings")
