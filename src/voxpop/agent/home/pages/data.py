"""Data: what is stored where and its health, the access grants (expiry, uses; revoke in one
click), what was sold and earned, and the sharing policy as a form.

Revoking is an owner action (consent/Revoke: data grants are never granted to an agent,
docs/keys.md): signed here when the session unlocked the key, else the page shows the
`voxpop data consent revoke` command. The policy and the decisions log live in the owner tools'
home on this machine (`[home] owner_home` in agent.toml); the objects' names come from the
owner's sealed index there, shown only while the session is unlocked.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from voxpop.agent.home.actions import ActionResult, owner_action
from voxpop.agent.home.reads import chain_read
from voxpop.agent.home.render import action_response, fragment, is_htmx, page
from voxpop.agent.home.security import require_csrf, require_session, require_unlocked
from voxpop.agent.home.session import Session
from voxpop.agent.home.state import home_of
from voxpop.agent.home.views.data import (
    DataView,
    policy_from_form,
    read_data,
    read_grant,
    revoke_msgs,
)
from voxpop.agent.home.views.errors import InputError, register_words
from voxpop.agent.home.words import WORDS
from voxpop.chain.module import Msg
from voxpop.client.consent.decisions import DecisionLog
from voxpop.client.consent.errors import ConsentClientError
from voxpop.client.consent.grants import REVOKE_GAS
from voxpop.client.consent.policy import load_policy, save_policy
from voxpop.client.devices import OwnerDevices
from voxpop.client.storage.errors import DataError
from voxpop.client.storage.index import NameIndex

router = APIRouter()
TEMPLATE = "home/data.html"
register_words(WORDS)


def _data_home(request: Request) -> Path | None:
    return home_of(request).agent.config.home_settings.owner_home


def _names(request: Request, data_home: Path | None) -> dict[str, str] | None:
    """The owner's file names, from its sealed index (only with the key unlocked here)."""
    session: Session | None = getattr(request.state, "session", None)
    if data_home is None or session is None or session.owner_key is None:
        return None
    try:
        return {e.object_id: e.name for e in NameIndex(data_home, session.owner_key).entries()}
    except (DataError, OSError, ValueError):
        return None


def _view(request: Request) -> DataView:
    owner = home_of(request).agent.owner
    data_home = _data_home(request)
    names = _names(request, data_home)
    try:
        return chain_read(request, lambda client: read_data(client, owner, data_home, names))
    except ConsentClientError:
        return chain_read(request, lambda client: read_data(client, owner, None, names))


def _page(request: Request, result: ActionResult | None = None, status: int = 200) -> HTMLResponse:
    return page(request, TEMPLATE, status, data=_view(request), result=result, saved=False)


@router.get("/data")
def data_page(request: Request, session: Session = Depends(require_session)) -> Response:
    return _page(request)


@router.get("/data/live")
def data_live(request: Request, session: Session = Depends(require_session)) -> Response:
    return fragment(request, "home/_data_live.html", data=_view(request))


def _refused(request: Request, what: str, exc: InputError) -> Response:
    result = ActionResult("error", what, code=exc.code)
    return action_response(request, result, lambda: _page(request, result, 400))


@router.post("/data/revoke/{grant_id}")
def revoke(request: Request, grant_id: str, session: Session = Depends(require_csrf)) -> Response:
    """End a grant at once (consent/Revoke): from the next block its nodes refuse it."""
    home = home_of(request)
    owner = home.agent.owner
    what = "Revoke the grant"
    try:
        raw = bytes.fromhex(grant_id)
    except ValueError:
        return _refused(request, what, InputError("unknown_grant", "not a grant id"))

    def build(flows: OwnerDevices) -> list[Msg]:
        grant = read_grant(flows.client, raw)
        return revoke_msgs(owner, grant_id, {raw: grant} if grant is not None else {})

    command = ["data", "consent", "revoke", grant_id.lower()]
    try:
        result = owner_action(
            request, session, what=what, build=build, command=command, gas_limit=REVOKE_GAS
        )
    except InputError as exc:
        return _refused(request, what, exc)
    data_home = _data_home(request)
    if result.state == "submitted" and data_home is not None:
        DecisionLog(data_home).append("revoke", int(time.time()), grant=grant_id.lower())
    return action_response(request, result, lambda: _page(request, result))


@router.post("/data/policy")
async def save_sharing_policy(
    request: Request, session: Session = Depends(require_unlocked)
) -> Response:
    """Save the sharing policy from its form (a file in the owner's home: no tx)."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    return await run_in_threadpool(_save_policy, request, fields)


def _save_policy(request: Request, fields: dict[str, str]) -> Response:
    what = "Save your sharing policy"
    data_home = _data_home(request)
    if data_home is None:
        return _refused(request, what, InputError("no_data_home", "no owner home here"))
    try:
        policy = policy_from_form(load_policy(data_home), fields)
    except InputError as exc:
        return _refused(request, what, exc)
    except ConsentClientError as exc:  # the file there cannot be read
        return _refused(request, what, InputError("invalid_policy", str(exc)))
    save_policy(data_home, policy)
    if is_htmx(request):
        return fragment(request, "home/_saved.html", what=what)
    return page(request, TEMPLATE, data=_view(request), result=None, saved=True)
