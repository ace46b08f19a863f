"""Community: proposals with their tallies, vote, delegate stake to a validator, the treasury
(the community pool) and the funding rounds it pays.

Votes and delegations are owner actions (gov/Vote, staking/Delegate: never granted to an agent,
docs/keys.md): signed here when the session unlocked the key, else the page shows the
`voxpop tx ...` command.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from voxpop.agent.home.actions import ActionResult, owner_action
from voxpop.agent.home.reads import chain_read
from voxpop.agent.home.render import action_response, fragment, page
from voxpop.agent.home.security import require_csrf, require_session
from voxpop.agent.home.session import Session
from voxpop.agent.home.state import home_of
from voxpop.agent.home.views.community import (
    VOTE_CHOICES,
    CommunityView,
    delegate_msg,
    read_community,
    vote_msg,
)
from voxpop.agent.home.views.errors import InputError, register_words
from voxpop.agent.home.words import WORDS
from voxpop.chain.module import Msg
from voxpop.client.devices import OwnerDevices

router = APIRouter()
TEMPLATE = "home/community.html"
register_words(WORDS)


def _view(request: Request) -> CommunityView:
    owner = home_of(request).agent.owner
    return chain_read(request, lambda client: read_community(client, owner))


def _page(request: Request, result: ActionResult | None = None, status: int = 200) -> HTMLResponse:
    return page(
        request, TEMPLATE, status, community=_view(request), choices=VOTE_CHOICES, result=result
    )


@router.get("/community")
def community_page(request: Request, session: Session = Depends(require_session)) -> Response:
    return _page(request)


@router.get("/community/live")
def community_live(request: Request, session: Session = Depends(require_session)) -> Response:
    return fragment(
        request, "home/_community_live.html", community=_view(request), choices=VOTE_CHOICES
    )


def _send(request: Request, session: Session, what: str, msg: Msg, command: list[str]) -> Response:
    home = home_of(request)

    def build(_flows: OwnerDevices) -> list[Msg]:
        return [msg]

    result = owner_action(
        request, session, what=what, build=build, command=command, options=home.node_options()
    )
    return action_response(request, result, lambda: _page(request, result))


def _refused(request: Request, what: str, exc: InputError) -> Response:
    result = ActionResult("error", what, code=exc.code)
    return action_response(request, result, lambda: _page(request, result, 400))


@router.post("/community/vote")
def vote(
    request: Request,
    proposal: str = Form(""),
    option: str = Form(""),
    session: Session = Depends(require_csrf),
) -> Response:
    """Vote on a proposal with all the owner's stake (a later vote replaces it)."""
    home = home_of(request)
    what = f"Vote on proposal {proposal.strip()[:12]}"
    try:
        msg = vote_msg(home.agent.owner, proposal, option)
    except InputError as exc:
        return _refused(request, what, exc)
    command = ["tx", "gov", "vote", home.owner_key_name, str(msg.proposal_id), option.lower()]
    return _send(request, session, what, msg, command)


@router.post("/community/delegate")
def delegate(
    request: Request,
    validator: str = Form(""),
    amount: str = Form(""),
    session: Session = Depends(require_csrf),
) -> Response:
    """Bond VOX of the owner's to a validator (staking/Delegate)."""
    home = home_of(request)
    what = "Delegate to a validator"
    try:
        msg = delegate_msg(home.agent.owner, validator, amount)
    except InputError as exc:
        return _refused(request, what, exc)
    command = [
        *("tx", "staking", "delegate", home.owner_key_name),
        *(validator.strip(), f"{msg.amount}uvox"),
    ]
    return _send(request, session, what, msg, command)
