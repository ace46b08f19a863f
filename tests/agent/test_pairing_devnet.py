"""`voxpop devnet up` also starts an agent authorized by the dev account: it prints the agent's
URL and the mycroft.conf snippet, and a device pairs through it with the owner claiming the code
as the README says (`voxpop device claim CODE --key dev`)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from voxpop.client.testing import free_port

pytestmark = pytest.mark.slow


def test_devnet_agent_pairs_a_device(tmp_path: Path) -> None:
    home = tmp_path / "devnet"
    api_port, agent_port = free_port(), free_port()
    argv = [sys.executable, "-m", "voxpop.cli.main", "devnet", "up", "--home", str(home)]
    argv += ["--api-port", str(api_port), "--agent-port", str(agent_port), "--no-provider"]
    argv += ["--no-storage", "--no-privacy"]
    log = (tmp_path / "devnet.out").open("w+b")
    proc = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"}
    )
    agent_url = f"http://127.0.0.1:{agent_port}"
    try:
        deadline = time.monotonic() + 90
        while b"pair it:" not in (tmp_path / "devnet.out").read_bytes():
            running = proc.poll() is None and time.monotonic() < deadline
            assert running, (tmp_path / "devnet.out").read_text()
            time.sleep(0.3)
        out = (tmp_path / "devnet.out").read_text()
        assert f"agent   {agent_url}/v1" in out
        found = re.search(r"\{\s*\"server\".*?\n\}", out, re.S)
        assert found is not None, out
        expected = {"url": agent_url, "version": "v1", "backend_type": "personal"}
        assert json.loads(found.group(0)) == {"server": expected}

        with httpx.Client(base_url=agent_url, timeout=30) as http:
            grant = http.get("/v1/device/code", params={"state": "devnet"}).json()
            claim = [sys.executable, "-m", "voxpop.cli.main", "device", "claim", grant["code"]]
            claim += ["--home", str(home), "--keyring-backend", "test", "--key", "dev"]
            claim += ["--node", f"http://127.0.0.1:{api_port}", "--output", "json"]
            done = subprocess.run(claim, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stdout + done.stderr
            body = {"state": "devnet", "token": grant["token"], "coreVersion": "21.2.2"}
            login = http.post("/v1/device/activate", json=body).json()
            headers = {"Authorization": f"Bearer {login['accessToken']}"}
            device = http.get(f"/v1/device/{login['uuid']}", headers=headers).json()
            status = http.get("/status").json()
        assert device["user"]["uuid"] == status["owner"] and status["devices"] == 1
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    # The agent stopped with the devnet
    with pytest.raises(httpx.HTTPError):
        httpx.get(agent_url + "/status", timeout=1)
