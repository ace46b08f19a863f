"""The owner flows' own pieces, without a node: what a device blob holds, how settings merge,
how the CLI reads KEY=VALUE, and the canary scan's encodings (tests/support/canary.py)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import typer

from tests.support.canary import forms, scan
from voxpop.cli.output import OutputFormat
from voxpop.cli.owner import parse_assignments
from voxpop.client.devices import (
    DeviceFlowError,
    DeviceInfo,
    decode_settings,
    merge_settings,
    skill_values_name,
)


def test_device_info_round_trip() -> None:
    info = DeviceInfo("Kitchen", "mark2", {"core": "0.3.1"})
    assert DeviceInfo.decode(info.encode()) == info
    assert info.encode() == b'{"name":"Kitchen","platform":"mark2","versions":{"core":"0.3.1"}}'


@pytest.mark.parametrize(
    "raw", [b"", b"[]", b'{"platform":"x"}', b'{"name":"a","versions":{"core":1}}', b"\xff"]
)
def test_invalid_device_info(raw: bytes) -> None:
    with pytest.raises(DeviceFlowError) as caught:
        DeviceInfo.decode(raw)
    assert caught.value.code == "invalid_device_info"


def test_settings_merge_and_decode() -> None:
    assert merge_settings({"a": 1, "b": 2}, {"b": 3, "c": 4}, unset=["a"]) == {"b": 3, "c": 4}
    assert merge_settings(None, {"a": 1}) == {"a": 1}
    assert decode_settings(None, "x") is None
    assert decode_settings(b'{"a":1}', "x") == {"a": 1}
    for bad in (b"[1]", b"nope"):
        with pytest.raises(DeviceFlowError) as caught:
            decode_settings(bad, "x")
        assert caught.value.code == "invalid_settings"


def test_skill_values_names() -> None:
    assert skill_values_name("weather") == "skill/weather/values"
    assert skill_values_name("weather", bytes(32)) == f"device/{'00' * 32}/skill/weather/values"


def test_assignments() -> None:
    got = parse_assignments(
        ["unit=metric", "n=12", "on=true", 'tts={"v":"x"}', "e="], OutputFormat.JSON
    )
    assert got == {"unit": "metric", "n": 12, "on": True, "tts": {"v": "x"}, "e": ""}


@pytest.mark.parametrize("item", ["novalue", "=1", " =1"])
def test_invalid_assignments(item: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit):
        parse_assignments([item], OutputFormat.JSON)
    assert '"invalid_setting"' in capsys.readouterr().out


def test_canary_scan_finds_every_encoding(tmp_path: Path) -> None:
    needle = b"CANARY-test-0123456789"
    root = tmp_path
    for i, blob in enumerate(
        [b"..." + needle + b"...", needle.hex().encode(), b"x" + base64.b64encode(b"ab" + needle)]
    ):
        (root / f"f{i}").write_bytes(b"\x00" * 100 + blob + b"\x00" * 100)
    (root / "clean").write_bytes(b"CANARY-test-012345678")
    hits = scan([root], {"n": needle})
    assert sorted(p.rsplit("/", 1)[1] for p in hits["n"]) == ["f0", "f1", "f2"]
    assert all(len(f) >= 8 for f in forms(needle))
