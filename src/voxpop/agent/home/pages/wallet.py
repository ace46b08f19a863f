"""Wallet (HOME-B's page; a placeholder until it lands)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from voxpop.agent.home.render import page
from voxpop.agent.home.security import require_session
from voxpop.agent.home.session import Session

router = APIRouter()


@router.get("/wallet")
def wallet_page(request: Request, session: Session = Depends(require_session)) -> Response:
    return page(request, "home/placeholder.html", title="Wallet")
