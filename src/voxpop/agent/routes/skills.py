"""Selene device API: skills and their settings (the sync model is skill_settings.py).

| method, path | what | answer |
|---|---|---|
| PUT /device/{uuid}/skillJson | the installed skills (royalties count only these) | `{}` |
| PUT /device/{uuid}/settingsMeta | a skill's settings metadata; any order | `{}` |
| GET /device/{uuid}/skill/settings | values by skill id (v2); ETag, 304 | `{gid: {field: value}}` |
| GET /device/{uuid}/skill[?identifier=] | skills with values in their metadata (v1) | `[{...}]` |
| GET /device/{uuid}/skill/{gid} | one skill, v1 shape | `{...}` or 404 |
| PUT /device/{uuid}/skill | a device's values (v1, two-way) | `{"uuid": ...}` |
| DELETE /device/{uuid}/skill/{gid} | the device uninstalled the skill | `{}` |

Answers are never empty bodies (clients call `.json()` on them); bad input is a 400 with a
stable code and changes nothing; with no node answering, reads come from the verified cache and
writes answer 503 (devices upload again later).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from voxpop.agent import selene
from voxpop.agent.auth import DeviceSession, current_device, get_agent
from voxpop.agent.responses import error_json, json_ok
from voxpop.agent.skill_meta import SkillSettingsError, values_of
from voxpop.agent.skill_settings import SkillSync, SkillView, skill_sync

router = APIRouter()


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object. Raises SkillSettingsError."""
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise SkillSettingsError("the body is not JSON", "invalid_json") from None
    # Verify the body is a JSON object
    if not isinstance(body, dict):
        raise SkillSettingsError("the body is a JSON object", "invalid_json")
    return body


def bad_request(exc: SkillSettingsError) -> Response:
    return error_json(400, exc.code, str(exc))


def sync_of(request: Request) -> SkillSync:
    return skill_sync(get_agent(request))


def gid_of(body: dict[str, Any]) -> str:
    """The skill id a body names: `skill_gid`, or v1's `identifier`. Raises SkillSettingsError."""
    gid = body.get("skill_gid") or body.get("identifier")
    # Verify the body names its skill
    if not isinstance(gid, str):
        raise SkillSettingsError("skill_gid (or identifier): the skill's id", "invalid_skill_gid")
    return gid


def fresh_or_304(
    request: Request, sync: SkillSync, uuid: str, document: Any, etag: str, views: list[SkillView]
) -> Response:
    """`document` with its ETag, or 304 when the device holds it already. A 200 means the
    device now holds these values: they are the base its next upload is merged against."""
    if selene.etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    for view in views:
        sync.mark_seen(uuid, view.key, view.values)
    return json_ok(document, headers={"ETag": etag})


@router.put("/device/{uuid}/skillJson")
async def put_skill_list(
    request: Request, session: DeviceSession = Depends(current_device)
) -> Response:
    try:
        body = await json_body(request)
        skills = body.get("skills", [])
        # Verify the manifest lists its skills
        if not isinstance(skills, list):
            raise SkillSettingsError("skills: a list of installed skills")
        count = await run_in_threadpool(sync_of(request).set_skill_list, session, skills)
    except SkillSettingsError as exc:
        return bad_request(exc)
    return json_ok({"skills": count})


@router.put("/device/{uuid}/settingsMeta")
async def put_settings_meta(
    request: Request, session: DeviceSession = Depends(current_device)
) -> Response:
    try:
        body = await json_body(request)
        gid = gid_of(body)
        display = body.get("display_name")
        display_name = display if isinstance(display, str) and display else None
        await run_in_threadpool(
            sync_of(request).put_meta, session, gid, display_name, body.get("skillMetadata")
        )
    except SkillSettingsError as exc:
        return bad_request(exc)
    return json_ok({})


@router.get("/device/{uuid}/skill/settings")
async def get_skill_settings(
    request: Request, session: DeviceSession = Depends(current_device)
) -> Response:
    sync = sync_of(request)
    document, etag, views = await run_in_threadpool(sync.settings_v2, session)
    return fresh_or_304(request, sync, session.uuid, document, etag, views)


@router.get("/device/{uuid}/skill")
async def get_skills_v1(
    request: Request,
    identifier: str | None = None,
    session: DeviceSession = Depends(current_device),
) -> Response:
    sync = sync_of(request)
    skills, etag, views = await run_in_threadpool(sync.settings_v1, session, identifier)
    return fresh_or_304(request, sync, session.uuid, skills, etag, views)


@router.get("/device/{uuid}/skill/{gid}")
async def get_skill_v1(
    request: Request, gid: str, session: DeviceSession = Depends(current_device)
) -> Response:
    sync = sync_of(request)
    skills, etag, views = await run_in_threadpool(sync.settings_v1, session, gid)
    chosen = [s for s in skills if s["skill_gid"] == gid] or skills
    if not chosen:
        return error_json(404, "unknown_skill", "this device reported no such skill")
    return fresh_or_304(request, sync, session.uuid, chosen[0], etag, views)


@router.put("/device/{uuid}/skill")
async def put_skill_v1(
    request: Request, session: DeviceSession = Depends(current_device)
) -> Response:
    from voxpop.agent.skill_settings import skill_uuid

    try:
        body = await json_body(request)
        gid = gid_of(body)
        meta = body.get("skillMetadata")
        values = values_of(meta) if isinstance(meta, dict) else {}
        key, conflicts = await run_in_threadpool(
            sync_of(request).upload_values, session, gid, values, meta
        )
    except SkillSettingsError as exc:
        return bad_request(exc)
    return json_ok({"uuid": skill_uuid(key), "kept": conflicts})


@router.delete("/device/{uuid}/skill/{gid}")
async def delete_skill(
    request: Request, gid: str, session: DeviceSession = Depends(current_device)
) -> Response:
    try:
        known = await run_in_threadpool(sync_of(request).forget_skill, session, gid)
    except SkillSettingsError as exc:
        return bad_request(exc)
    return json_ok({"removed": known})
