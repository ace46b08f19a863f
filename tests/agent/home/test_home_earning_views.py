"""The earning page's view functions: a provider's and a storage node's status in words, and
plainly "not running" when none runs; where the roles live (agent.toml's [earning])."""

from __future__ import annotations

import json
import os
from pathlib import Path

from voxpop.agent.home.views.amounts import Amount
from voxpop.agent.home.views.earning import (
    build_earning,
    build_provider_status,
    build_storage_status,
    earning_places,
    read_earning,
)


def test_nothing_running_is_said_plainly(tmp_path: Path) -> None:
    view = read_earning(earning_places(tmp_path / "agent.toml", tmp_path), now=1_000)
    assert [r.role for r in view.roles] == ["provider", "storage"]
    assert not view.any_running and view.total == Amount(0)
    assert view.roles[0].summary == "No provider has run here."
    assert view.roles[1].summary == "No storage node is running here."


def test_a_provider_from_its_status_file(tmp_path: Path) -> None:
    status = {
        "pid": os.getpid(),
        "updated_at": 1_000,
        "kind": "weather",
        "price": 2_000,
        "served": 1_234,
        "earned": 2_468_000,
        "unclaimed": 468_000,
        "claimed": 2_000_000,
        "channels": 2,
        "provider": "vox1provider",
    }
    (tmp_path / "provider").mkdir()
    (tmp_path / "provider" / "status.json").write_text(json.dumps(status))
    (tmp_path / "agent.toml").write_text(
        f'[earning]\nprovider_homes = ["{tmp_path}"]\nstorage_homes = []\n'
    )
    view = read_earning(earning_places(tmp_path / "agent.toml", Path("/nonexistent")), now=1_005)
    (role,) = view.roles
    assert role.running and role.title == "Weather provider"
    assert role.summary == "Running: 1,234 paid calls answered since it started."
    facts = {f.label: f for f in role.facts}
    assert facts["Earned since it started"].value == "2.468 VOX"
    assert facts["Earned since it started"].title == "2,468,000 uvox"
    assert view.total == Amount(2_468_000)
    # a status file not rewritten for a while: the provider stopped
    stale = build_provider_status("here", status, now=1_000 + 60)
    assert not stale.running and stale.summary.startswith("Not running: its last report was")


def test_a_storage_node_from_its_status() -> None:
    role = build_storage_status(
        "here",
        {"shards_held": 12, "faults": 2, "used": 1_500, "capacity": 10**9, "earned": 7},
    )
    assert role.running
    assert (
        role.summary == "Running: holding 12 pieces of other people's data. It has missed 2 proofs."
    )
    facts = {f.label: f.value for f in role.facts}
    assert facts["Space used"] == "1.5 KB of 1.0 GB"
    assert build_earning([role]).total == Amount(7)
