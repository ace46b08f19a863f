"""Wallet: balance, send, receive (address and QR code), spending by service and by day, the
agent's allowances and their daily caps, payment channels, receipts and skill royalties.

Sending and changing the agent's cap are owner actions (bank/Send; the authz grants are the
owner's to give, docs/keys.md): signed here when the session unlocked the key, else the page shows
the `voxpop ...` command. Everything else is read: the chain (proven) and the agent's own ledger.
"""

from __future__ import annotations

import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from voxpop.agent.home.actions import ActionResult, owner_action
from voxpop.agent.home.reads import chain_read
from voxpop.agent.home.render import action_response, fragment, page
from voxpop.agent.home.security import require_csrf, require_session
from voxpop.agent.home.session import Session
from voxpop.agent.home.state import home_of
from voxpop.agent.home.views.errors import InputError, register_words
from voxpop.agent.home.views.wallet import WalletView, parse_cap, read_wallet, send_msgs
from voxpop.agent.home.words import WORDS
from voxpop.agent.payer import LEDGER_FILE
from voxpop.agent.royalties import NS as ROYALTIES
from voxpop.chain.module import Msg
from voxpop.client.agent_grants import AgentCaps, authorize_msgs, read_agent_grants
from voxpop.client.devices import OwnerDevices
from voxpop.client.payments.ledger import Ledger
from voxpop.crypto import encode_address

router = APIRouter()
TEMPLATE = "home/wallet.html"
register_words(WORDS)


def _view(request: Request) -> WalletView:
    agent = home_of(request).agent
    path = agent.config.home / LEDGER_FILE
    ledger = Ledger(path) if path.exists() else None
    settled = agent.store.get_json(ROYALTIES, "settled")
    pending = agent.store.get_json(ROYALTIES, "pending")
    today = datetime.datetime.now(datetime.UTC).date()
    try:
        return chain_read(
            request,
            lambda client: read_wallet(
                client,
                agent.owner,
                agent.key.public_key.address,
                ledger,
                settled if isinstance(settled, dict) else {},
                pending if isinstance(pending, dict) else {},
                today,
            ),
        )
    finally:
        if ledger is not None:
            ledger.close()


def _page(request: Request, result: ActionResult | None = None, status: int = 200) -> HTMLResponse:
    return page(request, TEMPLATE, status, wallet=_view(request), result=result)


@router.get("/wallet")
def wallet_page(request: Request, session: Session = Depends(require_session)) -> Response:
    return _page(request)


@router.get("/wallet/summary")
def wallet_summary(request: Request, session: Session = Depends(require_session)) -> Response:
    """The balance and everything that moves with a tx (htmx reloads it after one)."""
    return fragment(request, "home/_wallet_live.html", wallet=_view(request))


def _respond(request: Request, result: ActionResult) -> Response:
    return action_response(request, result, lambda: _page(request, result))


def _refused(request: Request, what: str, exc: InputError) -> Response:
    result = ActionResult("error", what, code=exc.code)
    return action_response(request, result, lambda: _page(request, result, 400))


@router.post("/wallet/send")
def send(
    request: Request,
    to: str = Form(""),
    amount: str = Form(""),
    session: Session = Depends(require_csrf),
) -> Response:
    """Send VOX from the owner's account (bank/Send, the owner's key)."""
    home = home_of(request)
    what = "Send VOX"
    try:
        msgs = send_msgs(home.agent.owner, to, amount)
    except InputError as exc:
        return _refused(request, what, exc)
    sent = msgs[0].amount

    def build(_flows: OwnerDevices) -> list[Msg]:
        return list(msgs)

    command = ["tx", "bank", "send", home.owner_key_name, to.strip(), f"{sent}uvox"]
    result = owner_action(
        request, session, what=what, build=build, command=command, options=home.node_options()
    )
    return _respond(request, result)


@router.post("/wallet/cap")
def change_cap(
    request: Request, cap: str = Form(""), session: Session = Depends(require_csrf)
) -> Response:
    """Change the agent's daily cap: the owner grants again with the new cap (it replaces the
    grants; the fee allowance's cap is kept)."""
    home = home_of(request)
    agent = home.agent
    what = "Change your agent's daily limit"
    try:
        cap_uvox = parse_cap(cap)
    except InputError as exc:
        return _refused(request, what, exc)
    agent_address = agent.key.public_key.address

    def build(flows: OwnerDevices) -> list[Msg]:
        held = read_agent_grants(flows.client, agent.owner, agent_address)
        if held.is_empty:
            raise InputError("no_agent_grants", "the agent holds no grant")
        allowance = held.allowance
        fee_cap = allowance.limits.period_limit if allowance is not None else None
        caps = AgentCaps(
            cap_per_day=cap_uvox, fee_cap_per_day=fee_cap or AgentCaps().fee_cap_per_day
        )
        return authorize_msgs(agent.owner, agent_address, caps)

    command = [
        "agent",
        "authorize",
        encode_address(agent_address),
        "--cap-per-day",
        f"{cap_uvox}uvox",
    ]
    try:
        result = owner_action(request, session, what=what, build=build, command=command)
    except InputError as exc:
        return _refused(request, what, exc)
    return _respond(request, result)
