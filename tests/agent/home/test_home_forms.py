"""Settings forms from settingsMeta (home/forms.py): what a form shows reads back as the same
typed values, and a value that does not fit its field is refused with its name."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxpop.agent.home.forms import (
    DEVICE_FIELDS,
    FormError,
    FormSection,
    form_sections,
    parse_options,
    read_form,
)

META: dict[str, Any] = {
    "sections": [
        {
            "name": "Forecast",
            "fields": [
                {"type": "label", "label": "Text only"},
                {"name": "units", "type": "select", "options": "Metric|metric;Imperial|imperial"},
                {"name": "hourly", "type": "checkbox", "value": "true"},
                {"name": "days", "type": "number", "value": "3"},
                {"name": "city", "type": "text", "value": ""},
                {"name": "secret", "type": "password"},
                {"name": "mail", "type": "email"},
            ],
        }
    ]
}


def submitted(sections: list[FormSection]) -> dict[str, str]:
    """What a browser submits for the form as shown (an unchecked box sends nothing)."""
    form = {}
    for section in sections:
        for field in section.fields:
            if field.type == "label":
                continue
            if field.type == "password":
                form[field.name] = ""
            elif field.type == "checkbox":
                if field.value is True:
                    form[field.name] = "true"
            else:
                form[field.name] = field.text
    return form


def test_a_new_password_is_taken() -> None:
    assert read_form(META, {"secret": " s3cret "})["secret"] == "s3cret"


# Text as a person types it: the form trims the spaces around it
texts = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF), max_size=40).filter(
    lambda t: t == t.strip()
)
values = st.fixed_dictionaries(
    {
        "units": st.sampled_from(["metric", "imperial"]),
        "hourly": st.booleans(),
        "days": st.integers(-(10**9), 10**9),
        "city": texts,
        "secret": texts,
        "mail": st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.org", fullmatch=True),
    }
)


@settings(max_examples=40, deadline=None)
@given(values)
def test_a_form_reads_back_the_values_it_shows(current: dict[str, Any]) -> None:
    # A password is never shown: its empty input leaves it as it is
    unchanged = {k: v for k, v in current.items() if k != "secret"}
    assert read_form(META, submitted(form_sections(META, current))) == unchanged


def test_defaults_show_until_a_value_is_set() -> None:
    (section,) = form_sections(META, {})
    shown = {f.name: f.value for f in section.fields if f.name}
    assert shown["hourly"] is True and shown["days"] == 3 and shown["units"] is None
    assert [o.value for o in section.fields[1].options] == ["metric", "imperial"]


def test_values_without_metadata_get_their_own_section() -> None:
    sections = form_sections({"sections": []}, {"volume": 7, "loud": False, "_hidden": 1})
    (extra,) = sections
    assert [(f.name, f.type) for f in extra.fields] == [("loud", "checkbox"), ("volume", "number")]


@pytest.mark.parametrize(
    ("field", "text"),
    [("units", "kelvin"), ("days", "three"), ("days", "nan"), ("mail", "not an address")],
)
def test_a_value_that_does_not_fit_is_refused(field: str, text: str) -> None:
    form = {"units": "metric", "days": "1", "mail": "a@b.org", field: text}
    with pytest.raises(FormError) as caught:
        read_form(META, form)
    assert caught.value.field == field


def test_the_device_form_has_selenes_settings() -> None:
    form = {"systemUnit": "imperial", "timeFormat": "full", "dateFormat": "DMY"}
    assert read_form(DEVICE_FIELDS, form) == {**form, "optIn": False}
    assert [o.label for o in parse_options("A|a;b")] == ["A", "b"]
