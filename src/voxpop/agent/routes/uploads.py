"""Wake-word sample uploads: `POST /v1/device/{uuid}/wake-word-file` (mycroft-core, OVOS) and
`POST /precise/upload` (the older path, outside /v1: `root_router`). Multipart `audio` +
`metadata`, labelled `application/json` by the clients (voxpop.agent.uploads reads the boundary
from the body). Kept only when the owner opted in (`[opt_in] uploads = true`), encrypted at once
into the agent's local store; otherwise refused with 403 `upload_not_opted_in` and nothing read.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from voxpop.agent.auth import DeviceSession, current_device, get_agent
from voxpop.agent.paid import ServiceError, read_body
from voxpop.agent.responses import error_json, json_ok
from voxpop.agent.uploads import UploadError, UploadNotOptedInError, read_sample, save_sample

router = APIRouter()
root_router = APIRouter()  # mounted without the /v1 prefix


async def _upload(request: Request, device: DeviceSession, kind: str) -> Response:
    agent = get_agent(request)
    try:
        # Verify the owner opted in before reading a byte of the sample
        if not agent.config.opt_in.uploads:
            raise UploadNotOptedInError("the owner has not opted in to keeping samples")
        body = await read_body(request, agent.config.max_upload_bytes)
        sample = read_sample(
            body,
            device=device.uuid,
            kind=kind,
            now=int(agent.clock()),
            max_bytes=agent.config.max_upload_bytes,
        )
        await run_in_threadpool(save_sample, agent.store, sample)
    except UploadError as exc:
        return error_json(exc.status, exc.code, str(exc))
    except ServiceError as exc:
        return error_json(exc.status, exc.code, exc.message)
    return json_ok({"success": True, "saved": True, "sha256": sample.digest})


@router.post("/device/{uuid}/wake-word-file")
async def wake_word_file(
    uuid: str, request: Request, device: DeviceSession = Depends(current_device)
) -> Response:
    return await _upload(request, device, "wake-word")


@root_router.post("/precise/upload")
async def precise_upload(
    request: Request, device: DeviceSession = Depends(current_device)
) -> Response:
    return await _upload(request, device, "precise")
