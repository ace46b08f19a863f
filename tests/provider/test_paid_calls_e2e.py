"""End to end through the paying client: a real solo node, real provider processes registered on
chain, and voxpop.client.payments finding them through proven offers, opening channels, paying
each call with a voucher and checking each receipt.

The market (one node and these providers for the module):
    stt       pocketsphinx in grammar mode, 1,000 uvox per started 10 s of audio
    echo      DOWN (5 uvox, registered, nothing listens), LIAR (7 uvox, a real gateway but the
              offer names another receipt key: its receipts cannot verify), GOOD (10 uvox)
    weather   an echo engine at 3 uvox that claims at once (balances, caps, top-ups)
    knowledge an echo engine at 4 uvox that claims only when a settle window starts
    geolocation  SLOW (1 uvox: a socket that accepts and never answers), GEO (2 uvox)
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from nacl.signing import SigningKey

from voxpop.chain.modules.channels.messages import MsgClose, MsgCollect
from voxpop.chain.modules.channels.state import MODULE_ADDRESS as CHANNELS_ACCOUNT
from voxpop.chain.modules.services.messages import MsgRegister
from voxpop.client import VoxClient, compute_min_fee
from voxpop.client.errors import TxRejectedError
from voxpop.client.payments import (
    AsyncPayingClient,
    BadAudioError,
    Ledger,
    NoProviderError,
    PayingClient,
    Policy,
    SpendingCapError,
)
from voxpop.client.payments.client import CHANNEL_GAS
from voxpop.client.payments.offers import fetch_channel
from voxpop.client.payments.wire import payment_headers
from voxpop.client.testing import LocalNode, free_port
from voxpop.crypto import Keyring, PrivateKey, encode_address
from voxpop.crypto.vouchers import sign_voucher
from voxpop.provider.keys import response_public_key
from voxpop.provider.service import CLAIM_GAS_BASE, CLAIM_GAS_PER_VOUCHER
from voxpop.provider.testing import LocalProvider

pytestmark = pytest.mark.slow

FUNDS = 10**13
STAKE = 1_000_000_000  # the services module's default min_stake
GAS = 300_000
PHRASE = "what is the weather in london"
GRAMMAR = (
    "#JSGF V1.0;\ngrammar assistant;\n"
    "public <request> = what is the weather in (london | paris | berlin) | tell me a joke;\n"
)
FAST = ["--claim-interval", "0.2", "--refresh-interval", "0.5"]


def key(n: int) -> PrivateKey:
    return PrivateKey(bytes([n]) * 32)


STT, DOWN, LIAR, GOOD, WEATHER, KNOWLEDGE, SLOW, GEO = (key(n) for n in range(90, 98))
PAYERS = {
    name: key(n)
    for n, name in enumerate(
        ["stt", "failover", "bal", "cap", "settle", "slow", "restart", "topup", "reopen", "aio"],
        100,
    )
}


@dataclass
class Market:
    node: LocalNode
    providers: dict[str, LocalProvider]


def register(vox: VoxClient, account: PrivateKey, kind: str, port: int, price: int) -> None:
    signing_key = response_public_key(account if account is not LIAR else GOOD)
    msg = MsgRegister(
        provider=account.public_key.address,
        kind=kind,
        endpoint=f"http://127.0.0.1:{port}",
        price=price,
        languages=("en-us",),
        signing_key=signing_key,
        stake=STAKE,
    )
    result = vox.execute(account, [msg], gas_limit=GAS)
    assert result.code == 0, result.log


def start(
    root: Path, node: LocalNode, account: PrivateKey, kind: str, engine: str, port: int, *extra: str
) -> LocalProvider:
    home = root / encode_address(account.public_key.address)
    Keyring(home / "keyring", "test").import_seed("provider", account.seed)
    return LocalProvider.start(
        home, node_url=node.url, kind=kind, engine=engine, port=port, extra=[*FAST, *extra]
    )


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    root = tmp_path_factory.mktemp("paid")
    accounts = [STT, DOWN, LIAR, GOOD, WEATHER, KNOWLEDGE, SLOW, GEO, *PAYERS.values()]
    funds = {encode_address(k.public_key.address): FUNDS for k in accounts}
    grammar = root / "assistant.gram"
    grammar.write_text(GRAMMAR)
    # (account, kind, engine, price, extra options); DOWN is registered but never started
    plan = [
        (STT, "stt", "pocketsphinx", 1_000, ["--grammar", str(grammar)]),
        (DOWN, "echo", "", 5, []),
        (LIAR, "echo", "echo", 7, []),
        (GOOD, "echo", "echo", 10, []),
        (WEATHER, "weather", "echo", 3, ["--claim-threshold", "1"]),
        (KNOWLEDGE, "knowledge", "echo", 4, ["--claim-threshold", str(10**12)]),
        (SLOW, "geolocation", "", 1, []),
        (GEO, "geolocation", "echo", 2, []),
    ]
    providers: dict[str, LocalProvider] = {}
    # SLOW's endpoint: the kernel completes the connection, nothing ever answers
    silent = socket.create_server(("127.0.0.1", 0))
    with silent, LocalNode.start(root / "node", funds=funds) as node:
        try:
            with VoxClient(node.url) as vox:
                for account, kind, engine, price, extra in plan:
                    port = silent.getsockname()[1] if account is SLOW else free_port()
                    name = encode_address(account.public_key.address)
                    if account is LIAR:
                        # A gateway refuses to start on an offer naming another key: the offer
                        # changes under it, as a provider would change it to cheat
                        extra = [*extra, "--price", str(price)]
                        providers[name] = start(root, node, account, kind, engine, port, *extra)
                    register(vox, account, kind, port, price)
                    if engine and account is not LIAR:
                        providers[name] = start(root, node, account, kind, engine, port, *extra)
            yield Market(node, providers)
        finally:
            for provider in providers.values():
                provider.stop()


def provider_of(market: Market, account: PrivateKey) -> LocalProvider:
    return market.providers[encode_address(account.public_key.address)]


@pytest.fixture
def vox(market: Market) -> Iterator[VoxClient]:
    with VoxClient(market.node.url) as client:
        yield client


def payer(vox: VoxClient, name: str, tmp_path: Path, **policy: object) -> PayingClient:
    return PayingClient(
        vox,
        PAYERS[name],
        ledger=Ledger(tmp_path / f"{name}.db"),
        policy=Policy(deposit=100_000, top_up_below=1_000, top_up_amount=100_000, **policy),  # type: ignore[arg-type]
    )


def wait_claimed(vox: VoxClient, channel_id: bytes, amount: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    claimed = -1
    while time.monotonic() < deadline:
        channel = fetch_channel(vox, channel_id)
        claimed = channel.claimed if channel is not None else -1
        if claimed == amount:
            return claimed
        time.sleep(0.2)
    return claimed


def wait_status(
    provider: LocalProvider, check: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """The provider's status once `check` holds (30 s at most: a loaded machine is slow)."""
    deadline = time.monotonic() + 30
    while not check(status := provider.status()):
        assert time.monotonic() < deadline, f"the provider never showed {what}: {status}"
        time.sleep(0.1)
    return status


def speak(directory: Path, text: str, *effects: str) -> bytes:
    wav, flac = directory / "speech.wav", directory / "speech.flac"
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True, capture_output=True)
    subprocess.run(
        ["sox", str(wav), "-r", "16000", "-c", "1", str(flac), *effects],
        check=True,
        capture_output=True,
    )
    return flac.read_bytes()


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox make the test speech (make test installs them)",
)
def test_pay_for_a_transcription(market: Market, vox: VoxClient, tmp_path: Path) -> None:
    with payer(vox, "stt", tmp_path) as client:
        answer = client.call("stt", speak(tmp_path, PHRASE), content_type="audio/x-flac")
        assert json.loads(answer.body)["text"] == PHRASE
        assert answer.provider == STT.public_key.address and answer.cost == 1_000
        # 11 s of silence after the speech: two started 10-second blocks
        longer = client.call(
            "stt", speak(tmp_path, PHRASE, "pad", "0", "11"), content_type="audio/x-flac"
        )
        assert json.loads(longer.body)["text"] == PHRASE
        assert longer.cost == 2_000 and longer.amount == 3_000
        stored = client.receipts()
        assert [r.cost for r in stored] == [1_000, 2_000]
        assert all(r.receipt.verify(market.node.chain_id, response_public_key(STT)) for r in stored)


def test_failover_past_a_down_provider_and_a_lying_one(vox: VoxClient, tmp_path: Path) -> None:
    body = b'{"q": "ping"}'
    with payer(vox, "failover", tmp_path) as client:
        answer = client.call("echo", body)
        # DOWN (cheapest) refused the connection; LIAR served but its receipt did not verify
        assert answer.provider == GOOD.public_key.address and answer.body == body
        stats = client.selector.stats
        assert stats[DOWN.public_key.address].failures == 1
        assert stats[LIAR.public_key.address].failures == 1
        assert "receipt" in stats[LIAR.public_key.address].last_problem
        assert [r.provider for r in client.receipts()] == [GOOD.public_key.address]
        # LIAR holds a voucher for 7 (money at risk, counted); DOWN never got one
        assert client.spent_today() == (17, {"echo": 17})
        # Both stay skipped for the cooldown: the next call goes straight to GOOD
        again = client.call("echo", body)
        assert again.provider == GOOD.public_key.address and again.amount == 20
        assert stats[DOWN.public_key.address].failures == 1


def test_claims_land_and_balances_move_by_the_prices(
    market: Market, vox: VoxClient, tmp_path: Path
) -> None:
    provider = provider_of(market, WEATHER)
    payer_addr = PAYERS["bal"].public_key.address
    provider_addr = WEATHER.public_key.address
    # Verify nothing of earlier tests is still to be claimed by this provider
    wait_status(provider, lambda s: s["unclaimed"] == 0, "nothing left to claim")
    before = {a: vox.balance(a) for a in (payer_addr, provider_addr, CHANNELS_ACCOUNT)}
    claims_before = provider.status()["claims_sent"]
    with payer(vox, "bal", tmp_path) as client:
        answers = [client.call("weather", json.dumps({"city": c}).encode()) for c in "abcde"]
        total = sum(a.cost for a in answers)
        assert total == 5 * 3 and answers[-1].amount == total
        [channel] = client.ledger.channels()
        assert wait_claimed(vox, channel.channel_id, total) == total
    params = vox.auth_params()
    open_fee = compute_min_fee(CHANNEL_GAS, params.min_gas_price_num, params.min_gas_price_den)
    claim_fee = compute_min_fee(
        CLAIM_GAS_BASE + CLAIM_GAS_PER_VOUCHER, params.min_gas_price_num, params.min_gas_price_den
    )
    after = {a: vox.balance(a) for a in before}
    deposit = 100_000
    assert before[payer_addr] - after[payer_addr] == deposit + open_fee
    assert after[CHANNELS_ACCOUNT] - before[CHANNELS_ACCOUNT] == deposit - total
    # The provider counts a claim once the node's answer reaches it, which can come after the
    # claim is seen on chain (a loaded machine): its count catches up with the fees it paid
    deadline = time.monotonic() + 30
    while True:
        status = provider.status()
        claims = status["claims_sent"] - claims_before
        if after[provider_addr] - before[provider_addr] == total - claims * claim_fee:
            break
        assert time.monotonic() < deadline, (status, after[provider_addr] - before[provider_addr])
        time.sleep(0.1)
    assert claims >= 1 and status["claim_errors"] == 0


def test_spending_cap_holds(market: Market, vox: VoxClient, tmp_path: Path) -> None:
    provider = provider_of(market, WEATHER)
    with payer(vox, "cap", tmp_path, service_caps={"weather": 7}) as client:
        client.call("weather", b"{}")
        client.call("weather", b"{}")
        [before] = client.ledger.channels()
        served = provider.status()["served"]
        with pytest.raises(SpendingCapError) as err:
            client.call("weather", b"{}")
        assert (err.value.code, err.value.scope, err.value.spent) == ("spending_cap", "weather", 6)
        # Nothing was signed or sent: same amounts, no new receipt, the provider saw no call
        assert client.ledger.channels() == [before]
        assert len(client.receipts()) == 2 and client.spent_today() == (6, {"weather": 6})
        assert provider.status()["served"] == served
    with payer(vox, "cap", tmp_path, daily_cap=6) as again:  # the ledger survives a restart
        with pytest.raises(SpendingCapError) as err:
            again.call("weather", b"{}")
        assert err.value.scope == "total"


def test_payer_leaves_early_provider_claims_within_the_window(
    vox: VoxClient, tmp_path: Path
) -> None:
    with payer(vox, "settle", tmp_path) as client:
        paid = sum(client.call("knowledge", b'{"q": "why"}').cost for _ in range(3))
        [channel] = client.ledger.channels()
        # The provider claims only past a huge threshold: nothing lands while the channel is open
        time.sleep(1.0)
        on_chain = fetch_channel(vox, channel.channel_id)
        assert on_chain is not None and on_chain.claimed == 0
        client.settle(channel.channel_id)
        on_chain = fetch_channel(vox, channel.channel_id)
        assert on_chain is not None and on_chain.settle_at > 0
        # The payer cannot take its deposit back before the window ends
        collect = MsgCollect(payer=client.payer, channel_id=channel.channel_id)
        try:
            refused = vox.execute(client.account_key, [collect], gas_limit=GAS).code != 0
        except TxRejectedError:
            refused = True
        assert refused
        # The settle window started: the provider claims everything within it
        assert wait_claimed(vox, channel.channel_id, paid) == paid
        # A settled channel is not used again: the next call opens a new one
        client.call("knowledge", b'{"q": "again"}')
        assert len(client.ledger.channels()) == 2


def test_no_provider_of_an_unoffered_kind(vox: VoxClient, tmp_path: Path) -> None:
    with payer(vox, "cap", tmp_path) as client, pytest.raises(NoProviderError) as err:
        client.call("translate", b"{}")
    assert err.value.code == "no_provider_available"


def test_invalid_audio_is_refused_before_paying(vox: VoxClient, tmp_path: Path) -> None:
    with payer(vox, "stt", tmp_path) as client:
        with pytest.raises(BadAudioError) as err:
            client.call("stt", b"RIFF not audio", content_type="audio/wav")
        assert err.value.code == "bad_audio"
        assert client.ledger.channels() == [] and client.receipts() == []


def test_failover_past_a_slow_provider(vox: VoxClient, tmp_path: Path) -> None:
    with payer(vox, "slow", tmp_path, timeout=1.0) as client:
        started = time.monotonic()
        answer = client.call("geolocation", b'{"ip": "192.0.2.1"}')
        assert answer.provider == GEO.public_key.address
        assert 1.0 <= time.monotonic() - started < 10.0
        slow = client.selector.stats[SLOW.public_key.address]
        assert (slow.failures, slow.last_problem) == (1, "slow")
        # SLOW may hold the voucher it never answered: it stays counted against the caps
        assert client.spent_today() == (3, {"geolocation": 3})


def test_restart_after_a_lost_answer_never_reuses_an_amount(
    market: Market, vox: VoxClient, tmp_path: Path
) -> None:
    """The payer dies after its voucher left and before the answer came back: on restart it
    signs no lower amount, learns from the provider's 402 what it holds, and pays on from there."""
    with payer(vox, "restart", tmp_path) as client:
        client.call("weather", b'{"n": 1}')
        [channel] = client.ledger.channels()
        # The lost call: reserved and sent, its answer never recorded
        spend_amount = channel.accepted + 3
        client.ledger.reserve(channel.channel_id, "weather", spend_amount, 3, client.today())
        voucher = sign_voucher(
            SigningKey(PAYERS["restart"].seed),
            market.node.chain_id,
            channel.channel_id,
            spend_amount,
        )
        provider = provider_of(market, WEATHER)
        headers = {"Content-Type": "application/json", **payment_headers(voucher)}
        lost = httpx.post(provider.url + "/v1/weather", content=b"{}", headers=headers)
        assert lost.status_code == 200
    with payer(vox, "restart", tmp_path) as again:
        answer = again.call("weather", b'{"n": 3}')
        assert answer.amount == 9 and answer.cost == 3
        [channel] = again.ledger.channels()
        assert (channel.issued, channel.accepted) == (9, 9)


def test_top_up_when_low(vox: VoxClient, tmp_path: Path) -> None:
    policy = Policy(deposit=10, top_up_below=4, top_up_amount=12)
    with PayingClient(
        vox, PAYERS["topup"], ledger=Ledger(tmp_path / "topup.db"), policy=policy
    ) as client:
        answers = [client.call("weather", b"{}") for _ in range(7)]
        assert [a.amount for a in answers] == [3, 6, 9, 12, 15, 18, 21]
        [channel] = client.ledger.channels()
        on_chain = fetch_channel(vox, channel.channel_id)
        assert on_chain is not None
        # 10; +12 before the third call (it would leave 1 < 4), +12 before the seventh (1 again)
        assert on_chain.deposit == channel.deposit == 34


def test_provider_ends_the_channel_client_opens_a_new_one(
    market: Market, vox: VoxClient, tmp_path: Path
) -> None:
    gateway = provider_of(market, WEATHER)
    with payer(vox, "reopen", tmp_path) as client:
        client.call("weather", b"{}")
        [first] = client.ledger.channels()
        # WEATHER's gateway claims at once with the same key: let its claim land first, or the
        # two txs would race for one sequence number
        assert wait_claimed(vox, first.channel_id, 3) == 3
        # ... and its view to hold the claim: its status counts what its open channels claimed
        claimed = wait_status(gateway, lambda s: s["unclaimed"] == 0, "its claim in its view")
        close = MsgClose(payee=WEATHER.public_key.address, channel_id=first.channel_id)
        assert vox.execute(WEATHER, [close], gas_limit=GAS).code == 0
        # The provider's view (refreshed every 0.5 s) reads the channel gone: the 3 it claimed
        # leave its count (a fixed wait for a refresh round was too short on a loaded machine)
        wait_status(gateway, lambda s: s["claimed"] == claimed["claimed"] - 3, "the close")
        answer = client.call("weather", b"{}")
        old, new = client.ledger.channels()
        assert old.channel_id == first.channel_id and old.closed
        assert not new.closed and answer.receipt.channel_id == new.channel_id
        assert answer.amount == 3  # the new channel starts from nothing


def test_async_client_pays_concurrent_calls_in_order(vox: VoxClient, tmp_path: Path) -> None:
    async def calls() -> list[int]:
        async with AsyncPayingClient(payer(vox, "aio", tmp_path)) as client:
            answers = await asyncio.gather(*(client.call("weather", b"{}") for _ in range(4)))
            return sorted(a.amount for a in answers)

    assert asyncio.run(calls()) == [3, 6, 9, 12]
