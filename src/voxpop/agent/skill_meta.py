"""Skill settings in the shapes devices send and read: skill ids, settings metadata ("settingsmeta"
sections of fields), field values, and the three-way merge that keeps an owner's edit from being
overwritten by a device's stale upload. Pure functions: no chain, no store.

Skill ids devices send (`skill_gid`), all answered back under the exact id the device sent:
- `@<device uuid>|<skill>`  skills outside the Mycroft marketplace, and every OVOS skill
  (`@|<skill>` before pairing);
- `<skill>|<branch>`        marketplace skills as mycroft-core's msm names them
  (`mycroft-weather|21.02`);
- `<skill>`                 anything else (the owner's CLI, other tools).
Each maps to one skill key (`<skill>`, lowercase) that names the skill's records on chain, so the
same skill shares its settings across devices whatever id style each device uses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from voxpop.agent.errors import AgentError

MAX_GID_CHARS = 256
_GID_CHARS = re.compile(r"[^\x00-\x1f\x7f/\\]+")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "")
GENERATED_SECTION = "Skill Settings"  # the section made for values with no metadata


class SkillSettingsError(AgentError):
    """A device's skill settings request that cannot be used (answered 400, nothing changed)."""

    code = "invalid_skill_settings"


def skill_key(gid: str) -> str:
    """The skill key of a device's skill id: what names the skill's records on chain.

    Raises SkillSettingsError for an id that is empty, too long, or holds a slash or control
    character (record names are `skill/<key>/...`)."""
    # Verify the id is text of a usable size and characters
    if not isinstance(gid, str) or not 0 < len(gid) <= MAX_GID_CHARS:
        raise SkillSettingsError(f"skill_gid: 1 to {MAX_GID_CHARS} characters", "invalid_skill_gid")
    if _GID_CHARS.fullmatch(gid) is None:
        raise SkillSettingsError("skill_gid: no slash or control characters", "invalid_skill_gid")
    parts = gid.split("|")
    # `@uuid|name[|branch]` names the skill second; `name|branch` and `name` first
    name = parts[1] if parts[0].startswith("@") and len(parts) > 1 else parts[0]
    key = name.strip().lower()
    # Verify something names the skill once the device part and the branch are gone
    if not key or key.startswith("@"):
        raise SkillSettingsError(f"skill_gid {gid!r} names no skill", "invalid_skill_gid")
    return key


def normalize_value(field: Mapping[str, Any]) -> Any:
    """A field's value as a JSON value of its type: settingsmeta files and v1 uploads carry
    strings ("true", "5", "[]"), settings.json carries the native value."""
    value = field.get("value")
    kind = str(field.get("type", "")).lower()
    if not isinstance(value, str):
        return value
    text = value.strip()
    if kind == "checkbox":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        return value
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            return value
        return int(number) if number.is_integer() and "." not in text else number
    if text in ("[]", "{}"):
        return [] if text == "[]" else {}
    if text.lower() in ("none", "null"):
        return None
    return value


def stringify(value: Any) -> str:
    """A value as the v1 API carried it: every field value a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _fields(meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    for section in meta.get("sections") or []:
        if isinstance(section, Mapping):
            fields.extend(dict(f) for f in section.get("fields") or [] if isinstance(f, Mapping))
    return fields


def check_meta(meta: Any) -> dict[str, Any]:
    """A settingsmeta document as stored: `{"sections": [{"name", "fields": [...]}]}`.

    Raises SkillSettingsError for a shape devices never send."""
    if meta is None:
        return {"sections": []}
    # Verify the metadata is an object whose sections are objects with lists of field objects
    if not isinstance(meta, Mapping):
        raise SkillSettingsError("skillMetadata: an object with sections")
    sections = meta.get("sections", [])
    if not isinstance(sections, list):
        raise SkillSettingsError("skillMetadata.sections: a list")
    for section in sections:
        if not isinstance(section, Mapping) or not isinstance(section.get("fields", []), list):
            raise SkillSettingsError("skillMetadata.sections[]: objects with a list of fields")
        for field in section.get("fields", []):
            if not isinstance(field, Mapping) or not isinstance(field.get("name", ""), str):
                raise SkillSettingsError("skillMetadata fields: objects with a text name")
    return {**meta, "sections": [dict(s) for s in sections]}


def values_of(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The values a settingsmeta document carries, by field name (labels and fields without a
    value carry none)."""
    values: dict[str, Any] = {}
    for field in _fields(meta):
        name = field.get("name")
        if name and "value" in field and str(field.get("type", "")).lower() != "label":
            values[str(name)] = normalize_value(field)
    return values


def without_values(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The settingsmeta document with each field's value as its default, normalized (what the
    meta record keeps: a v1 upload's values are a device's, kept in the values records)."""
    sections = []
    for section in meta.get("sections") or []:
        fields = []
        for field in section.get("fields") or []:
            copy = dict(field)
            if "value" in copy:
                copy["value"] = normalize_value(field)
            fields.append(copy)
        sections.append({**section, "fields": fields})
    return {**meta, "sections": sections}


def field_names(meta: Mapping[str, Any]) -> list[str]:
    return [str(f["name"]) for f in _fields(meta) if f.get("name")]


def sections_with_values(
    meta: Mapping[str, Any], values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The v1 answer's sections: the metadata with each field's current value as a string, and
    a generated section for values the metadata does not describe (set through the CLI)."""
    sections: list[dict[str, Any]] = []
    described = set(field_names(meta))
    for section in meta.get("sections") or []:
        fields = []
        for field in section.get("fields") or []:
            copy = dict(field)
            name = copy.get("name")
            if isinstance(name, str) and name in values:
                copy["value"] = stringify(values[name])
            elif "value" in copy:
                copy["value"] = stringify(copy["value"])
            fields.append(copy)
        sections.append({**section, "fields": fields})
    extra = [
        generated_field(name, value)
        for name, value in sorted(values.items())
        if name not in described and not name.startswith("_")
    ]
    if extra:
        sections.append({"name": GENERATED_SECTION, "fields": extra})
    return sections


def generated_field(name: str, value: Any) -> dict[str, Any]:
    """A field for a value with no metadata, typed as OVOS generates them."""
    if isinstance(value, bool):
        kind = "checkbox"
    elif isinstance(value, int | float):
        kind = "number"
    else:
        kind = "text"
    label = name.replace("-", " ").replace("_", " ").title()
    return {"name": name, "type": kind, "label": label, "value": stringify(value)}


def merge_upload(
    current: Mapping[str, Any], base: Mapping[str, Any], upload: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """A device's upload merged into the current values: a three-way merge against `base`, the
    values the device last held from here (a device never synced holds the defaults).

    A field the device changed (upload differs from base) is taken from the upload unless the
    field also changed here since (current differs from base): then the current value stays (an
    owner's edit is never overwritten by a device that had not seen it) and the field is
    returned as a conflict. Fields the upload leaves out are kept. Returns (merged, conflicts)."""
    merged = dict(current)
    conflicts: list[str] = []
    for name, value in upload.items():
        if name in base and base[name] == value:
            continue  # the device did not change it
        if name in current and current.get(name) != base.get(name):
            if current[name] != value:
                conflicts.append(name)
            continue  # changed here since the device last synced: the newer edit stays
        merged[name] = value
    return merged, sorted(conflicts)
