"""`voxpop agent start` serves from a lean entry point (`python -m voxpop.agent`): the long-lived
agent process holds neither the CLI (typer, rich) nor numpy, and reports errors as the
CLI does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.agent.conftest import AgentWorld
from voxpop.client.testing import voxpop_command

HEAVY = ("typer", "rich", "numpy", "soundfile")  # click: uvicorn imports it


def test_the_started_agent_is_the_lean_entry(agent_world: AgentWorld) -> None:
    process = agent_world.agent.process
    assert process is not None
    cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
    assert b"voxpop.agent" in cmdline and b"voxpop.cli.main" not in cmdline
    maps = Path(f"/proc/{process.pid}/maps").read_text()
    assert "numpy" not in maps and "libsndfile" not in maps


def test_the_entry_loads_no_cli_or_numpy() -> None:
    # What a serving agent imports: the entry, the agent, its app and server, and pricing
    code = (
        "import sys, runpy, json\n"
        "sys.argv = ['x', '--help']\n"
        "try:\n"
        "    runpy.run_module('voxpop.agent', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "import voxpop.agent.agent, voxpop.agent.app, voxpop.agent.server, uvicorn\n"
        "from voxpop.client.payments import price_units\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = json.loads(out.stdout.splitlines()[-1])
    heavy = [m for m in loaded if m.split(".")[0] in HEAVY or m.split(".")[:2] == ["voxpop", "cli"]]
    assert heavy == []
    assert "voxpop.agent.app" in loaded  # the probe did load the agent


def test_invalid_home_reports_a_stable_code(tmp_path: Path) -> None:
    argv = voxpop_command("agent", "start", "--home", str(tmp_path / "none"), "-o", "json")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "invalid_agent_config"
    text = voxpop_command("agent", "start", "--home", str(tmp_path / "none"))
    done = subprocess.run(text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("error [invalid_agent_config] ")
