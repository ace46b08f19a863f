"""$VOXPOP_UPGRADES: the modules a node imports at start to know software upgrades. A name that
does not import stops the node before it opens its state, with one line and a stable code."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from voxpop.chain.modules.gov.upgrades import KNOWN_UPGRADES
from voxpop.node.app_factory import UPGRADES_ENV, UpgradeModuleError, load_upgrade_modules

UPGRADE_MODULE = """
from voxpop.chain.modules.gov.upgrades import register_upgrade

register_upgrade("test-upgrade-modules", lambda ctx: ctx.set(b"gov/test_migrated", b"1"))
"""


@pytest.fixture
def upgrade_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An importable module that registers "test-upgrade-modules"; unregistered afterwards."""
    (tmp_path / "upgrades_for_test.py").write_text(UPGRADE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield "upgrades_for_test"
    finally:
        KNOWN_UPGRADES.pop("test-upgrade-modules", None)
        sys.modules.pop("upgrades_for_test", None)


def test_named_module_registers_its_upgrades(upgrade_module: str) -> None:
    assert "test-upgrade-modules" not in KNOWN_UPGRADES
    assert "test-upgrade-modules" in load_upgrade_modules(f" {upgrade_module} ")
    assert "test-upgrade-modules" in KNOWN_UPGRADES


def test_reads_the_environment(upgrade_module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(UPGRADES_ENV, upgrade_module)
    assert "test-upgrade-modules" in load_upgrade_modules()


def test_unset_or_empty_imports_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UPGRADES_ENV, raising=False)
    before = dict(KNOWN_UPGRADES)
    assert load_upgrade_modules() == sorted(before)
    assert load_upgrade_modules("  ") == sorted(before)
    assert before == KNOWN_UPGRADES


def test_invalid_missing_module(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UpgradeModuleError, match="cannot import 'no_such_upgrade_module'") as info:
        load_upgrade_modules("no_such_upgrade_module")
    assert info.value.code == "upgrade_module"


def test_invalid_empty_name(upgrade_module: str) -> None:
    with pytest.raises(UpgradeModuleError, match="empty module name"):
        load_upgrade_modules(f"{upgrade_module},,")
    assert "test-upgrade-modules" in KNOWN_UPGRADES  # names before the bad one were imported


def test_invalid_module_that_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_upgrade.py").write_text("raise RuntimeError('half-installed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UpgradeModuleError, match="RuntimeError: half-installed"):
        load_upgrade_modules("broken_upgrade")


@pytest.mark.slow
@pytest.mark.parametrize("mode", [["--solo"], []], ids=["solo", "cometbft"])
def test_invalid_node_start_one_line_error_and_no_state(tmp_path: Path, mode: list[str]) -> None:
    home = tmp_path / "node"
    env = {**os.environ, "COLUMNS": "200", UPGRADES_ENV: "no_such_upgrade_module"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "voxpop.cli.main", *args]
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)

    assert cli("node", "init", "--home", str(home)).returncode == 0
    done = cli("node", "start", *mode, "--home", str(home), "--api-port", "0")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    line = done.stderr.strip()
    assert line.count("\n") == 0, done.stderr
    assert line.startswith("error [upgrade_module] "), line
    assert "no_such_upgrade_module" in line
    assert not (home / "data" / "state").exists()  # stopped before opening the store
    assert not (home / "cometbft").exists()  # or preparing CometBFT
