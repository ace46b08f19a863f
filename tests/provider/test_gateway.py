"""The provider gateway as a real process (`voxpop provider start`) against a real solo node:
paid echo calls with receipts, each bad voucher refused with its code and nothing changed, a
kill -9 after serving and a claim that still gets everything owed, a payer leaving early and the
provider claiming within the settle window, and `voxpop provider status`."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import httpx
import pytest
from nacl.signing import SigningKey

from voxpop.client import VoxClient, compute_min_fee
from voxpop.client.testing import LocalNode, voxpop_command
from voxpop.crypto import Keyring, PrivateKey, encode_address
from voxpop.crypto.vouchers import Receipt, derive_channel_id, sign_voucher
from voxpop.provider.keys import response_public_key
from voxpop.provider.ledger import LOG_NAME, read_best
from voxpop.provider.service import CLAIM_GAS_BASE, CLAIM_GAS_PER_VOUCHER, provider_dir
from voxpop.provider.testing import LocalProvider

pytestmark = pytest.mark.slow

PROVIDER_SEED = bytes([61]) * 32
PAYER_SEED = bytes([62]) * 32
PROVIDER = PrivateKey(PROVIDER_SEED)
PAYER = PrivateKey(PAYER_SEED)
PROVIDER_ADDR = PROVIDER.public_key.address
PAYER_ADDR = PAYER.public_key.address
FUNDS = 10_000_000_000_000
STAKE = 1_000_000_000
PRICE = 250
DEPOSIT = 100_000
GAS = 300_000
BODY = b'{"say":"hello"}'


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("gateway") / "node"
    funds = {encode_address(PROVIDER_ADDR): FUNDS, encode_address(PAYER_ADDR): FUNDS}
    with LocalNode.start(home, funds=funds) as running:
        with VoxClient(running.url) as client:
            # The provider's offer on chain: the gateway reads its price from it
            result = client.execute(
                PROVIDER,
                [
                    (
                        "services/Register",
                        {
                            "provider": PROVIDER_ADDR,
                            "kind": "echo",
                            "endpoint": "http://127.0.0.1:1/",
                            "price": PRICE,
                            "languages": ["en-us"],
                            "signing_key": response_public_key(PROVIDER),
                            "stake": STAKE,
                        },
                    )
                ],
                gas_limit=GAS,
            )
            assert result.code == 0, result.log
        yield running


@pytest.fixture
def provider_home(tmp_path: Path) -> Path:
    home = tmp_path / "provider"
    Keyring(home / "keyring", "test").import_seed("provider", PROVIDER_SEED)
    return home


def start_provider(node: LocalNode, home: Path, *extra: str) -> LocalProvider:
    options = ["--claim-interval", "0.2", "--refresh-interval", "0.5", *extra]
    return LocalProvider.start(home, node_url=node.url, extra=options)


def open_channel(node: LocalNode, voucher_key: SigningKey, deposit: int = DEPOSIT) -> bytes:
    with VoxClient(node.url) as client:
        nonce_raw = client.query("/channels/nonce", PAYER_ADDR).value
        nonce = int.from_bytes(nonce_raw, "big") if nonce_raw else 0
        msg = {
            "payer": PAYER_ADDR,
            "payee": PROVIDER_ADDR,
            "voucher_key": bytes(voucher_key.verify_key),
            "deposit": deposit,
        }
        result = client.execute(PAYER, [("channels/Open", msg)], gas_limit=GAS)
        assert result.code == 0, result.log
    return derive_channel_id(node.chain_id, PAYER_ADDR, nonce)


def channel(node: LocalNode, channel_id: bytes) -> dict[str, Any] | None:
    with VoxClient(node.url) as client:
        raw = client.query("/channels/channel", channel_id, prove=True)
    assert raw.verified
    value: dict[str, Any] | None = cbor2.loads(raw.value) if raw.value else None
    return value


def pay(
    node: LocalNode, key: SigningKey, channel_id: bytes, amount: int, chain_id: str | None = None
) -> dict[str, str]:
    voucher = sign_voucher(key, chain_id or node.chain_id, channel_id, amount)
    return {
        "X-Vox-Channel": channel_id.hex(),
        "X-Vox-Amount": str(amount),
        "X-Vox-Voucher": voucher.signature.hex(),
        "Content-Type": "application/json",
    }


def call(provider: LocalProvider, headers: dict[str, str], body: bytes = BODY) -> httpx.Response:
    return httpx.post(provider.url + "/v1/echo", content=body, headers=headers, timeout=10.0)


def cli(*args: str) -> tuple[int, Any]:
    done = subprocess.run(
        voxpop_command(*args, "--output", "json"), capture_output=True, check=False, timeout=60
    )
    return done.returncode, json.loads(done.stdout)


def test_paid_calls_and_receipts(node: LocalNode, provider_home: Path) -> None:
    key = SigningKey(bytes([71]) * 32)
    channel_id = open_channel(node, key)
    with start_provider(node, provider_home) as provider:
        offer = provider.offer()
        assert offer["price"] == PRICE and offer["chain_id"] == node.chain_id
        assert offer["signing_key"] == response_public_key(PROVIDER).hex()
        for n in range(1, 6):
            resp = call(provider, pay(node, key, channel_id, n * PRICE))
            assert resp.status_code == 200, resp.text
            assert resp.content == BODY and resp.headers["x-vox-amount"] == str(n * PRICE)
            receipt = Receipt(
                channel_id,
                hashlib.sha256(BODY).digest(),
                hashlib.sha256(resp.content).digest(),
                n * PRICE,
                bytes.fromhex(resp.headers["x-vox-receipt"]),
            )
            assert receipt.verify(node.chain_id, bytes.fromhex(offer["signing_key"]))
        status = provider.status()
        assert status["served"] == 5 and status["earned"] == 5 * PRICE
        assert status["unclaimed"] == 5 * PRICE and status["node_reachable"]
        # An unpaid call names what is missing
        resp = httpx.post(provider.url + "/v1/echo", content=BODY)
        assert resp.status_code == 402
        assert resp.json()["error"]["code"] == "payment_required"
        assert resp.json()["error"]["price"] == PRICE


def test_invalid_vouchers_change_nothing(node: LocalNode, provider_home: Path) -> None:
    key = SigningKey(bytes([72]) * 32)
    channel_id = open_channel(node, key)
    other_key = SigningKey(bytes([73]) * 32)
    other_channel = open_channel(node, other_key)  # a channel of its own: vouchers don't cross
    with start_provider(node, provider_home) as provider:
        assert call(provider, pay(node, key, channel_id, PRICE)).status_code == 200
        cases = {
            "voucher_stale": pay(node, key, channel_id, PRICE),  # a replay
            "underpaid": pay(node, key, channel_id, 2 * PRICE - 1),
            "over_deposit": pay(node, key, channel_id, DEPOSIT + 1),
            "voucher_invalid": pay(node, other_key, channel_id, 2 * PRICE),  # not its voucher key
            "unknown_channel": pay(node, key, bytes([9]) * 32, PRICE),
        }
        forged = pay(node, key, channel_id, 2 * PRICE)
        forged["X-Vox-Voucher"] = "00" * 64
        cases_list = [*cases.items(), ("voucher_invalid", forged)]
        cases_list.append(("voucher_invalid", pay(node, key, channel_id, 2 * PRICE, "other-chain")))
        # A voucher of the other channel presented as this one's
        crossed = pay(node, other_key, other_channel, 2 * PRICE)
        crossed["X-Vox-Channel"] = channel_id.hex()
        cases_list.append(("voucher_invalid", crossed))
        for code, headers in cases_list:
            resp = call(provider, headers)
            assert resp.status_code == 402, (code, resp.text)
            err = resp.json()["error"]
            assert err["code"] == code, (code, err)
            if code != "unknown_channel":
                assert err["accepted"] == PRICE and err["amount_needed"] == 2 * PRICE
        status = provider.status()
        assert status["served"] == 1 and status["earned"] == PRICE
        # The next honest voucher still pays exactly one price more
        assert call(provider, pay(node, key, channel_id, 2 * PRICE)).status_code == 200


def test_kill_restart_claim_gets_everything(node: LocalNode, provider_home: Path) -> None:
    key = SigningKey(bytes([74]) * 32)
    channel_id = open_channel(node, key)
    provider = start_provider(node, provider_home)
    calls = 40
    for n in range(1, calls + 1):
        assert call(provider, pay(node, key, channel_id, n * PRICE)).status_code == 200
    provider.kill()  # no shutdown: only what was made durable before each answer survives
    restarted = provider.restart()
    try:
        # The restarted provider holds the best voucher: a replay of the last one is stale
        resp = call(restarted, pay(node, key, channel_id, calls * PRICE))
        assert resp.json()["error"]["code"] == "voucher_stale"
    finally:
        restarted.stop()
    before = channel(node, channel_id)
    assert before is not None and before["claimed"] == 0
    code, out = cli(
        "provider", "claim", "--home", str(provider_home), "--keyring-backend", "test",
        "--key", "provider", "--node", node.url,
    )  # fmt: skip
    assert code == 0, out
    assert out["claimed"] == calls * PRICE and out["txs"] == 1
    after = channel(node, channel_id)
    assert after is not None and after["claimed"] == calls * PRICE
    # Nothing more is owed: a second claim sends nothing
    code, out = cli(
        "provider", "claim", "--home", str(provider_home), "--keyring-backend", "test",
        "--key", "provider", "--node", node.url,
    )  # fmt: skip
    assert code == 0 and out["claimed"] == 0 and out["txs"] == 0


def test_payer_settles_early_provider_claims(node: LocalNode, provider_home: Path) -> None:
    key = SigningKey(bytes([75]) * 32)
    channel_id = open_channel(node, key)
    with start_provider(node, provider_home) as provider:
        for n in range(1, 4):
            assert call(provider, pay(node, key, channel_id, n * PRICE)).status_code == 200
        with VoxClient(node.url) as client:
            payee_before = client.balance(PROVIDER_ADDR)
            settle = {"payer": PAYER_ADDR, "channel_id": channel_id}
            result = client.execute(PAYER, [("channels/Settle", settle)], gas_limit=GAS)
            assert result.code == 0, result.log
            # The settling channel is claimed at once, under the threshold (1 VOX by default)
            deadline = 60
            for _ in range(deadline * 10):
                seen = channel(node, channel_id)
                if seen is not None and seen["claimed"] == 3 * PRICE:
                    break
                time.sleep(0.1)
            else:
                pytest.fail(f"no claim landed: {provider.status()}")
            assert seen["settle_at"] != 0
            payee_after = client.balance(PROVIDER_ADDR)
            params = client.auth_params()
        # The provider counts its claim once the node's answer reaches it, which can come after
        # the claim is seen on chain (a loaded machine), and reads the channel again after that
        deadline = time.monotonic() + 30
        while (status := provider.status())["claims_sent"] < 1 or status["unclaimed"]:
            assert time.monotonic() < deadline, f"the provider never counted its claim: {status}"
            time.sleep(0.1)
        assert status["claims_sent"] == 1 and status["unclaimed"] == 0
        # The payee got exactly the 3 prices, less the claim tx's fee (its gas at the min price)
        gas = CLAIM_GAS_BASE + CLAIM_GAS_PER_VOUCHER
        fee = compute_min_fee(gas, params.min_gas_price_num, params.min_gas_price_den)
        assert payee_after - payee_before == 3 * PRICE - fee


def test_signing_key_command(provider_home: Path) -> None:
    args = ("--home", str(provider_home), "--keyring-backend", "test")
    code, out = cli("provider", "signing-key", *args)
    assert code == 0, out
    assert out["signing_key"] == response_public_key(PROVIDER).hex()
    assert out["provider"] == encode_address(PROVIDER_ADDR)
    code, out = cli("provider", "signing-key", *args, "--key", "nobody")
    assert code == 1 and "error" in out


def test_status_command(node: LocalNode, provider_home: Path) -> None:
    code, out = cli("provider", "status", "--home", str(provider_home))
    assert code == 1 and out["error"]["code"] == "no_status"
    with start_provider(node, provider_home) as provider:
        # The status file is written every second; it names a view once the first ping landed
        deadline = time.monotonic() + 60
        while True:
            written = provider.status_file()
            if written is not None and written["last_view_height"] > 0:
                break
            assert time.monotonic() < deadline, f"the status file never named a view: {written}"
            time.sleep(0.2)
        code, out = cli("provider", "status", "--home", str(provider_home))
        assert code == 0, out
        assert out["running"] and out["node_reachable"] and out["last_view_height"] > 0
        assert (
            out["provider"] == encode_address(PROVIDER_ADDR) and out["pid"] == provider.process.pid
        )
    code, out = cli("provider", "status", "--home", str(provider_home))
    assert code == 0 and not out["running"]


def test_node_away_serves_from_last_view(tmp_path: Path, provider_home: Path) -> None:
    node_home = tmp_path / "node"
    funds = {encode_address(PROVIDER_ADDR): FUNDS, encode_address(PAYER_ADDR): FUNDS}
    node = LocalNode.start(node_home, funds=funds)
    try:
        key = SigningKey(bytes([76]) * 32)
        channel_id = open_channel(node, key)
        with start_provider(node, provider_home, "--price", str(PRICE)) as provider:
            assert call(provider, pay(node, key, channel_id, PRICE)).status_code == 200
            node.stop()
            # Within a margin of the settle window, the channel seen open is still served
            assert call(provider, pay(node, key, channel_id, 2 * PRICE)).status_code == 200
            # A channel never seen cannot be checked without the node
            resp = call(provider, pay(node, key, bytes([8]) * 32, PRICE))
            assert resp.status_code == 503
            assert resp.json()["error"]["code"] == "node_unreachable"
            deadline = time.monotonic() + 30  # its next ping fails (late on a loaded machine)
            while (status := provider.status())["node_reachable"]:
                assert time.monotonic() < deadline, f"the provider still sees the node: {status}"
                time.sleep(0.1)
            assert not status["node_reachable"] and status["serving_from_last_view"]
            assert status["served"] == 2 and status["unclaimed"] == 2 * PRICE
    finally:
        node.stop()


def test_kill_under_load_loses_no_acknowledged_voucher(
    node: LocalNode, provider_home: Path
) -> None:
    keys = [SigningKey(bytes([90 + i]) * 32) for i in range(4)]
    channels = [open_channel(node, key) for key in keys]
    provider = start_provider(node, provider_home)
    acknowledged = [0] * len(keys)
    stop = threading.Event()

    def pay_loop(i: int) -> None:
        with httpx.Client(base_url=provider.url, timeout=5.0) as http:
            n = 0
            while not stop.is_set():
                n += 1
                headers = pay(node, keys[i], channels[i], n * PRICE)
                try:
                    resp = http.post("/v1/echo", content=BODY, headers=headers)
                except httpx.HTTPError:
                    return  # killed mid-call: that call was never acknowledged
                assert resp.status_code == 200, resp.text
                acknowledged[i] = n * PRICE

    threads = [threading.Thread(target=pay_loop, args=(i,)) for i in range(len(keys))]
    for thread in threads:
        thread.start()
    # At least a second of calls, and one answered on every channel (slow on a loaded machine)
    started, deadline = time.monotonic(), time.monotonic() + 60
    try:
        while time.monotonic() < started + 1.0 or not all(acknowledged):
            assert all(t.is_alive() for t in threads), f"a payer stopped early: {acknowledged}"
            assert time.monotonic() < deadline, f"not every channel was answered: {acknowledged}"
            time.sleep(0.1)
    finally:
        provider.kill()  # while calls are in flight
        stop.set()
        for thread in threads:
            thread.join()
    assert all(acknowledged), acknowledged
    held = read_best(provider_dir(provider_home) / LOG_NAME)
    for channel_id, amount in zip(channels, acknowledged, strict=True):
        assert held[channel_id].amount >= amount  # every answered call's voucher is on disk
    code, out = cli(
        "provider", "claim", "--home", str(provider_home), "--keyring-backend", "test",
        "--key", "provider", "--node", node.url,
    )  # fmt: skip
    assert code == 0, out
    for channel_id in channels:
        seen = channel(node, channel_id)
        assert seen is not None and seen["claimed"] == held[channel_id].amount


def test_invalid_offer_signing_key_refuses_to_start(node: LocalNode, tmp_path: Path) -> None:
    # The payer registers an offer naming a key that is not its account's response key
    with VoxClient(node.url) as client:
        register = {
            "provider": PAYER_ADDR,
            "kind": "echo",
            "endpoint": "http://127.0.0.1:2/",
            "price": PRICE,
            "languages": ["en-us"],
            "signing_key": bytes(SigningKey(bytes([77]) * 32).verify_key),
            "stake": STAKE,
        }
        result = client.execute(PAYER, [("services/Register", register)], gas_limit=GAS)
        assert result.code == 0, result.log
    home = tmp_path / "payer-provider"
    Keyring(home / "keyring", "test").import_seed("provider", PAYER_SEED)
    code, out = cli(
        "provider", "start", "--service", "echo", "--engine", "echo", "--home", str(home),
        "--keyring-backend", "test", "--node", node.url, "--port", "1",
    )  # fmt: skip
    assert code == 1 and out["error"]["code"] == "signing_key_mismatch", out
