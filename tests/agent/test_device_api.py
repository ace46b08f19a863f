"""The device API as devices use it, one behaviour per test: ovos-backend-client's DeviceApi
unchanged against the agent; `GET /device/{uuid}` answers 401 only when the device is really
unpaired and carries `user.uuid`; settings and location honour If-None-Match with 304 and change
ETag on every edit; 401 bodies are plain text; no 200 is ever empty; each device reaches only
its own data; bodies have a size limit."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.agent.conftest import AgentWorld
from tests.agent.ovos_env import run_ovos, write_identity

pytestmark = pytest.mark.slow


def wait_for(predicate: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.fixture(scope="module")
def login(agent_world: AgentWorld) -> dict[str, Any]:
    return agent_world.pair_device("living-room", platform="mycroft_mark_1")


def test_device_api_of_the_real_client(
    agent_world: AgentWorld, login: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    agent_world.owner_cli(
        "location",
        "set",
        "city=Lisbon",
        "country=Portugal",
        "country_code=PT",
        "latitude=38.72",
        "longitude=-9.14",
        "timezone=Europe/Lisbon",
    )
    # The agent's sync brings the owner's edit into its verified cache
    location_path = f"/v1/device/{login['uuid']}/location"

    def lisbon() -> bool:
        answer = agent_world.http.get(location_path, headers=agent_world.bearer(login))
        return answer.status_code == 200 and answer.json()["city"]["name"] == "Lisbon"

    wait_for(lisbon)
    home = tmp_path_factory.mktemp("ovos-device-api")
    write_identity(home, login)
    got = run_ovos(
        home,
        agent_world.url,
        """
        from ovos_backend_client.api import DeviceApi
        from ovos_backend_client.backends import BackendType
        api = DeviceApi(URL, backend_type=BackendType.PERSONAL)
        api.update_version(core_version="0.0.9", platform="picroft", enclosure_version="1.2")
        emit({
            "device": api.get(),
            "settings": api.get_settings(),
            "location": api.get_location(),
            "subscription": api.get_subscription(),
            "subscriber": api.is_subscriber,
            "voice": api.get_subscriber_voice_url(arch="x86_64"),
            "uuid": api.uuid,
        })
        """,
    )
    device = got["device"]
    assert device["uuid"] == login["uuid"] == got["uuid"]
    assert device["user"]["uuid"] == agent_world.owner_address
    assert (device["coreVersion"], device["platform"], device["enclosureVersion"]) == (
        "0.0.9",
        "picroft",
        "1.2",
    )
    settings = got["settings"]
    assert settings["uuid"] == login["uuid"]
    assert {"dateFormat", "timeFormat", "systemUnit", "optIn", "ttsSettings"} <= set(settings)
    location = got["location"]
    assert location["city"]["name"] == "Lisbon"
    assert location["city"]["state"]["country"]["code"] == "PT"
    assert location["coordinate"] == {"latitude": 38.72, "longitude": -9.14}
    assert location["timezone"]["code"] == "Europe/Lisbon"
    assert got["subscription"] == {"@type": "free"} and got["subscriber"] is False
    assert got["voice"] == ""


def test_owner_settings_reach_the_device_with_a_new_etag(
    agent_world: AgentWorld, login: dict[str, Any]
) -> None:
    http, headers = agent_world.http, agent_world.bearer(login)
    path = f"/v1/device/{login['uuid']}/setting"
    first = http.get(path, headers=headers)
    assert first.status_code == 200 and first.headers["etag"]
    etag = first.headers["etag"]
    # The client sends its ETag and reuses its cache on 304
    again = http.get(path, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    value = "full" if first.json()["timeFormat"] != "full" else "half"
    agent_world.owner_cli("settings", "set", "living-room", f"timeFormat={value}")

    def changed() -> Any:
        answer = http.get(path, headers={**headers, "If-None-Match": etag})
        return answer if answer.status_code == 200 else None

    answer = wait_for(changed)
    assert answer.json()["timeFormat"] == value
    assert answer.headers["etag"] != etag


def test_location_honours_if_none_match(agent_world: AgentWorld, login: dict[str, Any]) -> None:
    http, headers = agent_world.http, agent_world.bearer(login)
    agent_world.owner_cli("location", "set", "city=Porto", "timezone=Europe/Lisbon")
    path = f"/v1/device/{login['uuid']}/location"
    answer = wait_for(
        lambda: (
            (a := http.get(path, headers=headers)).json().get("city", {}).get("name") == "Porto"
            and a
        )
    )
    etag = answer.headers["etag"]
    assert http.get(path, headers={**headers, "If-None-Match": etag}).status_code == 304
    assert http.get(path, headers={**headers, "If-None-Match": '"other"'}).status_code == 200


def test_401_bodies_are_plain_text(agent_world: AgentWorld, login: dict[str, Any]) -> None:
    http = agent_world.http
    uuid = login["uuid"]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        for path in (
            f"/v1/device/{uuid}",
            f"/v1/device/{uuid}/setting",
            f"/v1/device/{uuid}/location",
            f"/v1/device/{uuid}/subscription",
        ):
            answer = http.get(path, headers=headers)
            assert answer.status_code == 401
            assert answer.headers["content-type"].startswith("text/plain")
            with pytest.raises(json.JSONDecodeError):
                json.loads(answer.text)


def test_a_device_reaches_only_its_own_data(agent_world: AgentWorld, login: dict[str, Any]) -> None:
    other = agent_world.pair_device("other-room")
    http = agent_world.http
    # The other device's token on this device's paths: 401, as if it were not paired
    for suffix in ("", "/setting", "/location", "/subscription", "/voice"):
        answer = http.get(f"/v1/device/{login['uuid']}{suffix}", headers=agent_world.bearer(other))
        assert answer.status_code == 401, suffix
    answer = http.patch(
        f"/v1/device/{login['uuid']}",
        json={"coreVersion": "evil"},
        headers=agent_world.bearer(other),
    )
    assert answer.status_code == 401
    mine = http.get(f"/v1/device/{login['uuid']}", headers=agent_world.bearer(login)).json()
    assert mine["coreVersion"] != "evil"


def test_no_200_is_empty(agent_world: AgentWorld, login: dict[str, Any]) -> None:
    http, headers = agent_world.http, agent_world.bearer(login)
    uuid = login["uuid"]
    answers = [
        http.get(f"/v1/device/{uuid}", headers=headers),
        http.patch(f"/v1/device/{uuid}", json={"coreVersion": "21.2.2"}, headers=headers),
        http.get(f"/v1/device/{uuid}/setting", headers=headers),
        http.get(f"/v1/device/{uuid}/location", headers=headers),
        http.get(f"/v1/device/{uuid}/subscription", headers=headers),
        http.get(f"/v1/device/{uuid}/voice", params={"arch": "arm"}, headers=headers),
        http.get("/v1/device/code", params={"state": "nonempty"}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.request.url
        assert answer.content and json.loads(answer.content) is not None


def test_unpaired_only_when_the_owner_removed_it(agent_world: AgentWorld) -> None:
    doomed = agent_world.pair_device("doomed")
    http, headers = agent_world.http, agent_world.bearer(doomed)
    assert http.get(f"/v1/device/{doomed['uuid']}", headers=headers).status_code == 200
    agent_world.owner_cli("remove", "doomed")

    def unpaired() -> bool:
        return http.get(f"/v1/device/{doomed['uuid']}", headers=headers).status_code == 401

    wait_for(unpaired)
    answer = http.get(f"/v1/device/{doomed['uuid']}", headers=headers)
    assert answer.headers["content-type"].startswith("text/plain")
    # Its refresh token died with it
    refresh = {"Authorization": f"Bearer {doomed['refreshToken']}", "Device": doomed["uuid"]}
    assert http.get("/v1/auth/token", headers=refresh).status_code == 401


def test_invalid_bodies_are_refused_and_change_nothing(
    agent_world: AgentWorld, login: dict[str, Any]
) -> None:
    http, headers = agent_world.http, agent_world.bearer(login)
    path = f"/v1/device/{login['uuid']}"
    before = http.get(path, headers=headers).json()
    too_big = http.patch(path, content=b"{" + b" " * 200_000 + b"}", headers=headers)
    assert too_big.status_code == 413 and too_big.json()["error"] == "body_too_large"
    not_json = http.patch(path, content=b"nope", headers=headers)
    assert not_json.status_code == 400 and not_json.json()["error"] == "invalid_json"
    # A refused activation is never JSON: ovos-backend-client would save it as its identity
    for bad in (["not", "an", "object"], {"state": "s"}, {"state": 1, "token": "t"}):
        bad_activate = http.post("/v1/device/activate", json=bad)
        assert bad_activate.status_code == 400
        assert bad_activate.headers["content-type"].startswith("text/plain")
    assert http.get("/v1/device/code").status_code == 400  # no state
    assert http.get(path, headers=headers).json() == before
