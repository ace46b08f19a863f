"""Devices: pair one by typing the code it speaks, rename, remove, and when each was last seen.

Claim, rename and remove are owner actions (devices/Claim, devices/Update, devices/Remove: only
the owner key signs them, docs/keys.md): signed here when the session unlocked the key, else the
page shows the `voxpop device ...` command.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from voxpop.agent.home.actions import ActionResult, owner_action
from voxpop.agent.home.reads import owner_read
from voxpop.agent.home.render import action_response, fragment, page
from voxpop.agent.home.security import require_csrf, require_session
from voxpop.agent.home.session import Session
from voxpop.agent.home.state import home_of
from voxpop.agent.home.timefmt import date, when
from voxpop.agent.registry import uuid_for
from voxpop.chain.module import Msg
from voxpop.client.devices import DeviceView, OwnerDevices

router = APIRouter()
TEMPLATE = "home/devices.html"


@dataclass(frozen=True, slots=True)
class DeviceRow:
    device_id: str
    name: str
    platform: str
    versions: str
    paired: str
    last_seen: str


def _rows(request: Request) -> tuple[list[DeviceRow], int]:
    home = home_of(request)
    views, pending = owner_read(request, lambda f: (f.devices(), len(f.pending())))
    now = home.clock()
    rows = [_row(v, home.last_seen.last_seen(uuid_for(v.device_id)), now) for v in views]
    return sorted(rows, key=lambda r: r.name.lower()), pending


def _row(view: DeviceView, seen: int | None, now: float) -> DeviceRow:
    info = view.info
    known = sorted((k, v) for k, v in (info.versions if info else {}).items() if v != "unknown")
    versions = ", ".join(f"{k} {v}" for k, v in known)
    return DeviceRow(
        device_id=view.device_id.hex(),
        name=view.name,
        platform=info.platform if info is not None else "",
        versions=versions,
        paired=date(view.device.paired_at),
        last_seen=when(seen, now),
    )


def _page(request: Request, result: ActionResult | None = None) -> HTMLResponse:
    rows, pending = _rows(request)
    return page(request, TEMPLATE, devices=rows, pending=pending, result=result)


@router.get("/devices")
def devices_page(request: Request, session: Session = Depends(require_session)) -> Response:
    return _page(request)


@router.get("/devices/list")
def devices_list(request: Request, session: Session = Depends(require_session)) -> Response:
    rows, pending = _rows(request)
    return fragment(request, "home/_device_list.html", devices=rows, pending=pending)


def _respond(request: Request, result: ActionResult) -> Response:
    return action_response(request, result, lambda: _page(request, result))


@router.post("/devices/pair")
def pair(
    request: Request,
    code: str = Form(""),
    name: str = Form(""),
    session: Session = Depends(require_csrf),
) -> Response:
    """Claim the device that speaks `code` (devices/Claim; named in the same tx if `name`)."""
    code, name = code.strip(), name.strip()

    def build(flows: OwnerDevices) -> list[Msg]:
        msg, pending = flows.claim_msg(code)
        msgs = [msg]
        if name:
            msgs.append(flows.rename_msg(pending.pairing_id, flows.pairing_info(pending), name))
        return msgs

    command = ["device", "claim", code.upper(), *(["--name", name] if name else [])]
    result = owner_action(request, session, what="Pair the device", build=build, command=command)
    return _respond(request, result)


@router.post("/devices/{device_id}/rename")
def rename(
    request: Request,
    device_id: str,
    name: str = Form(""),
    session: Session = Depends(require_csrf),
) -> Response:
    """Give a device a new name (devices/Update, the name sealed with the settings key)."""
    name = name.strip()

    def build(flows: OwnerDevices) -> list[Msg]:
        view = flows.find_device(device_id)
        return [flows.rename_msg(view.device_id, view.info, name)]

    command = ["device", "rename", device_id, name]
    result = owner_action(request, session, what="Rename the device", build=build, command=command)
    return _respond(request, result)


@router.post("/devices/{device_id}/remove")
def remove(request: Request, device_id: str, session: Session = Depends(require_csrf)) -> Response:
    """Remove a device (devices/Remove): its agent can no longer act for it."""

    def build(flows: OwnerDevices) -> list[Msg]:
        return [flows.remove_msg(flows.find_device(device_id))]

    command = ["device", "remove", device_id]
    result = owner_action(request, session, what="Remove the device", build=build, command=command)
    return _respond(request, result)
