"""Selene device API: the device itself.

GET / PATCH /device/{uuid}              "am I paired" (401 only when really not) / versions
GET /device/{uuid}/setting              the remote mycroft.conf (ETag, 304)
GET /device/{uuid}/location             the owner's location (ETag, 304)
GET /device/{uuid}/subscription         {"@type": "free"}
GET /device/{uuid}/voice?arch=          {"link": ""}: no premium voices here
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from voxpop.agent import selene
from voxpop.agent.auth import DeviceSession, current_device, get_agent
from voxpop.agent.reports import record_report
from voxpop.agent.responses import error_json, json_ok
from voxpop.agent.routes.pairing import device_report
from voxpop.crypto import encode_address

router = APIRouter()


def device_settings_name(device_id: bytes) -> str:
    return f"device/{device_id.hex()}/settings"


LOCATION_NAME = "location"


def read_json_record(request: Request, name: str) -> dict[str, Any] | None:
    """An owner's settings record as a JSON object (None: never set), proven or from the
    verified cache when no node answers."""
    raw = get_agent(request).chain.read_record(name)
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def cached_json(request: Request, document: Any) -> Response:
    """`document` with its ETag, or 304 when the device already holds it."""
    etag = selene.etag_of(document)
    if selene.etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return json_ok(document, headers={"ETag": etag})


def device_document(request: Request, session: DeviceSession) -> dict[str, Any]:
    record = get_agent(request).devices.record(session.uuid) or {}
    versions = record.get("versions", {})
    return {
        "uuid": session.uuid,
        "name": record.get("name", "voice assistant"),
        "description": record.get("description", ""),
        "coreVersion": versions.get("coreVersion", "unknown"),
        "enclosureVersion": versions.get("enclosureVersion", "unknown"),
        "platform": versions.get("platform", "unknown"),
        "user": {"uuid": encode_address(session.owner)},
    }


@router.get("/device/{uuid}")
def get_device(request: Request, session: DeviceSession = Depends(current_device)) -> Response:
    return cached_json(request, device_document(request, session))


@router.patch("/device/{uuid}")
async def report_versions(
    request: Request, session: DeviceSession = Depends(current_device)
) -> Response:
    from starlette.concurrency import run_in_threadpool

    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return error_json(400, "invalid_json", "the body is not JSON")
    if not isinstance(body, dict):
        return error_json(400, "invalid_json", "the body is a JSON object")
    report = device_report(body)
    await run_in_threadpool(record_report, get_agent(request), session.uuid, report)
    return json_ok(device_document(request, session))


@router.get("/device/{uuid}/setting")
def get_setting(request: Request, session: DeviceSession = Depends(current_device)) -> Response:
    record = read_json_record(request, device_settings_name(session.device_id))
    return cached_json(request, selene.device_setting(session.uuid, record))


@router.get("/device/{uuid}/location")
def get_location(request: Request, session: DeviceSession = Depends(current_device)) -> Response:
    document = selene.location(read_json_record(request, LOCATION_NAME))
    if document is None:
        return error_json(404, "no_location", "the owner has not set a location")
    return cached_json(request, document)


@router.get("/device/{uuid}/subscription")
def get_subscription(_session: DeviceSession = Depends(current_device)) -> Response:
    return json_ok({"@type": "free"})


@router.get("/device/{uuid}/voice")
def get_voice(_session: DeviceSession = Depends(current_device), arch: str = "") -> Response:
    # No premium voices: an empty link, never an empty body
    return json_ok({"link": ""})
