"""`voxpop devnet up` runs a provider of every kind a device asks for (stt with pocketsphinx,
weather and knowledge on the devnet's local upstream, geolocation with places), each registered
with the services module; the paying client pays each of them from the dev account; all of them
stop with the devnet."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from voxpop.chain.modules.services.state import decode_offer
from voxpop.client import VoxClient
from voxpop.client.payments import Ledger, PayingClient, Policy
from voxpop.client.testing import free_port
from voxpop.crypto import Keyring, decode_address
from voxpop.provider.devnet import DEVNET_OFFERS, DEVNET_STT_PRICE

pytestmark = pytest.mark.slow


def offer_at(port: int, deadline: float) -> dict[str, object] | None:
    while time.monotonic() < deadline:
        try:
            answer: dict[str, object] = httpx.get(
                f"http://127.0.0.1:{port}/v1/offer", timeout=1
            ).json()
            return answer
        except httpx.HTTPError:
            time.sleep(0.2)
    return None


def test_devnet_runs_and_pays_a_provider_of_every_kind(tmp_path: Path) -> None:
    home = tmp_path / "devnet"
    api_port, upstream_port, agent_port = free_port(), free_port(), free_port()
    provider_port = free_port()
    argv = [sys.executable, "-m", "voxpop.cli.main", "devnet", "up", "--home", str(home)]
    argv += ["--api-port", str(api_port), "--provider-port", str(provider_port)]
    argv += ["--upstream-port", str(upstream_port), "--agent-port", str(agent_port)]
    # They have their own devnet tests; the agent's provisioning would also sign with the dev
    # key, which this test pays from: two txs on one sequence when their times overlap
    argv += ["--no-storage", "--no-privacy", "--no-agent"]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
    )
    api = f"http://127.0.0.1:{api_port}"
    try:
        deadline = time.monotonic() + 180  # the devnet starts every provider at once
        keyring = Keyring(home / "keyring", "test")
        for offer in DEVNET_OFFERS:
            served = offer_at(provider_port + offer.port_offset, deadline)
            assert served is not None, f"the devnet's {offer.kind} provider never answered"
            provider = keyring.show(offer.key).address
            assert served["provider"] == provider and served["kind"] == offer.kind
            assert served["price"] == offer.price
            with VoxClient(api) as client:
                data = decode_address(provider) + offer.kind.encode()
                registered = decode_offer(client.query("/services/offer", data, prove=True).value)
            assert registered.signing_key.hex() == served["signing_key"]
        assert DEVNET_OFFERS[0].price == DEVNET_STT_PRICE

        # Pay each kind from the dev account, as the agent does for devices
        dev = keyring.load_private_key("dev")
        policy = Policy(deposit=1_000_000, top_up_below=1_000, top_up_amount=1_000_000)
        with (
            VoxClient(api) as vox,
            PayingClient(vox, dev, ledger=Ledger(tmp_path / "pay.db"), policy=policy) as payer,
        ):
            weather = payer.call("weather", json.dumps({"lat": 51.5085, "lon": -0.1257}).encode())
            assert "current" in json.loads(weather.body) and weather.cost == 100
            question = {"query": "what is the capital of France", "mode": "spoken"}
            knowledge = payer.call("knowledge", json.dumps(question).encode())
            assert "Paris" in json.loads(knowledge.body)["answer"]
            place = payer.call("geolocation", json.dumps({"location": "London"}).encode())
            coordinate = json.loads(place.body)["data"]["coordinate"]
            assert round(coordinate["latitude"]) == 52 and round(coordinate["longitude"]) == 0

        # And from the CLI, as the README shows a newcomer
        call = [sys.executable, "-m", "voxpop.cli.main", "provider", "call", "knowledge"]
        call += ["--data", json.dumps(question), "--home", str(home), "--keyring-backend", "test"]
        call += ["--node", api, "--output", "json"]
        done = subprocess.run(call, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        paid = json.loads(done.stdout)
        assert "Paris" in paid["answer"]["answer"] and paid["cost_uvox"] == 200
        assert len(paid["receipt"]) == 128
        refused = subprocess.run([*call[:6], "--home", str(home)], capture_output=True, text=True)
        assert refused.returncode != 0 and "invalid_request" in refused.stdout + refused.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode(errors="replace")
    # The providers stopped with the devnet
    for offer in DEVNET_OFFERS:
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{provider_port + offer.port_offset}/v1/offer", timeout=1)
