"""The owner's settings records (flat JSON objects the owner's CLI writes) in the shapes Selene
answered devices with. Pure functions: no chain, no store."""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

DEFAULT_DEVICE_SETTINGS: dict[str, Any] = {
    "dateFormat": "MDY",
    "timeFormat": "half",
    "systemUnit": "metric",
    "optIn": False,
    "ttsSettings": {"module": "mimic", "mimic": {"voice": "ap"}},
}


def device_setting(uuid: str, record: dict[str, Any] | None) -> dict[str, Any]:
    """GET /device/{uuid}/setting: the defaults, then the owner's values for this device.
    `tts_module` / `tts_voice` set the TTS engine in Selene's nested shape."""
    values = dict(record or {})
    setting = {**DEFAULT_DEVICE_SETTINGS, **{k: v for k, v in values.items() if "_" not in k}}
    module = values.get("tts_module")
    if module:
        voice = values.get("tts_voice", "")
        setting["ttsSettings"] = {"module": str(module), str(module): {"voice": str(voice)}}
    setting["uuid"] = uuid
    return setting


def location(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """GET /device/{uuid}/location in Selene's shape, from the owner's flat location record
    (city, region/state, region_code, country, country_code, latitude, longitude, timezone).
    A record already in Selene's nested shape passes as it is. None: no location set."""
    if not record:
        return None
    if isinstance(record.get("city"), dict):
        return record
    tz_name = str(record.get("timezone") or "UTC")
    offset_ms, dst_ms = _tz_offsets(tz_name)
    return {
        "city": {
            "code": str(record.get("city", "")),
            "name": str(record.get("city", "")),
            "state": {
                "code": str(record.get("region_code") or record.get("state_code") or ""),
                "name": str(record.get("region") or record.get("state") or ""),
                "country": {
                    "code": str(record.get("country_code", "")),
                    "name": str(record.get("country", "")),
                },
            },
        },
        "coordinate": {
            "latitude": _float(record.get("latitude")),
            "longitude": _float(record.get("longitude")),
        },
        "timezone": {
            "code": tz_name,
            "name": tz_name,
            "offset": offset_ms,
            "dstOffset": dst_ms,
        },
    }


def etag_of(document: Any) -> str:
    """A strong ETag over a JSON answer: any edit changes it."""
    raw = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return etag in tags or etag.strip('"') in tags


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _tz_offsets(name: str) -> tuple[int, int]:
    """(standard offset, DST offset) of a time zone now, in milliseconds, as Selene gave them."""
    try:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(name)
    except (ImportError, ValueError, KeyError, OSError):
        return 0, 0
    now = datetime.datetime.now(zone)
    utc = now.utcoffset() or datetime.timedelta(0)
    dst = now.dst() or datetime.timedelta(0)
    standard = utc - dst
    return int(standard.total_seconds() * 1000), int(utc.total_seconds() * 1000)
