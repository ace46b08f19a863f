"""The real ovos-backend-client 1.0.1 (its own venv) syncing skill settings with the agent:
DeviceApi's skill list, settings metadata and v2/v1 settings calls, and SkillSettingsApi's upload
and download, which writes the owner's values into the device's settings files."""

from __future__ import annotations

import json
import uuid as uuidlib
from pathlib import Path
from typing import Any

import pytest

from tests.agent.conftest import AgentWorld
from tests.agent.ovos_env import run_ovos, write_identity
from tests.agent.test_skill_settings import fields_meta, skill_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def device(
    agent_world: AgentWorld, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    login = agent_world.pair_device("skills-ovos")
    home = tmp_path_factory.mktemp("ovos-skills")
    write_identity(home, login)
    return home, login


def test_device_api_skill_calls(
    agent_world: AgentWorld, device: tuple[Path, dict[str, Any]]
) -> None:
    home, login = device
    skill = f"skill-ovos-{uuidlib.uuid4().hex[:8]}.tests"
    got = run_ovos(
        home,
        agent_world.url,
        f"""
        from ovos_backend_client.api import DeviceApi
        from ovos_backend_client.backends import BackendType
        api = DeviceApi(URL, backend_type=BackendType.PERSONAL)
        skill = {skill!r}
        api.upload_skills_data({{"blacklist": [], "skills": [
            {{"name": skill, "origin": "non-msm", "installation": "installed", "status": "active",
              "beta": True, "installed": 0, "updated": 0, "skill_gid": "@|" + skill}}]}})
        meta = api.upload_skill_metadata({{"skill_gid": "@" + api.uuid + "|" + skill,
            "display_name": "Ovos Test", "skillMetadata": {json.dumps(fields_meta())}}})
        emit({{"meta_status": meta.status_code, "v2": api.get_skill_settings(),
              "v1": api.get_skill_settings_v1()}})
        """,
    )
    gid = f"@{login['uuid']}|{skill}"
    assert got["meta_status"] == 200
    assert got["v2"][gid] == {"units": "metric", "chime": True}
    (entry,) = [e for e in got["v1"] if e["identifier"] == gid]
    fields = entry["skillMetadata"]["sections"][0]["fields"]
    assert [f["value"] for f in fields] == ["metric", "true"]


def test_skill_settings_api_downloads_the_owners_values(
    agent_world: AgentWorld, device: tuple[Path, dict[str, Any]]
) -> None:
    home, _login = device
    skill = f"skill-dl-{uuidlib.uuid4().hex[:8]}.tests"
    # The device has the skill installed with its local settings file (no settingsmeta.json:
    # 1.0.1's get_local_settings cannot read one)
    local = home / ".config" / "mycroft" / "skills" / skill
    local.mkdir(parents=True)
    (local / "settings.json").write_text(json.dumps({"units": "metric"}))
    skill_cli(agent_world, "set", skill, "units=imperial", "volume=7", "chime=true")
    got = run_ovos(
        home,
        agent_world.url,
        f"""
        import json, os
        from ovos_backend_client.api import SkillSettingsApi
        from ovos_backend_client.backends import BackendType
        from ovos_config.config import get_xdg_config_save_path
        api = SkillSettingsApi(URL, backend_type=BackendType.PERSONAL)
        api.upload_skill_settings()
        downloaded = [s.skill_id for s in api.download_skill_settings()]
        path = os.path.join(get_xdg_config_save_path(), "skills", {skill!r}, "settings.json")
        with open(path) as f:
            emit({{"downloaded": downloaded, "settings": json.load(f)}})
        """,
    )
    assert skill in got["downloaded"]
    # The owner's values win over the device's local file, typed back by the client
    assert got["settings"] == {"units": "imperial", "volume": 7.0, "chime": True}
