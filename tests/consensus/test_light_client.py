"""The SDK's light client against real CometBFT processes: it follows a 4-validator testnet
through a validator set change (a delegation moving power) and a skipped range, catches a node
that lies about state or headers, and accepts exactly the headers `cometbft light` (CometBFT's
own light client proxy) accepts. One testnet is shared by the module's tests."""

from __future__ import annotations

import base64
import dataclasses
import importlib.util
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.abci.comet_testing import free_base_port, wait_until
from tests.client.conftest import TamperingTransport
from tests.consensus.network import GAS, POWER, Network, b64
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.tx import encode_tx, make_body
from voxpop.cli.main import app
from voxpop.client import AsyncVoxClient, ProofVerificationError, VoxClient
from voxpop.client.comet import SignedHeader, parse_signed_header, parse_validator_set
from voxpop.client.comet_testing import sign_commit, signed_header_json
from voxpop.client.errors import ConflictingHeadersError, LightClientError
from voxpop.client.light import LightClient, TrustOptions
from voxpop.crypto import encode_address
from voxpop.crypto.keys import PrivateKey

STAKING = importlib.util.find_spec("voxpop.chain.modules.staking") is not None
pytestmark = [
    pytest.mark.cometbft,
    pytest.mark.slow,
    pytest.mark.skipif(not STAKING, reason="the staking module (chain/modules/staking) is absent"),
]

UVOX_PER_POWER = 1_000_000
DELEGATED_POWER = 50


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory, cometbft_binary: Path) -> Iterator[Network]:
    net = Network.create(tmp_path_factory.mktemp("light") / "net", keys=2)
    try:
        net.start()
        yield net
    finally:
        net.close()


@pytest.fixture(scope="module")
def power_moved(network: Network) -> int:
    """Delegate to validator 0, moving power; the height from which CometBFT's set has changed."""
    key = network.keys[0]
    account = network.account(0, key)
    body = make_body(
        chain_id=network.chain_id,
        pub_key=key.public_key.raw,
        sequence=account["sequence"],
        fee=AuthParams().min_fee(GAS),
        gas_limit=GAS,
        msgs=[
            (
                "staking/Delegate",
                {
                    "delegator": key.public_key.address,
                    "validator": network.operator_key(0).public_key.address,
                    "amount": DELEGATED_POWER * UVOX_PER_POWER,
                },
            )
        ],
    )
    tx = encode_tx(body, key.sign(body.sign_bytes()))
    reply = network.api[1].post("/v1/txs", json={"tx": b64(tx), "mode": "commit"})
    assert reply.status_code == 200 and reply.json()["code"] == 0, reply.text
    changed = int(reply.json()["height"]) + 2  # an update returned at H takes effect at H+2
    network.wait_height(changed + 3, range(4), 60)
    return changed


def trusted_root(network: Network, node: int = 3) -> TrustOptions:
    """The trust root got "out of band": block 1's hash, read from another node's RPC."""
    block_id = network.rpcs[node].get("commit", height=1)["signed_header"]["commit"]["block_id"]
    return TrustOptions(1, bytes.fromhex(block_id["hash"]))


def api_url(network: Network, i: int) -> str:
    return str(network.api[i].base_url).rstrip("/")


def test_follows_a_validator_set_change_and_a_skipped_range(
    network: Network, power_moved: int
) -> None:
    light = LightClient(trust_options=trusted_root(network), witnesses=[api_url(network, 2)])
    with VoxClient(api_url(network, 0), light=light) as client:
        info = client.account(network.keys[1].public_key.address, prove=True)
    assert info.verified and info.height > power_moved
    # one skip from the root reached the top: far fewer headers verified than heights passed
    assert light.headers_verified <= 3 < info.height
    powers = sorted(v.voting_power for v in light.store[info.height + 1].validators.validators)
    assert powers == [POWER, POWER, POWER, POWER + DELEGATED_POWER]
    assert sorted(v.voting_power for v in light.store[1].validators.validators) == [POWER] * 4
    assert not light.conflicts and not light.faulty_witnesses

    # sequentially, header by header through the change, from another node: the same headers
    sequential = LightClient(trust_options=trusted_root(network))
    with VoxClient(api_url(network, 1), light=sequential) as client:
        for h in range(2, info.height + 2):
            block = client.verified_header(h)
            if h in light.store:
                assert block.hash == light.store[h].hash, h
    assert sequential.headers_verified == info.height + 1
    changed = sequential.store[power_moved].signed_header.header
    assert (
        changed.validators_hash
        != sequential.store[power_moved - 1].signed_header.header.validators_hash
    )


def test_node_lying_about_state_is_caught_by_the_proof(network: Network) -> None:
    address = network.keys[1].public_key.address

    def richer(path: str, body: Any) -> Any:
        if path.startswith("/v1/accounts/") and "balance" in body:
            return {**body, "balance": body["balance"] + 1}
        return None

    with (
        VoxClient(
            api_url(network, 0),
            light=LightClient(trust_options=trusted_root(network)),
            transport=TamperingTransport(richer),
        ) as client,
        pytest.raises(ProofVerificationError),
    ):
        client.account(address, prove=True)

    def other_app_hash(path: str, body: Any) -> Any:
        # a node that also forges the header to match its lie: the commit no longer signs it
        if path.startswith("/v1/light/signed_header/"):
            body["signed_header"]["header"]["app_hash"] = "00" * 32
            return body
        return None

    with (
        VoxClient(
            api_url(network, 0),
            light=LightClient(trust_options=trusted_root(network)),
            transport=TamperingTransport(other_app_hash),
        ) as client,
        pytest.raises(LightClientError) as info,
    ):
        client.account(address, prove=True)
    assert info.value.code == "block_id_mismatch"


@pytest.fixture(scope="module")
def cometbft_light(
    network: Network, cometbft_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`cometbft light` proxying node 0, witnessed by nodes 1 and 2, from the same root."""
    root = trusted_root(network)
    port = free_base_port(1)
    rpc = [network.net.nodes[i].rpc_url for i in range(3)]
    home = tmp_path_factory.mktemp("cometbft-light")
    log = (home / "stderr.log").open("wb")
    proc = subprocess.Popen(
        [
            str(cometbft_binary),
            "light",
            network.chain_id,
            "--primary",
            rpc[0],
            "--witnesses",
            ",".join(rpc[1:]),
            "--height",
            str(root.height),
            "--hash",
            root.hash.hex(),
            "--laddr",
            f"tcp://127.0.0.1:{port}",
            "--home-dir",
            str(home),
            "--log_level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(serving, 30, "cometbft light to serve")
        assert proc.poll() is None, (home / "stderr.log").read_text()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_agrees_with_cometbft_light(
    network: Network, power_moved: int, cometbft_light: str
) -> None:
    top = network.height(0) - 1
    heights = sorted({2, power_moved - 1, power_moved, power_moved + 1, top})
    ours = LightClient(trust_options=trusted_root(network), witnesses=[api_url(network, 1)])
    with VoxClient(api_url(network, 0), light=ours) as client, httpx.Client(timeout=30) as http:
        for h in heights:
            reply = http.get(f"{cometbft_light}/commit", params={"height": h}).json()
            assert "result" in reply, reply
            theirs = parse_signed_header(reply["result"]["signed_header"])
            block = client.verified_header(h)
            assert (
                block.signed_header.header.hash()
                == theirs.header.hash()
                == theirs.commit.block_id.hash
            )
            assert block.hash == theirs.commit.block_id.hash, h


def test_forged_live_commits_are_refused(network: Network, power_moved: int) -> None:
    """Real headers, each changed the way a forger would: ours refuses every one."""
    top = network.height(0) - 1
    forgeries: dict[str, Any] = {
        "block_id_mismatch": lambda sh: sh["header"].update(app_hash="11" * 32),
        "wrong_chain_id": lambda sh: sh["header"].update(chain_id="another-chain"),
        "validators_hash_mismatch": lambda sh: sh["header"].update(validators_hash="22" * 32),
        "invalid_signature": lambda sh: sh["commit"]["signatures"][0].update(
            signature=b64(bytes(64))
        ),
        "insufficient_voting_power": lambda sh: [
            s.update(block_id_flag=1) for s in sh["commit"]["signatures"][:3]
        ],
    }
    for code, forge in forgeries.items():

        def edit(path: str, body: Any, forge: Any = forge) -> Any:
            if path == f"/v1/light/signed_header/{top}":
                forge(body["signed_header"])
                return body
            return None

        light = LightClient(trust_options=trusted_root(network))
        with (
            VoxClient(
                api_url(network, 0), light=light, transport=TamperingTransport(edit)
            ) as client,
            pytest.raises(LightClientError) as info,
        ):
            client.verified_header(top)
        assert info.value.code in (code, "block_id_mismatch"), (code, info.value)

    # a root older than the trusting period is refused
    with (
        VoxClient(
            api_url(network, 0),
            light=LightClient(trust_options=trusted_root(network), trusting_period_s=1),
        ) as client,
        pytest.raises(LightClientError) as info,
    ):
        client.verified_header(top)
    assert info.value.code == "header_expired"


async def test_async_client_verifies_through_the_light_client(network: Network) -> None:
    light = LightClient(trust_options=trusted_root(network), witnesses=[api_url(network, 3)])
    async with AsyncVoxClient(api_url(network, 2), light=light) as client:
        info = await client.account(network.keys[0].public_key.address, prove=True)
        block = await client.verified_header(info.height + 1)
    assert info.verified
    app_hash = network.rpcs[3].header_app_hash(info.height + 1)
    assert block.signed_header.header.app_hash == app_hash
    assert not light.conflicts and not light.faulty_witnesses


class WitnessTransport(httpx.BaseTransport):
    """Forwards to the real nodes; what the node on `port` answers for `path` is replaced."""

    def __init__(self, port: int, path: str, body: Any) -> None:
        self.inner = httpx.HTTPTransport()
        self.port, self.path, self.body = port, path, body

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.port == self.port and request.url.path == self.path:
            return httpx.Response(200, json=self.body)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def validator_keys(network: Network) -> list[PrivateKey]:
    keys = []
    for node in network.net.nodes:
        stored = json.loads(node.node_home.priv_validator_key.read_text())
        keys.append(PrivateKey(base64.b64decode(stored["priv_key"]["value"])[:32]))
    return keys


def test_witness_serving_a_conflicting_header_is_reported(network: Network) -> None:
    top = network.height(0) - 1
    real = network.rpcs[0].get("commit", height=top)["signed_header"]
    vals = parse_validator_set(network.rpcs[0].get("validators", height=top)["validators"])
    header = dataclasses.replace(parse_signed_header(real).header, app_hash=b"\x66" * 32)
    witness = network.api[1].base_url.port
    path = f"/v1/light/signed_header/{top}"

    # the validators' own keys sign a second block at `top`: evidence of a fork
    forked = SignedHeader(header, sign_commit(header, vals, validator_keys(network)))
    light = LightClient(trust_options=trusted_root(network), witnesses=[api_url(network, 1)])
    transport = WitnessTransport(witness, path, {"signed_header": signed_header_json(forked)})
    client = VoxClient(api_url(network, 0), light=light, transport=transport)
    with client, pytest.raises(ConflictingHeadersError) as info:
        client.verified_header(top)
    assert info.value.height == top and light.conflicts == [info.value]
    assert info.value.hashes[api_url(network, 1)] == header.hash()

    # a witness serving a header nobody signed is lying itself: dropped, the primary's kept
    unsigned = {"signed_header": {**real, "header": {**real["header"], "app_hash": "66" * 32}}}
    light = LightClient(trust_options=trusted_root(network), witnesses=[api_url(network, 1)])
    transport = WitnessTransport(witness, path, unsigned)
    with VoxClient(api_url(network, 0), light=light, transport=transport) as client:
        block = client.verified_header(top)
    assert block.hash == bytes.fromhex(real["commit"]["block_id"]["hash"])
    assert list(light.faulty_witnesses) == [api_url(network, 1)] and not light.witnesses
    assert not light.conflicts


def test_cli_roots_its_light_client_at_the_genesis_or_a_given_hash(network: Network) -> None:
    """`voxpop query ... --prove` trusts no node: the genesis validators of --home sign block 1,
    or --trust-height/--trust-hash name a root; a wrong root is refused before any answer."""
    address = encode_address(network.keys[1].public_key.address)
    home = network.net.nodes[0].node_home.root
    base = ["query", "bank", "balance", address, "--prove", "--node", api_url(network, 0)]

    def run(*extra: str) -> tuple[int, Any]:
        result = CliRunner().invoke(app, [*base, *extra, "--output", "json"])
        return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None

    # Verify the genesis-rooted answer is the proven balance
    code, out = run("--home", str(home))
    expected = network.account(0, network.keys[1])["balance"]
    assert code == 0 and out["verified"] is True and out["balance"] == expected, out
    # Verify an out-of-band root works, and a wrong one is refused
    root = trusted_root(network)
    code, out = run("--home", str(home), "--trust-height", "1", "--trust-hash", root.hash.hex())
    assert code == 0 and out["verified"] is True, out
    code, out = run("--home", str(home), "--trust-height", "1", "--trust-hash", "00" * 32)
    assert code != 0 and out["error"]["code"] == "block_id_mismatch", out
    # Verify a genesis whose validators are not the chain's is refused
    other = network.dir / "other-home"
    (other / "config").mkdir(parents=True, exist_ok=True)
    genesis = json.loads(network.net.nodes[0].node_home.genesis_json.read_text())
    forged = PrivateKey.generate().public_key.raw
    genesis["validators"][0]["pub_key"]["value"] = base64.b64encode(forged).decode()
    (other / "config" / "genesis.json").write_text(json.dumps(genesis))
    code, out = run("--home", str(other))
    assert code != 0 and out["error"]["code"] == "validators_hash_mismatch", out
