"""Skill settings sync through the agent (a real `voxpop agent start` on a real solo node), spoken
over HTTP as mycroft-core and OVOS devices speak it: skill lists, settings metadata, v2 values
with ETags, v1 two-way settings, deletes; shared and per-device values set by the owner's CLI;
uploads in any order; a new device inheriting; a stale upload never overwriting the owner."""

from __future__ import annotations

import json
import uuid as uuidlib
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.agent.conftest import AgentWorld

pytestmark = pytest.mark.slow


def fields_meta(units: str = "metric", chime: str = "true") -> dict[str, Any]:
    return {
        "sections": [
            {
                "name": "Options",
                "fields": [
                    {"name": "units", "type": "text", "label": "Units", "value": units},
                    {"name": "chime", "type": "checkbox", "label": "Chime", "value": chime},
                ],
            }
        ]
    }


def unique(name: str) -> str:
    """A skill name no other test of the session uses (the owner's skills are shared)."""
    return f"skill-{name}-{uuidlib.uuid4().hex[:8]}.tests"


def skill_cli(world: AgentWorld, *args: str) -> Any:
    """`voxpop skill settings ...` as the owner, JSON out."""
    from voxpop.cli.skill import skill_app

    options = [
        *("--node", world.node.url, "--home", str(world.node.home)),
        *("--keyring-backend", "test", "--key", "owner", "--output", "json"),
    ]
    env = {"VOXPOP_KEYRING_PASSPHRASE": None, "VOXPOP_OWNER_KEY": None, "VOXPOP_HOME": None}
    result = CliRunner().invoke(skill_app, ["settings", *args, *options], env=env)
    assert result.exit_code == 0, (result.stdout, result.exception)
    return json.loads(result.stdout) if result.stdout.strip() else {}


class Device:
    """A paired device speaking the skill routes."""

    def __init__(self, world: AgentWorld, name: str) -> None:
        self.world = world
        self.login = world.pair_device(name)
        self.uuid: str = self.login["uuid"]
        self.headers = world.bearer(self.login)
        self.path = f"/v1/device/{self.uuid}"

    def put(self, tail: str, body: Any) -> Any:
        return self.world.http.put(self.path + tail, json=body, headers=self.headers)

    def get(self, tail: str, etag: str | None = None, **params: str) -> Any:
        headers = {**self.headers, **({"If-None-Match": etag} if etag else {})}
        return self.world.http.get(self.path + tail, headers=headers, params=params)

    def manifest(self, *gids: str) -> None:
        skills = [
            {
                "name": gid.split("|")[-1] if gid.startswith("@") else gid.split("|")[0],
                "origin": "cli",
                "installation": "installed",
                "status": "active",
                "beta": False,
                "installed": 0,
                "updated": 0,
                "skill_gid": gid,
            }
            for gid in gids
        ]
        answer = self.put("/skillJson", {"blacklist": [], "skills": skills})
        assert answer.status_code == 200 and answer.json() == {"skills": len(gids)}

    def meta(self, gid: str, meta: dict[str, Any]) -> None:
        body = {"skill_gid": gid, "display_name": "Test", "skillMetadata": meta}
        answer = self.put("/settingsMeta", body)
        assert answer.status_code == 200 and answer.json() == {}, answer.text

    def settings(self) -> tuple[dict[str, Any], str]:
        answer = self.get("/skill/settings")
        assert answer.status_code == 200, answer.text
        return answer.json(), answer.headers["etag"]

    def upload_v1(self, gid: str, **values: str) -> Any:
        meta = fields_meta(values.get("units", "metric"), values.get("chime", "true"))
        answer = self.put("/skill", {"skill_gid": gid, "skillMetadata": meta})
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def kitchen(agent_world: AgentWorld) -> Device:
    return Device(agent_world, "skills-kitchen")


@pytest.fixture(scope="module")
def office(agent_world: AgentWorld) -> Device:
    return Device(agent_world, "skills-office")


def test_meta_defaults_reach_the_device_with_an_etag_and_304(kitchen: Device) -> None:
    skill = unique("weather")
    gid = f"@{kitchen.uuid}|{skill}"
    kitchen.manifest(gid)
    kitchen.meta(gid, fields_meta())
    doc, etag = kitchen.settings()
    assert doc[gid] == {"units": "metric", "chime": True}
    again = kitchen.get("/skill/settings", etag)
    assert again.status_code == 304 and again.content == b""


def test_settings_uploaded_before_the_skill_list_are_kept(kitchen: Device) -> None:
    skill = unique("early")
    gid = f"@{kitchen.uuid}|{skill}"
    kitchen.meta(gid, fields_meta(units="kelvin"))  # no skillJson yet
    kitchen.upload_v1(gid, units="rankine")
    kitchen.manifest(gid)
    doc, _ = kitchen.settings()
    assert doc[gid] == {"units": "rankine", "chime": True}


def test_both_id_styles_share_one_skill_under_the_exact_ids(
    kitchen: Device, office: Device
) -> None:
    skill = unique("datetime")
    ovos_gid, msm_gid = f"@{kitchen.uuid}|{skill}", f"{skill}|21.02"
    kitchen.manifest(ovos_gid)
    office.manifest(msm_gid)
    kitchen.meta(ovos_gid, fields_meta())
    kitchen.settings()
    kitchen.upload_v1(ovos_gid, units="imperial")
    kitchen_doc, _ = kitchen.settings()
    office_doc, _ = office.settings()
    assert kitchen_doc[ovos_gid]["units"] == office_doc[msm_gid]["units"] == "imperial"
    assert msm_gid not in kitchen_doc and ovos_gid not in office_doc


def test_owner_edit_changes_the_etag_and_survives_a_stale_upload(
    agent_world: AgentWorld, kitchen: Device
) -> None:
    skill = unique("stale")
    gid = f"@{kitchen.uuid}|{skill}"
    kitchen.manifest(gid)
    kitchen.meta(gid, fields_meta())
    doc, etag = kitchen.settings()  # the device holds units=metric, chime=true
    assert doc[gid] == {"units": "metric", "chime": True}

    # The owner edits the units (the web/CLI) while the device is not polling
    skill_cli(agent_world, "set", skill, "units=imperial")
    # The device, still holding metric, uploads its own chime change with its stale units
    answer = kitchen.upload_v1(gid, units="metric", chime="false")
    assert answer["kept"] == []
    # Its next poll: a new ETag, the owner's units and its own chime
    changed = kitchen.get("/skill/settings", etag)
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()[gid] == {"units": "imperial", "chime": False}
    assert skill_cli(agent_world, "get", skill)["settings"]["units"] == "imperial"


def test_an_edit_setting_the_same_value_still_changes_the_etag(
    agent_world: AgentWorld, kitchen: Device
) -> None:
    skill = unique("same")
    gid = f"@{kitchen.uuid}|{skill}"
    kitchen.manifest(gid)
    skill_cli(agent_world, "set", skill, "units=metric")
    _, etag = kitchen.settings()
    skill_cli(agent_world, "set", skill, "units=metric")
    again = kitchen.get("/skill/settings", etag)
    assert again.status_code == 200 and again.headers["etag"] != etag


def test_a_new_device_inherits_the_shared_settings(
    agent_world: AgentWorld, kitchen: Device
) -> None:
    skill = unique("inherit")
    gid = f"@{kitchen.uuid}|{skill}"
    kitchen.manifest(gid)
    kitchen.meta(gid, fields_meta())
    kitchen.settings()
    kitchen.upload_v1(gid, units="imperial", chime="false")

    newcomer = Device(agent_world, "skills-newcomer")
    doc, _ = newcomer.settings()  # before it reports any skill
    assert doc[skill] == {"units": "imperial", "chime": False}

    # A device that uploads the defaults it ships with before it ever downloads overwrites
    # nothing: it gets the shared values back
    fresh = Device(agent_world, "skills-fresh")
    fresh_gid = f"{skill}|21.02"
    fresh.manifest(fresh_gid)
    fresh.upload_v1(fresh_gid, units="metric", chime="true")
    doc, _ = fresh.settings()
    assert doc[fresh_gid] == {"units": "imperial", "chime": False}


def test_settings_per_device_when_the_owner_says_so(
    agent_world: AgentWorld, kitchen: Device, office: Device
) -> None:
    skill = unique("perdevice")
    kitchen_gid, office_gid = f"@{kitchen.uuid}|{skill}", f"@{office.uuid}|{skill}"
    kitchen.manifest(kitchen_gid)
    office.manifest(office_gid)
    kitchen.meta(kitchen_gid, fields_meta())
    skill_cli(agent_world, "set", skill, "units=imperial")
    skill_cli(
        agent_world, "set", skill, "--scope", "device", "--device", "skills-kitchen", "units=kelvin"
    )
    assert kitchen.settings()[0][kitchen_gid]["units"] == "kelvin"
    assert office.settings()[0][office_gid]["units"] == "imperial"  # inherits the shared
    # The office's own change is its own: the kitchen keeps kelvin
    office.upload_v1(office_gid, units="rankine")
    assert office.settings()[0][office_gid]["units"] == "rankine"
    assert kitchen.settings()[0][kitchen_gid]["units"] == "kelvin"
    got = skill_cli(agent_world, "get", skill, "--device", "skills-office")
    assert got["scope"] == "device" and got["settings"]["units"] == "rankine"


def test_v1_answers_with_identifier_and_string_values(kitchen: Device) -> None:
    skill = unique("v1")
    gid = f"{skill}|21.02"
    kitchen.manifest(gid)
    kitchen.meta(gid, fields_meta(chime="false"))
    answer = kitchen.get("/skill", identifier=gid)
    assert answer.status_code == 200 and answer.headers["etag"]
    (entry,) = answer.json()
    assert entry["identifier"] == entry["skill_gid"] == gid
    fields = entry["skillMetadata"]["sections"][0]["fields"]
    assert [(f["name"], f["value"]) for f in fields] == [("units", "metric"), ("chime", "false")]
    assert kitchen.get("/skill", answer.headers["etag"], identifier=gid).status_code == 304
    # The v1 upload is two-way: what the device PUTs comes back
    put = kitchen.upload_v1(gid, units="imperial", chime="true")
    assert put["uuid"] == entry["uuid"]
    one = kitchen.get(f"/skill/{gid}")
    assert one.status_code == 200
    values = {f["name"]: f["value"] for f in one.json()["skillMetadata"]["sections"][0]["fields"]}
    assert values == {"units": "imperial", "chime": "true"}


def test_delete_takes_the_skill_off_the_device(kitchen: Device, office: Device) -> None:
    skill = unique("gone")
    gid = f"@{kitchen.uuid}|{skill}"
    kitchen.manifest(gid)
    kitchen.meta(gid, fields_meta())
    assert gid in kitchen.settings()[0]
    answer = kitchen.world.http.delete(f"{kitchen.path}/skill/{gid}", headers=kitchen.headers)
    assert answer.status_code == 200 and answer.json() == {"removed": True}
    doc, _ = kitchen.settings()
    assert gid not in doc and skill not in doc
    assert skill in office.settings()[0]  # other devices keep the owner's skill


@pytest.mark.parametrize(
    ("tail", "body", "code"),
    [
        ("/settingsMeta", {"skill_gid": "x|1", "skillMetadata": "nope"}, "invalid_skill_settings"),
        ("/settingsMeta", {"skillMetadata": {"sections": []}}, "invalid_skill_gid"),
        ("/skill", {"skill_gid": "a/b|1", "skillMetadata": {"sections": []}}, "invalid_skill_gid"),
        ("/skillJson", {"skills": "all of them"}, "invalid_skill_settings"),
        ("/skillJson", {"skills": [{"name": 5}]}, "invalid_skill_settings"),
        ("/skill", ["not", "an", "object"], "invalid_json"),
    ],
)
def test_invalid_uploads_are_refused_and_change_nothing(
    kitchen: Device, tail: str, body: Any, code: str
) -> None:
    _doc, etag = kitchen.settings()
    answer = kitchen.put(tail, body)
    assert answer.status_code == 400 and answer.json()["error"] == code
    assert kitchen.get("/skill/settings", etag).status_code == 304


def test_another_devices_settings_get_a_plain_401(kitchen: Device, office: Device) -> None:
    answer = kitchen.world.http.get(f"{office.path}/skill/settings", headers=kitchen.headers)
    assert answer.status_code == 401
    assert not answer.headers["content-type"].startswith("application/json")
    put = kitchen.world.http.put(
        f"{office.path}/skillJson", json={"skills": []}, headers=kitchen.headers
    )
    assert put.status_code == 401


def test_with_no_node_settings_answer_from_the_verified_cache(
    agent_world: AgentWorld, kitchen: Device
) -> None:
    skill = unique("offline")
    gid = f"@{kitchen.uuid}|{skill}"
    kitchen.manifest(gid)
    kitchen.meta(gid, fields_meta())
    kitchen.upload_v1(gid, units="imperial")
    online, etag = kitchen.settings()
    agent_world.stop_node()
    try:
        offline = kitchen.get("/skill/settings")
        assert offline.status_code == 200 and offline.json() == online
        assert offline.headers["etag"] == etag
        assert kitchen.get("/skill/settings", etag).status_code == 304
        # The skill list is the agent's own; writes need a node and say so
        kitchen.manifest(gid)
        refused = kitchen.put("/skill", {"skill_gid": gid, "skillMetadata": fields_meta("kelvin")})
        assert refused.status_code == 503 and refused.json()["error"] == "chain_unavailable"
    finally:
        agent_world.restart_node()
    kitchen.upload_v1(gid, units="kelvin")
    assert kitchen.settings()[0][gid]["units"] == "kelvin"


def test_a_skill_without_settings_is_answered_with_no_values(kitchen: Device) -> None:
    skill = unique("plain")
    gid = f"{skill}|21.02"
    # mycroft-core uploads just the id and name for a skill with no settingsmeta file
    answer = kitchen.put("/settingsMeta", {"skill_gid": gid, "display_name": "Plain"})
    assert answer.status_code == 200 and answer.json() == {}
    assert kitchen.settings()[0][gid] == {}


def test_a_canary_in_skill_settings_is_never_in_node_or_agent_bytes(
    agent_world: AgentWorld, kitchen: Device
) -> None:
    from tests.support.canary import bytes_scanned, scan

    canary = "CANARY" + uuidlib.uuid4().hex.upper()
    skill = f"skill-{canary.lower()}.tests"
    gid = f"@{kitchen.uuid}|{skill}"
    kitchen.manifest(gid)
    meta = fields_meta(units=f"units-{canary}")
    meta["sections"][0]["fields"][0]["label"] = f"label-{canary}"
    kitchen.meta(gid, meta)
    kitchen.upload_v1(gid, units=f"mine-{canary}")
    # The owner reads it back, decrypted: it is on chain, sealed
    assert skill_cli(agent_world, "get", skill)["settings"]["units"] == f"mine-{canary}"
    roots = [agent_world.node.home, agent_world.agent.home]
    needles = {"canary": canary.encode(), "lower": canary.lower().encode()}
    assert scan(roots, needles) == {"canary": [], "lower": []}
    assert bytes_scanned([agent_world.node.home]) > 0
