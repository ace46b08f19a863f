"""Settings as forms: fields described the way Selene's settingsmeta describes them, rendered as
HTML form controls and read back into typed JSON values.

A field is `{"name", "type", "label", "value", "options", "placeholder"}` with type text, email,
password, number, checkbox, select (options "Label A|a;Label B|b", Selene's form) or label (text
only). A stored password is never put back into a page: its input is empty, and an empty one
leaves the password as it is. The device settings page uses the same shape (DEVICE_FIELDS), so
one template renders both.

    sections = form_sections(meta, values)      # what the template shows
    changes = read_form(meta, form)             # typed values; raises FormError
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voxpop.agent.skill_meta import generated_field, normalize_value

INPUT_TYPES = ("text", "email", "password", "number", "checkbox", "select", "label")
MAX_TEXT = 1000  # characters of one text value

DEVICE_FIELDS: dict[str, Any] = {
    "sections": [
        {
            "name": "How your device speaks to you",
            "fields": [
                {
                    "name": "systemUnit",
                    "type": "select",
                    "label": "Units",
                    "options": "Metric (°C, km)|metric;Imperial (°F, miles)|imperial",
                    "value": "metric",
                },
                {
                    "name": "timeFormat",
                    "type": "select",
                    "label": "Time",
                    "options": "12 hours (3:00 PM)|half;24 hours (15:00)|full",
                    "value": "half",
                },
                {
                    "name": "dateFormat",
                    "type": "select",
                    "label": "Date",
                    "options": "Month/day/year|MDY;Day/month/year|DMY",
                    "value": "MDY",
                },
                {
                    "name": "optIn",
                    "type": "checkbox",
                    "label": "Share anonymous usage to improve voice assistants",
                    "value": False,
                },
            ],
        }
    ]
}


class FormError(ValueError):
    """A form value that does not fit its field: `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Option:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    type: str
    label: str
    value: Any
    options: tuple[Option, ...] = ()
    placeholder: str = ""

    @property
    def text(self) -> str:
        """The value as an input shows it."""
        if self.value is None:
            return ""
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return str(self.value)


@dataclass(frozen=True, slots=True)
class FormSection:
    name: str
    fields: tuple[FormField, ...]


def parse_options(text: Any) -> tuple[Option, ...]:
    """Selene's "Label A|a;Label B|b" (a bare "a" is its own label)."""
    if not isinstance(text, str):
        return ()
    options = []
    for part in text.split(";"):
        if not part.strip():
            continue
        label, sep, value = part.partition("|")
        options.append(Option(label.strip(), (value if sep else label).strip()))
    return tuple(options)


def _kind(field: Mapping[str, Any]) -> str:
    kind = str(field.get("type", "text")).lower()
    return kind if kind in INPUT_TYPES else "text"


def _sections(meta: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    sections = meta.get("sections") or []
    return [s for s in sections if isinstance(s, Mapping)]


def _fields(section: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [f for f in section.get("fields") or [] if isinstance(f, Mapping)]


def form_sections(meta: Mapping[str, Any], values: Mapping[str, Any]) -> list[FormSection]:
    """The form: each section's fields with the current value (`values`, else the default), and
    a section for values the metadata does not describe."""
    out = []
    described = set()
    for section in _sections(meta):
        fields = []
        for field in _fields(section):
            name = str(field.get("name") or "")
            kind = _kind(field)
            if not name and kind != "label":
                continue
            described.add(name)
            default = normalize_value(field) if "value" in field else None
            fields.append(
                FormField(
                    name=name,
                    type=kind,
                    label=str(field.get("label") or name),
                    value=values.get(name, default),
                    options=parse_options(field.get("options")),
                    placeholder=str(field.get("placeholder") or ""),
                )
            )
        out.append(FormSection(str(section.get("name") or ""), tuple(fields)))
    extra = [
        generated_field(name, value)
        for name, value in sorted(values.items())
        if name not in described and not name.startswith("_") and not isinstance(value, dict | list)
    ]
    if extra:
        out.extend(form_sections({"sections": [{"name": "Other settings", "fields": extra}]}, {}))
    return out


def read_form(meta: Mapping[str, Any], form: Mapping[str, Any]) -> dict[str, Any]:
    """The typed values a submitted form sets for the fields `meta` describes (a checkbox absent
    from the form is False). Raises FormError for a value its field cannot hold."""
    values: dict[str, Any] = {}
    for section in _sections(meta):
        for field in _fields(section):
            name = str(field.get("name") or "")
            kind = _kind(field)
            if not name or kind == "label":
                continue
            raw = form.get(name)
            if kind == "checkbox":
                values[name] = raw is not None and str(raw).lower() in ("on", "true", "1", "yes")
                continue
            if raw is None:
                continue  # not on the form: left as it is
            text = str(raw).strip()
            if kind == "password" and not text:
                continue  # a page never shows a stored password: empty means unchanged
            values[name] = _typed(name, kind, text, field)
    return values


def _typed(name: str, kind: str, text: str, field: Mapping[str, Any]) -> Any:
    # Verify the value fits its field's type
    if len(text) > MAX_TEXT:
        raise FormError(name, f"{name}: at most {MAX_TEXT} characters")
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise FormError(name, f"{name}: a number") from None
        if not math.isfinite(number):
            raise FormError(name, f"{name}: a number")
        return int(number) if number.is_integer() and "." not in text else number
    if kind == "select":
        allowed = [o.value for o in parse_options(field.get("options"))]
        if allowed and text not in allowed:
            raise FormError(name, f"{name}: one of {', '.join(allowed)}")
        return text
    if kind == "email" and text and ("@" not in text or " " in text):
        raise FormError(name, f"{name}: an email address")
    return text
