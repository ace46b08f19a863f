"""Version-checked skill settings writes against a real solo node: a device upload racing the
owner's edit never overwrites it. The race is real: the owner's tx lands between the agent's read
and its write, and settings/Put's version check refuses the agent's stale version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.agent_app import bearer, local_agent
from voxpop.agent.agent import Agent
from voxpop.agent.errors import ChainRejectedError
from voxpop.agent.provision import provision_agent
from voxpop.agent.skill_settings import VERSION_CONFLICT, SkillSync, Snapshot, skill_sync
from voxpop.agent.tokens import Login
from voxpop.client import VoxClient
from voxpop.client.devices import OwnerDevices, skill_values_name
from voxpop.client.testing import LocalNode
from voxpop.crypto import PrivateKey, encode_address

pytestmark = pytest.mark.slow

OWNER, AGENT = PrivateKey(bytes([170]) * 32), PrivateKey(bytes([171]) * 32)
SKILL = "skill-race.tests"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    root = tmp_path_factory.mktemp("skill-versions")
    funds = {encode_address(OWNER.public_key.address): 10**12}
    with LocalNode.start(root / "node", funds=funds) as running, VoxClient(running.url) as vox:
        provision_agent(vox, OWNER, AGENT)
        yield running


@pytest.fixture
def served(node: LocalNode, tmp_path: Path) -> Iterator[tuple[Agent, httpx.Client, Login]]:
    with local_agent(
        tmp_path / "agent",
        owner=OWNER.public_key.address,
        agent_key=AGENT,
        chain_id=node.chain_id,
        nodes=[node.url],
    ) as served:
        yield served


def owner_sets(node: LocalNode, **changes: Any) -> None:
    with VoxClient(node.url) as vox:
        flows = OwnerDevices(vox, OWNER)
        result = vox.execute(
            OWNER, flows.set_skill_settings_msgs(SKILL, changes, device_id=None), gas_limit=400_000
        )
        assert result.code == 0, result.log


def upload(http: httpx.Client, login: Login, units: str, chime: str) -> httpx.Response:
    meta = {"sections": [{"name": "Options", "fields": [
        {"name": "units", "type": "text", "value": units},
        {"name": "chime", "type": "checkbox", "value": chime},
    ]}]}  # fmt: skip
    body = {"skill_gid": f"@{login.uuid}|{SKILL}", "skillMetadata": meta}
    return http.put(f"/v1/device/{login.uuid}/skill", json=body, headers=bearer(login))


def test_a_stale_version_is_refused_by_the_chain(
    served: tuple[Agent, httpx.Client, Login], node: LocalNode
) -> None:
    agent, _http, _login = served
    owner_sets(node, units="imperial")
    owner_sets(node, units="kelvin")  # version 2 now
    sync = skill_sync(agent)
    with pytest.raises(ChainRejectedError) as refused:
        sync._write(skill_values_name(SKILL), {"units": "stale"}, stored_version=0)
    assert VERSION_CONFLICT in str(refused.value)


def test_an_upload_racing_the_owners_edit_merges_again(
    served: tuple[Agent, httpx.Client, Login], node: LocalNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent, http, login = served
    gid = f"@{login.uuid}|{SKILL}"
    owner_sets(node, units="metric", chime=True)
    listed = http.put(
        f"/v1/device/{login.uuid}/skillJson",
        json={"skills": [{"name": SKILL, "skill_gid": gid}]},
        headers=bearer(login),
    )
    assert listed.status_code == 200
    got = http.get(f"/v1/device/{login.uuid}/skill/settings", headers=bearer(login))
    assert got.json()[gid] == {"units": "metric", "chime": True}

    # The owner's edit lands after the agent's first read of the device's upload
    sync = skill_sync(agent)
    real_snapshot = SkillSync.snapshot
    reads = []

    def snapshot_then_owner_edits(self: SkillSync) -> Snapshot:
        snap = real_snapshot(self)
        reads.append(snap)
        if len(reads) == 1:
            owner_sets(node, units="imperial")
        return snap

    monkeypatch.setattr(SkillSync, "snapshot", snapshot_then_owner_edits)
    answer = upload(http, login, units="metric", chime="false")
    monkeypatch.undo()
    assert answer.status_code == 200, answer.text
    assert len(reads) >= 2  # refused once, read again
    # Both edits stand: the owner's units and the device's chime
    doc = http.get(f"/v1/device/{login.uuid}/skill/settings", headers=bearer(login)).json()
    assert doc[gid] == {"units": "imperial", "chime": False}
    assert sync.cached(skill_values_name(SKILL)).doc == {"units": "imperial", "chime": False}
