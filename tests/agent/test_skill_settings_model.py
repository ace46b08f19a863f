"""The skill settings model's pure parts: skill ids to keys, field values as devices send them,
the v1 shapes, and the three-way merge that keeps an owner's edit from a device's stale upload."""

from __future__ import annotations

from typing import Any

import pytest

from voxpop.agent.skill_meta import (
    SkillSettingsError,
    check_meta,
    merge_upload,
    normalize_value,
    sections_with_values,
    skill_key,
    stringify,
    values_of,
    without_values,
)

META: dict[str, Any] = {
    "sections": [
        {
            "name": "Options",
            "fields": [
                {"name": "units", "type": "select", "label": "Units", "value": "metric"},
                {"name": "chime", "type": "checkbox", "label": "Chime", "value": "true"},
                {"name": "volume", "type": "number", "label": "Volume", "value": "5"},
                {"type": "label", "label": "A label carries no value"},
            ],
        }
    ]
}


@pytest.mark.parametrize(
    ("gid", "key"),
    [
        (
            "@0f1e2d3c-aaaa-bbbb-cccc-000000000001|skill-weather.openvoiceos",
            "skill-weather.openvoiceos",
        ),
        ("@|skill-weather.openvoiceos", "skill-weather.openvoiceos"),
        ("mycroft-weather|21.02", "mycroft-weather"),
        ("@abc|mycroft-weather|21.02", "mycroft-weather"),
        ("Skill-Joke.OpenVoiceOS", "skill-joke.openvoiceos"),
    ],
)
def test_skill_key_of_each_id_style(gid: str, key: str) -> None:
    assert skill_key(gid) == key


@pytest.mark.parametrize("gid", ["", "@abc|", "a/b|1", "x\n", "@", "a" * 300])
def test_invalid_skill_key(gid: str) -> None:
    with pytest.raises(SkillSettingsError) as err:
        skill_key(gid)
    assert err.value.code == "invalid_skill_gid"


def test_values_of_a_settingsmeta_are_typed() -> None:
    assert values_of(META) == {"units": "metric", "chime": True, "volume": 5}
    assert normalize_value({"type": "number", "value": "2.5"}) == 2.5
    assert normalize_value({"type": "checkbox", "value": "0"}) is False
    assert normalize_value({"type": "text", "value": "[]"}) == []
    assert normalize_value({"type": "text", "value": "null"}) is None
    assert normalize_value({"type": "checkbox", "value": True}) is True  # native stays native


def test_v1_sections_carry_strings_and_values_without_metadata() -> None:
    sections = sections_with_values(META, {"units": "imperial", "chime": False, "token": "abc"})
    fields = {f.get("name"): f.get("value") for f in sections[0]["fields"]}
    assert fields == {"units": "imperial", "chime": "false", "volume": "5", None: None}
    assert sections[1]["name"] == "Skill Settings"
    assert sections[1]["fields"] == [
        {"name": "token", "type": "text", "label": "Token", "value": "abc"}
    ]
    assert [stringify(v) for v in (True, None, 3, 1.5, [1])] == ["true", "null", "3", "1.5", "[1]"]


def test_stored_metadata_keeps_typed_defaults() -> None:
    stored = without_values(check_meta(META))
    assert stored["sections"][0]["fields"][1]["value"] is True
    assert values_of(stored) == values_of(META)


@pytest.mark.parametrize(
    "meta",
    [
        "x",
        {"sections": "x"},
        {"sections": [{"fields": "x"}]},
        {"sections": [{"fields": [{"name": 3}]}]},
    ],
)
def test_invalid_metadata(meta: Any) -> None:
    with pytest.raises(SkillSettingsError):
        check_meta(meta)


def test_merge_takes_the_devices_own_changes() -> None:
    base = {"units": "metric", "chime": True}
    merged, conflicts = merge_upload(base, base, {"units": "imperial", "chime": True})
    assert merged == {"units": "imperial", "chime": True} and conflicts == []


def test_merge_keeps_an_edit_the_device_had_not_seen() -> None:
    # The owner set imperial after the device last synced; the device changed the chime only
    base = {"units": "metric", "chime": True}
    current = {"units": "imperial", "chime": True}
    merged, conflicts = merge_upload(current, base, {"units": "metric", "chime": False})
    assert merged == {"units": "imperial", "chime": False} and conflicts == []


def test_merge_conflict_keeps_the_stored_value() -> None:
    base = {"units": "metric"}
    current = {"units": "imperial"}
    merged, conflicts = merge_upload(current, base, {"units": "kelvin"})
    assert merged == {"units": "imperial"} and conflicts == ["units"]


def test_merge_of_a_device_never_synced_fills_only_defaults() -> None:
    defaults = {"units": "metric", "chime": True}
    shared = {"units": "imperial", "chime": True}  # set by another device of the owner
    merged, _ = merge_upload(shared, defaults, {"units": "metric", "chime": False, "new": 1})
    assert merged == {"units": "imperial", "chime": False, "new": 1}
