"""Configurations that break invariants are refused with the rule they break; nothing runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from voxpop.cli.main import app
from voxpop.sim import SimConfigError, load_params, make_params, simulate
from voxpop.sim.report import quantile, ratio


@pytest.mark.parametrize(
    ("values", "rule"),
    [
        ({"households": 0}, "households_range"),
        ({"frobnicate": 1}, "unknown_param"),
        ({"days": "365"}, "param_type"),
        ({"days": True}, "param_type"),
        ({"serve_stt_bps": 10_001}, "bps_range"),
        ({"stt_price": -1}, "non_negative"),
        ({"block_seconds": 7_000}, "block_seconds"),
        ({"block_seconds": 86_400}, "block_seconds"),
        ({"privacy_threshold": 4}, "privacy_nodes"),
        ({"month_days": 1}, "month_days"),
        (
            {"households": 10_000, "registrar_quota": 10, "onboarding_days": 30},
            "registrar_capacity",
        ),
        ({"annual_inflation_bps": 5_000}, "inflation_bounds"),
        ({"deal_n": 5, "storage_nodes": 3}, "deal_providers"),
        ({"deal_k": 3, "deal_n": 3}, "deal_coding"),
        ({"store_gib": 4, "deal_k": 1}, "shard_size"),
        ({"storage_leaf_bytes": 300}, "storage_leaf_bytes"),
        ({"provider_stake": 1, "services_min_stake": 2}, "provider_stake"),
        ({"claim_days": 40, "channel_days": 30}, "channel_days"),
        ({"onboarding_days": 400}, "onboarding_days"),
        ({"stt_providers": 0}, "providers"),
        ({"households": 3_000, "knowledge_providers": 2}, "payee_channels"),
    ],
)
def test_invalid_config_refused(values: dict[str, Any], rule: str) -> None:
    with pytest.raises(SimConfigError) as err:
        make_params(values)
    assert err.value.rule == rule
    assert err.value.code == "sim_config"


def test_params_file(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"households": 5, "_comment": "ignored"}))
    assert load_params(path, days=40).households == 5
    path.write_text("[1]")
    with pytest.raises(SimConfigError, match="params_file"):
        load_params(path)


def test_cli_refuses_with_code(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["sim", "run", "--households", "0", "--out", str(tmp_path), "--output", "json"],
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "sim_config"
    assert not (tmp_path / "months.csv").exists()


@given(st.integers(0, 10**30), st.integers(1, 10**30))
def test_ratio_is_exact_floor(num: int, den: int) -> None:
    text = ratio(num, den)
    whole, frac = text.split(".")
    assert int(whole) * 10_000 + int(frac) == num * 10_000 // den


@given(st.lists(st.integers(0, 10**12), min_size=1))
def test_quantile_is_a_member(values: list[int]) -> None:
    ordered = sorted(values)
    assert quantile(ordered, 1, 10) <= quantile(ordered, 1, 2) <= ordered[-1]
    assert quantile(ordered, 1, 2) in values


def test_too_few_data_buyers_refused() -> None:
    # Every household sells to one buyer for ten years: more grants than a grantee can hold
    params = make_params(
        {
            "households": 200,
            "days": 3_000,
            "store_bps": 10_000,
            "sell_data_bps": 10_000,
            "data_buyers": 1,
        }
    )
    with pytest.raises(SimConfigError) as info:
        simulate(params)
    assert info.value.rule == "data_buyers"
