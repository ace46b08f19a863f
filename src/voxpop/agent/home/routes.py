"""The home's own routes: the front page, unlock and lock, a tx's progress."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from voxpop.agent.home.actions import tx_status
from voxpop.agent.home.render import fragment, is_htmx, page
from voxpop.agent.home.security import HomeError, require_csrf, require_session
from voxpop.agent.home.session import Session
from voxpop.agent.home.state import OwnerKeyError, home_of

router = APIRouter()
_HASH = re.compile(r"^[0-9a-f]{64}$")


@router.get("/")
def index(request: Request, session: Session = Depends(require_session)) -> Response:
    return RedirectResponse("/devices", status_code=303)


@router.get("/unlock")
def unlock_page(request: Request, session: Session = Depends(require_session)) -> Response:
    return page(request, "home/unlock.html", back=_safe_next(request.query_params.get("next")))


@router.post("/unlock")
async def unlock(
    request: Request,
    passphrase: str = Form(""),
    next_page: str = Form("/devices", alias="next"),
    session: Session = Depends(require_csrf),
) -> Response:
    """Unlock the owner key for this session (429 after too many wrong passphrases)."""
    home = home_of(request)
    if home.owner_keyring is None:
        raise HomeError(409, "no_owner_key_here")
    wait = home.limiter.wait_seconds()
    if wait:
        raise HomeError(429, "too_many_attempts", f"{wait} s")
    keyring = home.owner_keyring
    try:
        key = await run_in_threadpool(keyring.unlock, passphrase, home.agent.owner)
    except OwnerKeyError as exc:
        if exc.code == "wrong_passphrase":
            home.limiter.failed()
        raise HomeError(403, exc.code) from None
    home.limiter.succeeded()
    home.sessions.unlock(session, key)
    return RedirectResponse(_safe_next(next_page), status_code=303)


@router.post("/lock")
def lock(request: Request, session: Session = Depends(require_csrf)) -> Response:
    home_of(request).sessions.lock(session)
    return RedirectResponse("/devices", status_code=303)


@router.get("/tx/{tx_hash}")
def tx_progress(
    request: Request, tx_hash: str, what: str = "", session: Session = Depends(require_session)
) -> Response:
    """A tx's progress: the fragment htmx polls, or a page that reloads itself until done."""
    # Verify the hash is a tx hash before asking a node
    if not _HASH.match(tx_hash):
        raise HomeError(404, "not_found")
    result = tx_status(request, tx_hash, what[:80])
    if is_htmx(request):
        response = fragment(request, "home/_tx.html", result=result)
        if result.done:
            response.headers["hx-trigger"] = "tx-done"
        return response
    return page(request, "home/tx.html", result=result)


def _safe_next(target: str | None) -> str:
    """A path on this site only (never another site: an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/devices"
    return target
