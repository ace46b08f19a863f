"""Settings: each device's settings, the location all devices share (search a place), and skill
settings as forms generated from each skill's settingsMeta, the way Selene did.

All are the owner's encrypted settings records, saved with settings/Put: an owner action (signed
here with the unlocked owner key, else the page shows the `voxpop device|skill ...` command).
Reads go through the agent's settings wrap, so the forms show the current values either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from voxpop.agent.home.actions import ActionResult, owner_action
from voxpop.agent.home.forms import DEVICE_FIELDS, FormError, FormSection, form_sections, read_form
from voxpop.agent.home.places import PlaceSearch
from voxpop.agent.home.reads import owner_read
from voxpop.agent.home.render import action_response, page
from voxpop.agent.home.security import HomeError, require_csrf, require_session
from voxpop.agent.home.session import Session
from voxpop.agent.home.state import home_of
from voxpop.agent.skill_settings import INDEX_NS, meta_name
from voxpop.chain.module import Msg
from voxpop.client.devices import SCOPE_DEVICE, DeviceView, OwnerDevices

router = APIRouter()
TEMPLATE = "home/settings.html"
LOCATION_FIELDS = (
    ("city", "City"),
    ("region", "Region or state"),
    ("country", "Country"),
    ("country_code", "Country code"),
    ("latitude", "Latitude"),
    ("longitude", "Longitude"),
    ("timezone", "Time zone"),
)
_places = PlaceSearch()


@dataclass(frozen=True, slots=True)
class SkillForm:
    key: str
    name: str
    per_device: bool
    sections: list[FormSection]


@dataclass(frozen=True, slots=True)
class SettingsView:
    devices: list[DeviceView]
    device: DeviceView | None
    device_form: list[FormSection]
    location: dict[str, Any]
    skills: list[SkillForm]


def _meta(record: dict[str, Any] | None) -> dict[str, Any]:
    """The settingsMeta in a skill's meta record (`{"display_name", "skillMetadata"}`, as the
    agent writes what devices upload)."""
    meta = (record or {}).get("skillMetadata")
    return meta if isinstance(meta, dict) else {"sections": []}


def _known_skills(request: Request) -> list[tuple[str, str]]:
    """(key, display name) of the skills the owner's devices reported to this agent."""
    store = home_of(request).agent.store
    out = []
    for key, raw in store.items(INDEX_NS):
        entry = json.loads(raw) if raw else {}
        out.append((key, str(entry.get("display_name") or key)))
    return sorted(out, key=lambda s: s[1].lower())


def _view(request: Request, device_ref: str | None) -> SettingsView:
    skills = _known_skills(request)

    def read(flows: OwnerDevices) -> SettingsView:
        devices = sorted(flows.devices(), key=lambda v: v.name.lower())
        chosen = next((v for v in devices if v.device_id.hex() == device_ref), None)
        device = chosen or (devices[0] if devices else None)
        values = flows.device_settings(device.device_id) if device is not None else None
        device_id = device.device_id if device is not None else None
        forms = []
        for key, name in skills:
            meta = _meta(flows.read_json(meta_name(key)))
            per_device = flows.skill_scope(key) == SCOPE_DEVICE
            current = flows.skill_settings(key, device_id if per_device else None) or {}
            forms.append(SkillForm(key, name, per_device, form_sections(meta, current)))
        return SettingsView(
            devices=devices,
            device=device,
            device_form=form_sections(DEVICE_FIELDS, values or {}),
            location=flows.location() or {},
            skills=forms,
        )

    return owner_read(request, read)


def _page(
    request: Request,
    device_ref: str | None,
    result: ActionResult | None = None,
    query: str = "",
) -> HTMLResponse:
    view = _view(request, device_ref)
    # The first search loads the place database (about 60 MB, 1 s): only when the owner searches
    matches = _places.search(query) if query else []
    return page(
        request,
        TEMPLATE,
        view=view,
        result=result,
        query=query,
        matches=matches,
        places_available=_places.available,
        location_fields=LOCATION_FIELDS,
    )


@router.get("/settings")
def settings_page(
    request: Request,
    device: str | None = None,
    q: str = "",
    session: Session = Depends(require_session),
) -> Response:
    return _page(request, device, query=q.strip()[:100])


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}


def _respond(request: Request, result: ActionResult, device: str | None) -> Response:
    return action_response(request, result, lambda: _page(request, device, result))


@router.post("/settings/device/{device_id}")
async def save_device_settings(
    request: Request, device_id: str, session: Session = Depends(require_csrf)
) -> Response:
    """A device's settings (its `device/<id>/settings` record, merged: other keys are kept)."""
    form = await _form(request)
    return await run_in_threadpool(_save_device_settings, request, session, device_id, form)


def _save_device_settings(
    request: Request, session: Session, device_id: str, form: dict[str, str]
) -> Response:
    try:
        changes = read_form(DEVICE_FIELDS, form)
    except FormError as exc:
        raise HomeError(400, "invalid_setting", str(exc)) from None

    def build(flows: OwnerDevices) -> list[Msg]:
        view = flows.find_device(device_id)
        return [flows.set_device_settings_msg(view.device_id, changes)]

    command = ["device", "settings", "set", device_id, *_assignments(changes)]
    what = "Save the device's settings"
    result = owner_action(request, session, what=what, build=build, command=command)
    return _respond(request, result, device_id)


@router.post("/settings/location")
async def save_location(request: Request, session: Session = Depends(require_csrf)) -> Response:
    """The location all the owner's devices share (the `location` record)."""
    form = await _form(request)
    return await run_in_threadpool(_save_location, request, session, form)


def _save_location(request: Request, session: Session, form: dict[str, str]) -> Response:
    changes: dict[str, Any] = {}
    for name, _label in LOCATION_FIELDS:
        text = form.get(name, "").strip()
        if name in ("latitude", "longitude"):
            try:
                number = float(text)
            except ValueError:
                raise HomeError(400, "invalid_setting", f"{name}: a number") from None
            limit = 90 if name == "latitude" else 180
            # Verify the coordinate is on Earth
            if not -limit <= number <= limit:
                raise HomeError(400, "invalid_setting", f"{name}: -{limit} to {limit}")
            changes[name] = number
        elif len(text) > 100:
            raise HomeError(400, "invalid_setting", f"{name}: at most 100 characters")
        else:
            changes[name] = text
    if not changes.get("city"):
        raise HomeError(400, "invalid_setting", "city: required")

    def build(flows: OwnerDevices) -> list[Msg]:
        return [flows.set_location_msg(changes)]

    command = ["device", "location", "set", *_assignments(changes)]
    result = owner_action(request, session, what="Save your location", build=build, command=command)
    return _respond(request, result, form.get("device"))


@router.post("/settings/skill/{skill}")
async def save_skill_settings(
    request: Request, skill: str, session: Session = Depends(require_csrf)
) -> Response:
    """A skill's values from its settingsMeta form (shared, or the chosen device's when the
    skill keeps its settings per device)."""
    form = await _form(request)
    return await run_in_threadpool(_save_skill_settings, request, session, skill, form)


def _save_skill_settings(
    request: Request, session: Session, skill: str, form: dict[str, str]
) -> Response:
    # Verify the skill is one the owner's devices reported
    if skill not in {key for key, _ in _known_skills(request)}:
        raise HomeError(404, "not_found")
    device_ref = form.get("device") or None
    meta = _meta(owner_read(request, lambda f: f.read_json(meta_name(skill))))
    try:
        changes = read_form(meta, form)
    except FormError as exc:
        raise HomeError(400, "invalid_setting", str(exc)) from None

    def build(flows: OwnerDevices) -> list[Msg]:
        device_id = flows.find_device(device_ref).device_id if device_ref else None
        return flows.set_skill_settings_msgs(skill, changes, device_id=device_id)

    command = ["skill", "settings", "set", skill, *_assignments(changes)]
    if device_ref:
        command += ["--device", device_ref]
    what = "Save the skill's settings"
    result = owner_action(request, session, what=what, build=build, command=command)
    return _respond(request, result, device_ref)


def _assignments(changes: dict[str, Any]) -> list[str]:
    """KEY=VALUE as `voxpop ... set` parses them (JSON for non-text values)."""
    return [
        f"{k}={v if isinstance(v, str) and not _json_like(v) else json.dumps(v)}"
        for k, v in sorted(changes.items())
    ]


def _json_like(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
