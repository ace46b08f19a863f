"""Benchmark: the user agent's footprint and what it adds to a call, on a devnet-like set.

Starts a real solo node, a pocketsphinx stt provider (grammar mode; `voxpop provider start`), and
the agent as its own process (`voxpop agent start --home DIR`, provisioned by the owner: grants,
fee allowance, settings key). A device pairs the way devices do (`/device/code`, the owner claims
the code on chain, `/device/activate`), then:

- agent_rss_mb: the agent process's resident memory, idle (after pairing and the runs below, no
  request in flight): what a Raspberry Pi-class device gives the agent;
- settings_p50_ms: `GET /v1/device/{uuid}/setting` as devices poll it (answered from the verified
  cache), over HTTP;
- stt_p50_ms: the same FLAC utterance through the agent (`POST /v1/stt`: the device's HTTP call,
  the agent pays the provider with a voucher over an open channel, the provider transcribes);
- direct_stt_p50_ms: the same utterance straight to the same engine (decode + transcribe in
  this process, no HTTP, no payment). The difference is what payment and routing add.

    python bench/agent_footprint.py [--runs N]

Last line: agent_rss_mb=<n> settings_p50_ms=<n> stt_p50_ms=<n> direct_stt_p50_ms=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from pathlib import Path

import httpx

from voxpop.agent.config import PaymentSettings, init_agent_home, write_config
from voxpop.agent.keys import load_agent_key
from voxpop.agent.provision import provision_agent
from voxpop.chain.modules.services.messages import MsgRegister
from voxpop.client import VoxClient
from voxpop.client.devices import DeviceFlowError, OwnerDevices
from voxpop.client.testing import LocalNode, free_port, voxpop_command
from voxpop.crypto import Keyring, PrivateKey, encode_address
from voxpop.provider.engines.stt import PocketsphinxEngine
from voxpop.provider.keys import response_public_key
from voxpop.provider.testing import LocalProvider

OWNER = PrivateKey(bytes([71]) * 32)
PROVIDER = PrivateKey(bytes([72]) * 32)
FUNDS = 10**13
STAKE = 1_000_000_000
PRICE = 1_000  # uvox per started 10 s of audio
SENTENCE = "what is the weather in london"
GRAMMAR = """#JSGF V1.0;
grammar assistant;
public <request> = <weather> | <timer> | <misc>;
<place> = london | paris | berlin | lisbon | new york | tokyo;
<weather> = what is the weather [like] [in <place>] [today | tomorrow];
<number> = one | two | three | four | five | ten | fifteen | twenty | thirty;
<timer> = set a timer for <number> (minutes | seconds | hours) | cancel the timer;
<misc> = tell me a joke | what time is it | stop | play some music;
"""
START_TIMEOUT = 60.0
PAIR_TIMEOUT = 60.0


def speech_flac(text: str, directory: Path) -> bytes:
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        sys.exit("bench/agent_footprint.py needs espeak-ng and sox (make system-deps)")
    wav, flac = directory / "speech.wav", directory / "speech.flac"
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True, capture_output=True)
    subprocess.run(["sox", str(wav), "-r", "16000", "-c", "1", str(flac)], check=True)
    return flac.read_bytes()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def rss_breakdown(pid: int) -> str:
    """Where the resident memory is (/proc/PID/smaps_rollup): the heap and other anonymous
    pages versus mapped files (code and libraries, partly shared), and the threads."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields[name] = int(rest.split()[0]) / 1024
    threads = next(
        line.split()[1]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("Threads:")
    )
    return (
        f"rss {fields['Rss']:.1f} MB: anonymous {fields['Anonymous']:.1f}, files "
        f"{fields['Rss'] - fields['Anonymous']:.1f} (pss {fields['Pss']:.1f}); {threads} threads"
    )


def p50(times: list[float]) -> float:
    return statistics.median(times)


def start_agent(home: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    argv = voxpop_command("agent", "start", "--home", str(home))
    process = subprocess.Popen(argv, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the agent exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/status", timeout=1.0).status_code == 200:
                return process
        time.sleep(0.1)
    process.kill()
    sys.exit(f"the agent did not answer in {START_TIMEOUT} s: {log.read_text()[-2000:]}")


def pair(http: httpx.Client, vox: VoxClient) -> dict[str, str]:
    """A device pairs as devices do; the owner claims the code on chain. Returns its login."""
    state = str(uuidlib.uuid4())
    code = http.get("/v1/device/code", params={"state": state}).json()
    flows = OwnerDevices(vox, OWNER)
    deadline = time.monotonic() + PAIR_TIMEOUT
    claimed = False
    while time.monotonic() < deadline:
        if not claimed:
            try:
                msg, _ = flows.claim_msg(code["code"])
            except DeviceFlowError:  # the agent's request is not on chain yet
                time.sleep(0.3)
                continue
            result = vox.execute(OWNER, [msg], gas_limit=300_000)
            if result.code != 0:
                sys.exit(f"claim failed: {result.log}")
            claimed = True
        body = {"state": state, "token": code["token"], "coreVersion": "bench", "platform": "x"}
        resp = http.post("/v1/device/activate", json=body)
        if resp.status_code == 200:
            login: dict[str, str] = resp.json()
            return login
        time.sleep(0.3)
    sys.exit("the device was not paired in time")


def main() -> None:
    parser = argparse.ArgumentParser(description="the agent's footprint and added latency")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        audio = speech_flac(SENTENCE, root)
        grammar = root / "assistant.gram"
        grammar.write_text(GRAMMAR)
        funds = {encode_address(k.public_key.address): FUNDS for k in (OWNER, PROVIDER)}
        with LocalNode.start(root / "node", funds=funds) as node, VoxClient(node.url) as vox:
            # The stt provider: registered on chain, started as an operator starts it
            port = free_port()
            register = MsgRegister(
                provider=PROVIDER.public_key.address,
                kind="stt",
                endpoint=f"http://127.0.0.1:{port}",
                price=PRICE,
                languages=("en-us",),
                signing_key=response_public_key(PROVIDER),
                stake=STAKE,
            )
            assert vox.execute(PROVIDER, [register], gas_limit=300_000).code == 0
            Keyring(root / "provider" / "keyring", "test").import_seed("provider", PROVIDER.seed)
            provider = LocalProvider.start(
                root / "provider",
                node_url=node.url,
                kind="stt",
                engine="pocketsphinx",
                port=port,
                extra=["--grammar", str(grammar)],
                timeout=START_TIMEOUT,
            )
            # The agent: a home, its key provisioned by the owner, its own process
            config, _ = init_agent_home(
                root / "agent",
                owner=OWNER.public_key.address,
                chain_id=node.chain_id,
                nodes=[node.url],
                port=free_port(),
                keyring_backend="test",
            )
            config = config.with_changes(
                payments=PaymentSettings(
                    deposit=1_000_000, top_up_below=10_000, top_up_amount=1_000_000
                )
            )
            write_config(config)
            provision_agent(vox, OWNER, load_agent_key(config))
            agent = start_agent(config.home, config.url, root / "agent.log")
            try:
                with httpx.Client(base_url=config.url, timeout=30.0) as http:
                    login = pair(http, vox)
                    uuid = login["uuid"]
                    auth = {"Authorization": f"Bearer {login['accessToken']}", "Device": uuid}
                    # Settings as devices poll them (the first read fills the cache)
                    http.get(f"/v1/device/{uuid}/setting", headers=auth).raise_for_status()
                    settings_times = []
                    for _ in range(args.runs * 5):
                        started = time.perf_counter()
                        http.get(f"/v1/device/{uuid}/setting", headers=auth).raise_for_status()
                        settings_times.append((time.perf_counter() - started) * 1000)
                    # STT through the agent and a paid provider (the first call opens the channel)
                    stt_headers = {**auth, "Content-Type": "audio/x-flac"}
                    first = http.post("/v1/stt", content=audio, headers=stt_headers)
                    first.raise_for_status()
                    heard = first.json()
                    stt_times = []
                    for _ in range(args.runs):
                        started = time.perf_counter()
                        resp = http.post("/v1/stt", content=audio, headers=stt_headers)
                        stt_times.append((time.perf_counter() - started) * 1000)
                        resp.raise_for_status()
                    time.sleep(1.0)  # idle: nothing in flight
                    agent_rss = rss_mb(agent.pid)
                    breakdown = rss_breakdown(agent.pid)
            finally:
                agent.terminate()
                agent.wait(10)
                provider.stop()
    # The same utterance straight to the same engine, in this process
    engine = PocketsphinxEngine(grammar=GRAMMAR)

    async def direct() -> tuple[float, str]:
        started = time.perf_counter()
        prepared = engine.prepare(audio, "audio/x-flac", {"lang": "en-us"})
        answer = json.loads(await engine.run(prepared))
        return (time.perf_counter() - started) * 1000, str(answer["text"])

    async def direct_runs() -> tuple[list[float], str]:
        _, text = await direct()  # warm-up
        return [(await direct())[0] for _ in range(args.runs)], text

    direct_times, direct_text = asyncio.run(direct_runs())
    print(f"sentence: {SENTENCE!r}; through the agent: {heard!r}; direct: {direct_text!r}")
    print(f"agent idle: {breakdown}")
    print(f"settings: p50 {p50(settings_times):.2f} ms over {len(settings_times)} reads")
    added = p50(stt_times) - p50(direct_times)
    print(
        f"stt: agent+paid provider p50 {p50(stt_times):.1f} ms, engine p50 "
        f"{p50(direct_times):.1f} ms: payment and routing add {added:.1f} ms"
    )
    print(
        f"agent_rss_mb={agent_rss:.1f} settings_p50_ms={p50(settings_times):.2f} "
        f"stt_p50_ms={p50(stt_times):.1f} direct_stt_p50_ms={p50(direct_times):.1f}"
    )


if __name__ == "__main__":
    main()
