"""Skill-use royalties through the agent, against a real solo node: devices report intent-handler
timings (the metrics route), the agent counts the uses the owner allows (opted in, skills in the
device's list, under each skill's daily cap) and pays the creators in batches with skills/Settle
as the owner's message under the owner's grant."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.agent_app import bearer, local_agent
from voxpop.agent.agent import Agent
from voxpop.agent.auth import DeviceSession
from voxpop.agent.config import OptIns
from voxpop.agent.provision import provision_agent
from voxpop.agent.royalties import DAY_SECONDS, record_use, tally_of
from voxpop.agent.tokens import Login
from voxpop.chain.modules.skills.messages import MsgRegisterSkill, MsgRetireSkill
from voxpop.client import VoxClient
from voxpop.client.testing import LocalNode
from voxpop.crypto import PrivateKey, encode_address

pytestmark = pytest.mark.slow

OWNER, AGENT, CREATOR = (PrivateKey(bytes([n]) * 32) for n in (160, 161, 162))
FEES = {"skill-joke.tests": 1_000, "skill-weather.tests": 500, "skill-old.tests": 7}
ROYALTIES_TOML = "[royalties]\nsettle_threshold = 3\nsettle_period = 3600\n"
DAY = 20_000 * DAY_SECONDS  # a UTC day boundary: uses "today" start here


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    root = tmp_path_factory.mktemp("royalties")
    funds = {encode_address(k.public_key.address): 10**12 for k in (OWNER, CREATOR)}
    with LocalNode.start(root / "node", funds=funds) as running, VoxClient(running.url) as vox:
        provision_agent(vox, OWNER, AGENT)
        creator = CREATOR.public_key.address
        msgs = [MsgRegisterSkill(creator, sid, creator, fee) for sid, fee in FEES.items()]
        result = vox.execute(
            CREATOR, [*msgs, MsgRetireSkill(creator, "skill-old.tests")], gas_limit=400_000
        )
        assert result.code == 0, result.log
        yield running


@pytest.fixture
def served(node: LocalNode, tmp_path: Path) -> Iterator[tuple[Agent, httpx.Client, Login]]:
    with local_agent(
        tmp_path / "agent",
        owner=OWNER.public_key.address,
        agent_key=AGENT,
        chain_id=node.chain_id,
        nodes=[node.url],
        opt_in=OptIns(skill_usage=True),
        toml_extra=ROYALTIES_TOML,
    ) as served:
        yield served


def manifest(http: httpx.Client, login: Login, *gids: str) -> None:
    skills = [{"name": g.split("|")[0].lstrip("@"), "skill_gid": g} for g in gids]
    answer = http.put(
        f"/v1/device/{login.uuid}/skillJson", json={"skills": skills}, headers=bearer(login)
    )
    assert answer.status_code == 200, answer.text


def timing(http: httpx.Client, login: Login, skill_id: str) -> bool:
    data = {
        "id": "x",
        "system": "skill_handler",
        "start_time": 1.0,
        "time": 0.2,
        "skill_id": skill_id,
    }
    answer = http.post(f"/v1/device/{login.uuid}/metric/timing", json=data, headers=bearer(login))
    assert answer.status_code == 200, answer.text
    counted: bool = answer.json()["counted"]
    return counted


def session_of(agent: Agent, login: Login) -> DeviceSession:
    session = agent.devices.session(login.uuid)
    assert session is not None
    return session


def test_reported_uses_are_settled_to_the_creators(
    served: tuple[Agent, httpx.Client, Login], node: LocalNode
) -> None:
    agent, http, login = served
    # An OVOS id and a mycroft msm name (its handlers report the folder `<name>.<author>`)
    manifest(http, login, f"@{login.uuid}|skill-joke.tests", "skill-weather|21.02")
    with VoxClient(node.url) as vox:
        before = vox.balance(CREATOR.public_key.address)
        owner_before = vox.balance(OWNER.public_key.address)
        assert timing(http, login, "skill-joke.tests")
        assert timing(http, login, "skill-weather.tests")
        assert timing(http, login, "skill-joke.tests")  # the third use reaches the threshold

        tally = tally_of(agent)
        deadline = time.monotonic() + 30
        while tally.pending() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert tally.pending() == {}
        assert tally.settled() == {"skill-joke.tests": 2, "skill-weather.tests": 1}
        assert vox.balance(CREATOR.public_key.address) - before == 2 * 1_000 + 500
        # The owner paid the royalties (its fee allowance paid the agent's tx fee)
        assert owner_before - vox.balance(OWNER.public_key.address) >= 2_500


def test_uses_outside_the_list_or_unpayable_ids_are_not_counted(
    served: tuple[Agent, httpx.Client, Login],
) -> None:
    agent, http, login = served
    assert not timing(http, login, "skill-joke.tests")  # no skill list yet
    manifest(http, login, f"@{login.uuid}|skill-joke.tests")
    assert not timing(http, login, "skill-weather.tests")  # not in this device's list
    session = session_of(agent, login)
    assert not record_use(agent, session, "@abc|not a chain id", at=DAY)
    assert tally_of(agent).pending() == {}


def test_nothing_counts_without_the_owners_opt_in(
    served: tuple[Agent, httpx.Client, Login],
) -> None:
    agent, http, login = served
    manifest(http, login, f"@{login.uuid}|skill-joke.tests")
    agent.config = agent.config.with_changes(opt_in=OptIns(skill_usage=False))
    assert not record_use(agent, session_of(agent, login), "skill-joke.tests", at=DAY)
    assert not timing(http, login, "skill-joke.tests")
    assert tally_of(agent).pending() == {}


def test_the_owners_daily_cap_per_skill(served: tuple[Agent, httpx.Client, Login]) -> None:
    agent, http, login = served
    manifest(http, login, f"@{login.uuid}|skill-joke.tests", f"@{login.uuid}|skill-weather.tests")
    agent.config = agent.config.with_changes(
        skill_use_caps={"skill-joke.tests": 2}, default_skill_use_cap=1
    )
    tally = tally_of(agent)
    tally.threshold = 1_000  # keep the uses pending: this test counts them
    session = session_of(agent, login)
    counted = [record_use(agent, session, "skill-joke.tests", at=DAY + i) for i in range(3)]
    assert counted == [True, True, False]
    assert [record_use(agent, session, "skill-weather.tests", at=DAY + i) for i in range(2)] == [
        True,
        False,
    ]
    # A new UTC day starts a new count
    assert record_use(agent, session, "skill-joke.tests", at=DAY + DAY_SECONDS)
    assert tally.pending() == {"skill-joke.tests": 3, "skill-weather.tests": 1}


def test_settlement_drops_unregistered_and_retired_skills(
    served: tuple[Agent, httpx.Client, Login], node: LocalNode
) -> None:
    agent, http, login = served
    gids = ("skill-joke.tests", "skill-nobody.tests", "skill-old.tests")
    manifest(http, login, *(f"@{login.uuid}|{g}" for g in gids))
    tally = tally_of(agent)
    tally.threshold = 1_000
    session = session_of(agent, login)
    for sid in gids:
        assert record_use(agent, session, sid, at=DAY)
    with VoxClient(node.url) as vox:
        before = vox.balance(CREATOR.public_key.address)
        settlement = tally.settle()
        assert settlement.paid == {"skill-joke.tests": 1}
        assert settlement.dropped == {"skill-nobody.tests": 1, "skill-old.tests": 1}
        assert len(settlement.txs) == 1
        assert vox.balance(CREATOR.public_key.address) - before == 1_000
    assert tally.pending() == {}
    assert tally.settle().txs == ()  # nothing left to pay


def test_settlement_waits_for_the_period(served: tuple[Agent, httpx.Client, Login]) -> None:
    agent, http, login = served
    manifest(http, login, f"@{login.uuid}|skill-joke.tests")
    tally = tally_of(agent)
    assert (tally.threshold, tally.period) == (3, 3600)  # from agent.toml's [royalties]
    now = [float(DAY)]
    agent.clock = lambda: now[0]
    assert record_use(agent, session_of(agent, login), "skill-joke.tests", at=DAY)
    assert tally.settle_if_due() is None  # one use, the period not over
    now[0] += 3600
    settled = tally.settle_if_due()
    assert settled is not None and settled.paid == {"skill-joke.tests": 1}
