"""Paid services (speech to text, weather, knowledge, geolocation), email to the owner's inbox,
and metrics: the Selene paths devices call, each paid through the owner's PayingClient to the
providers on chain (docs/operations/agent-services.md).

| path | kind | answer |
|---|---|---|
| POST /stt?lang=&limit= | stt | `["text"]` |
| POST /transcribe | stt | `{"transcription": text or null}` (the Mark II) |
| GET /owm/{onecall,weather,forecast,forecast/daily} | weather | OpenWeatherMap's JSON, camelCase |
| GET /wolframAlphaSpoken, /wolframAlphaSimple | knowledge | one line of text |
| GET /wolframAlphaFull | knowledge | Wolfram's Full Results JSON |
| GET /wa | knowledge | Full Results as XML (Selene's old endpoint) |
| GET /geolocation?location= | geolocation | `{"data": {city, coordinate, timezone, ...}}` |
| PUT /device/{uuid}/message | inbox/Post | `{"success": true, ...}` |
| POST /device/{uuid}/metric/{name} | (local) | `{"success": true, "saved": ...}` |
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from voxpop.agent.auth import DeviceSession, current_device, get_agent
from voxpop.agent.paid import ServiceError, paid_call, read_body
from voxpop.agent.responses import camel, error_json, json_ok

if TYPE_CHECKING:
    from voxpop.agent.agent import Agent

log = logging.getLogger(__name__)
router = APIRouter()

OWM_PATHS = frozenset({"onecall", "weather", "forecast", "forecast/daily"})
MAX_QUERY_CHARS = 200
MAX_EMAIL_BYTES = 3_000  # the sealed envelope must fit the inbox's 4,096-byte messages
INBOX_TTL = 28 * 86_400  # under the inbox module's 30-day maximum
METRICS_NS = "metrics"
MAX_METRICS_PER_DEVICE = 1_000  # a ring per device: the oldest is overwritten
SKILL_HANDLER_SYSTEM = "skill_handler"
_METRICS_LOCK = threading.Lock()
LOCATION_RECORD = "location"  # the owner's settings record the device location comes from


def _failure(exc: ServiceError) -> Response:
    return error_json(exc.status, exc.code, exc.message)


def _query(request: Request, *names: str) -> str:
    """The first of `names` in the query string, stripped. Raises ServiceError (400)."""
    for name in names:
        value = request.query_params.get(name)
        if value is not None and value.strip():
            value = value.strip()
            # Verify the question is a question, not a document
            if len(value) > MAX_QUERY_CHARS:
                raise ServiceError(400, "bad_request", f"{name!r} is over {MAX_QUERY_CHARS} chars")
            return value
    raise ServiceError(400, "bad_request", f"the request needs {' or '.join(map(repr, names))}")


def _answer_json(body: bytes) -> Any:
    """A provider's verified answer, parsed. Raises ServiceError (502) if it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ServiceError(502, "bad_answer", "the provider's answer is not JSON") from None


# --- speech to text ----------------------------------------------------------------------------


async def _transcribe(request: Request, agent: Agent, lang: str) -> str:
    audio = await read_body(request, agent.config.max_upload_bytes)
    # Verify there is audio before paying anyone
    if not audio:
        raise ServiceError(400, "bad_audio", "the body holds no audio")
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("audio/"):
        content_type = "audio/x-flac"  # what Selene assumed of every device
    lang = lang.strip().lower() or "en-us"
    answer = await paid_call(
        agent.chain.payer,
        "stt",
        audio,
        content_type=content_type,
        params={"lang": lang},
        language=lang,
    )
    text = _answer_json(answer.body).get("text")
    if not isinstance(text, str):
        raise ServiceError(502, "bad_answer", "the provider's answer has no text")
    return text


@router.post("/stt")
async def stt(
    request: Request,
    lang: str = "en-us",
    limit: int = 1,
    device: DeviceSession = Depends(current_device),
) -> Response:
    """Selene's STT: FLAC in, a list of transcriptions out (one: the providers give one)."""
    try:
        text = await _transcribe(request, get_agent(request), lang)
    except ServiceError as exc:
        return _failure(exc)
    return json_ok([text])


@router.post("/transcribe")
async def transcribe(request: Request, device: DeviceSession = Depends(current_device)) -> Response:
    """The Mark II's STT: `{"transcription": text}`, null when nothing was heard."""
    try:
        text = await _transcribe(request, get_agent(request), request.query_params.get("lang", ""))
    except ServiceError as exc:
        return _failure(exc)
    return json_ok({"transcription": text or None})


# --- weather -----------------------------------------------------------------------------------


@router.get("/owm/{path:path}")
async def owm(
    path: str, request: Request, device: DeviceSession = Depends(current_device)
) -> Response:
    """OpenWeatherMap through a weather provider; keys in camelCase as Selene answered."""
    agent = get_agent(request)
    try:
        # Verify the path is one of the four devices call
        if path not in OWM_PATHS:
            raise ServiceError(404, "not_found", f"no weather endpoint {path!r}")
        params = request.query_params
        query: dict[str, Any] = {"endpoint": path}
        for name in ("q", "units", "lang"):
            value = params.get(name)
            if value:
                query[name] = value
        lat, lon = params.get("lat", ""), params.get("lon", "")
        # Clients send "None" when the device has no location: use the owner's then
        if is_coordinate_pair(f"{lat},{lon}"):
            query.update(lat=lat, lon=lon)
        elif "q" not in query:
            query.update(await _device_coordinates(agent, device))
        answer = await paid_call(agent.chain.payer, "weather", json.dumps(query).encode())
        return json_ok(camel(_answer_json(answer.body)))
    except ServiceError as exc:
        return _failure(exc)


async def _device_coordinates(agent: Agent, device: DeviceSession) -> dict[str, float]:
    """The owner's location as the agent serves it to devices (`/device/{uuid}/location`: the
    owner's `location` settings record, proven or cached), for weather asked without a place.
    Raises ServiceError (400) when there is none."""
    from starlette.concurrency import run_in_threadpool

    from voxpop.agent import selene
    from voxpop.agent.errors import AgentError
    from voxpop.client.errors import VoxClientError

    try:
        raw = await run_in_threadpool(agent.chain.read_record, LOCATION_RECORD)
        doc = json.loads(raw) if raw else None
    except (AgentError, VoxClientError, ValueError) as exc:
        log.debug("no location for weather: %s", exc)
        doc = None
    location = selene.location(doc) if isinstance(doc, dict) else None
    coordinate = location.get("coordinate") if isinstance(location, dict) else None
    if isinstance(coordinate, dict) and {"latitude", "longitude"} <= coordinate.keys():
        return {"lat": coordinate["latitude"], "lon": coordinate["longitude"]}
    raise ServiceError(400, "bad_request", "the request needs lat and lon (or q)")


# --- knowledge ---------------------------------------------------------------------------------


async def _knowledge(request: Request, mode: str) -> Any:
    """The knowledge provider's answer to the question in the query string (`i` or `input`)."""
    agent = get_agent(request)
    question: dict[str, Any] = {"query": _query(request, "i", "input"), "mode": mode}
    units = request.query_params.get("units")
    if units:
        question["units"] = units
    # Clients send "None,None" when the device has no location: ask without one then
    where = request.query_params.get("geolocation")
    if where and is_coordinate_pair(where):
        question["geolocation"] = where
    answer = await paid_call(agent.chain.payer, "knowledge", json.dumps(question).encode())
    return _answer_json(answer.body)


def is_coordinate_pair(value: str) -> bool:
    """Whether `value` is "lat,lon" on the globe (what the knowledge engine takes)."""
    try:
        lat_text, lon_text = value.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        return False
    return abs(lat) <= 90 and abs(lon) <= 180


def _text_answer(doc: Any) -> str:
    text = doc.get("answer") if isinstance(doc, dict) else None
    if not isinstance(text, str):
        raise ServiceError(502, "bad_answer", "the provider's answer has no text")
    return text


@router.get("/wolframAlphaSpoken")
async def wolfram_spoken(
    request: Request, device: DeviceSession = Depends(current_device)
) -> Response:
    try:
        return PlainTextResponse(_text_answer(await _knowledge(request, "spoken")))
    except ServiceError as exc:
        return _no_answer(exc)


@router.get("/wolframAlphaSimple")
async def wolfram_simple(
    request: Request, device: DeviceSession = Depends(current_device)
) -> Response:
    try:
        return PlainTextResponse(_text_answer(await _knowledge(request, "simple")))
    except ServiceError as exc:
        return _no_answer(exc)


def _no_answer(exc: ServiceError) -> Response:
    # Wolfram's v1 APIs answer "no answer" as 501, and Selene passed it on: devices expect it
    if exc.code == "not_found":
        return PlainTextResponse("Wolfram|Alpha did not understand your input", status_code=501)
    return _failure(exc)


@router.get("/wolframAlphaFull")
async def wolfram_full(
    request: Request, device: DeviceSession = Depends(current_device)
) -> Response:
    try:
        return json_ok(camel(await _knowledge(request, "full")))
    except ServiceError as exc:
        return _failure(exc)


@router.get("/wa")
async def wolfram_xml(
    request: Request, device: DeviceSession = Depends(current_device)
) -> Response:
    """Selene's first Wolfram endpoint: the Full Results as Wolfram's XML."""
    try:
        doc = await _knowledge(request, "full")
    except ServiceError as exc:
        return _failure(exc)
    return Response(full_results_xml(doc), media_type="text/xml")


def full_results_xml(doc: Any) -> bytes:
    """Wolfram's XML shape of a Full Results JSON answer: queryresult, pods, subpods with their
    plaintext (what the old clients read)."""
    import xml.etree.ElementTree as ET  # only this old route needs it: not resident otherwise

    result = doc.get("queryresult", {}) if isinstance(doc, dict) else {}
    pods = result.get("pods", []) if isinstance(result, dict) else []
    root = ET.Element(
        "queryresult",
        success=str(bool(result.get("success"))).lower(),
        error=str(bool(result.get("error"))).lower(),
        numpods=str(len(pods)),
    )
    for pod in pods if isinstance(pods, list) else []:
        if not isinstance(pod, dict):
            continue
        attrs = {"title": str(pod.get("title", ""))}
        if pod.get("primary"):
            attrs["primary"] = "true"
        pod_el = ET.SubElement(root, "pod", attrs)
        for sub in pod.get("subpods", []) or []:
            sub_el = ET.SubElement(pod_el, "subpod", title=str(sub.get("title", "")))
            ET.SubElement(sub_el, "plaintext").text = str(sub.get("plaintext", ""))
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml


# --- geolocation -------------------------------------------------------------------------------


@router.get("/geolocation")
async def geolocation(
    request: Request, device: DeviceSession = Depends(current_device)
) -> Response:
    """`{"data": {...}}` with `data.coordinate.latitude/longitude`, what GeolocationApi reads."""
    agent = get_agent(request)
    try:
        location = _query(request, "location")
        body = json.dumps({"location": location}).encode()
        answer = await paid_call(agent.chain.payer, "geolocation", body)
        doc = _answer_json(answer.body)
        # Verify the answer has the part every client reads
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
            raise ServiceError(502, "bad_answer", "the provider's answer has no data")
        return json_ok(camel(doc))
    except ServiceError as exc:
        return _failure(exc)


# --- email to the owner's inbox ----------------------------------------------------------------


def email_text(device_uuid: str, title: str, sender: str, body: str) -> str:
    """The inbox message a device's email becomes (read with `voxpop inbox read`)."""
    return f"From: {sender} (device {device_uuid})\nSubject: {title}\n\n{body}"


@router.put("/device/{uuid}/message")
async def send_email(
    uuid: str, request: Request, device: DeviceSession = Depends(current_device)
) -> Response:
    """A device's email to its owner: sealed to the owner's directory key and posted to the
    owner's inbox on chain (inbox/Post under the owner's grant)."""
    from starlette.concurrency import run_in_threadpool

    agent = get_agent(request)
    try:
        raw = await read_body(request, agent.config.max_body_bytes)
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ServiceError(400, "bad_request", "the body is not JSON") from None
        # Verify the three fields Selene required, each a string
        fields = doc if isinstance(doc, dict) else {}
        if not all(isinstance(fields.get(k), str) for k in ("title", "sender", "body")):
            raise ServiceError(400, "bad_request", "the body needs title, sender and body strings")
        text = email_text(uuid, fields["title"], fields["sender"], fields["body"]).encode()
        # Verify the message fits one inbox message once sealed
        if len(text) > MAX_EMAIL_BYTES:
            raise ServiceError(413, "too_large", f"the message is over {MAX_EMAIL_BYTES} bytes")
        tx_hash = await run_in_threadpool(post_to_inbox, agent, text)
    except ServiceError as exc:
        return _failure(exc)
    return json_ok({"success": True, "txHash": tx_hash})


def post_to_inbox(agent: Agent, plaintext: bytes) -> str:
    """Seal `plaintext` to the owner's proven directory key and post it (inbox/Post in an
    authz/Exec). Returns the tx hash. Raises ServiceError."""
    from voxpop.agent.errors import AgentError, ChainRejectedError
    from voxpop.chain.modules.inbox.messages import MsgPost
    from voxpop.client.errors import VoxClientError

    chain = agent.chain
    try:
        sealed = chain.call(lambda c: c.encrypt_to(chain.owner, plaintext))
        expires_at = int(agent.clock()) + INBOX_TTL
        result = chain.send([MsgPost(owner=chain.owner, ciphertext=sealed, expires_at=expires_at)])
    except ChainRejectedError as exc:
        raise ServiceError(502, exc.code, str(exc)) from None
    except AgentError as exc:
        raise ServiceError(503, exc.code, str(exc)) from None
    except VoxClientError as exc:
        # The owner never published a directory key, or no node could prove it
        raise ServiceError(503, exc.code, str(exc)) from None
    # Verify the chain took the message
    if result.code != 0:
        raise ServiceError(502, "chain_rejected", f"[{result.code}] {result.log}")
    return result.tx_hash.hex() if isinstance(result.tx_hash, bytes) else str(result.tx_hash)


# --- metrics -----------------------------------------------------------------------------------


@router.post("/device/{uuid}/metric/{name:path}")
async def metric(
    uuid: str, name: str, request: Request, device: DeviceSession = Depends(current_device)
) -> Response:
    """A device's metric: kept in the agent's encrypted store only if the owner opted in to
    metrics, forwarded nowhere. An intent handler's timing names the skill that answered: with
    the owner's skill-usage opt-in, that is one use of the skill (royalties)."""
    from starlette.concurrency import run_in_threadpool

    agent = get_agent(request)
    try:
        raw = await read_body(request, agent.config.max_body_bytes)
        try:
            data = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise ServiceError(400, "bad_request", "the body is not JSON") from None
    except ServiceError as exc:
        return _failure(exc)
    opt_in = agent.config.opt_in
    saved = False
    if opt_in.metrics:
        await run_in_threadpool(keep_metric, agent, uuid, name, data)
        saved = True
    counted = False
    skill_id = skill_of_timing(name, data)
    if skill_id is not None and opt_in.skill_usage:
        counted = await run_in_threadpool(count_skill_use, agent, device, skill_id)
    return json_ok(
        {"success": True, "uuid": uuid, "metric": name, "saved": saved, "counted": counted}
    )


def skill_of_timing(name: str, data: Any) -> str | None:
    """The skill an intent handler's timing metric names, else None. mycroft-core and OVOS
    report each handler run as metric `timing` with `system: skill_handler` and the `skill_id`
    (mycroft/metrics report_timing)."""
    if name != "timing" or not isinstance(data, dict):
        return None
    skill_id = data.get("skill_id")
    if data.get("system") != SKILL_HANDLER_SYSTEM or not isinstance(skill_id, str):
        return None
    skill_id = skill_id.strip()
    return skill_id if 0 < len(skill_id) <= MAX_QUERY_CHARS else None


def keep_metric(agent: Agent, uuid: str, name: str, data: Any) -> None:
    """Store the metric in the device's ring of MAX_METRICS_PER_DEVICE (encrypted)."""
    store = agent.store
    record = {"name": name, "data": data, "at": int(agent.clock())}
    with _METRICS_LOCK:  # one slot per metric, even when a device sends several at once
        seq_raw = store.get(METRICS_NS, f"{uuid}/next")
        seq = int(seq_raw) if seq_raw else 0
        store.put_json(METRICS_NS, f"{uuid}/{seq % MAX_METRICS_PER_DEVICE:04d}", record)
        store.put(METRICS_NS, f"{uuid}/next", str(seq + 1).encode())


def stored_metrics(agent: Agent, uuid: str) -> list[dict[str, Any]]:
    """The device's kept metrics, oldest first."""
    rows = [
        json.loads(v)
        for k, v in agent.store.items(METRICS_NS)
        if k.startswith(uuid + "/") and not k.endswith("/next")
    ]
    return sorted(rows, key=lambda r: int(r["at"]))


def count_skill_use(agent: Agent, device: DeviceSession, skill_id: str) -> bool:
    """One use of `skill_id` on `device` for royalties (voxpop.agent.royalties counts it only for
    a skill in the device's skill list, under the owner's per-skill daily cap). Whether counted."""
    from voxpop.agent import royalties

    try:
        return royalties.record_use(agent, device, skill_id, at=int(agent.clock()))
    except Exception as exc:  # a tally failure never fails the device's metric
        log.warning("skill use of %s not counted: %s", skill_id, exc)
        return False
