"""Speech to text: pocketsphinx on espeak-ng speech (WAV → FLAC), the grammar mode getting the
exact words, billing per started 10 seconds, and a paid transcription through a real provider
process against a real solo node."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile  # type: ignore[import-untyped]
from nacl.signing import SigningKey

from voxpop.client import VoxClient
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring, PrivateKey, encode_address
from voxpop.crypto.vouchers import Receipt, derive_channel_id, sign_voucher
from voxpop.provider.engines import BadRequestError, TooLargeError
from voxpop.provider.engines.stt import PocketsphinxEngine, billed_units, to_pcm16_mono
from voxpop.provider.testing import LocalProvider

PHRASE = "what is the weather in london"
GRAMMAR = (
    "#JSGF V1.0;\ngrammar assistant;\n"
    "public <request> = what is the weather in (london | paris | berlin) | tell me a joke"
    " | set a timer for (five | ten) minutes;\n"
)
PROVIDER_SEED = bytes([81]) * 32
PAYER = PrivateKey(bytes([82]) * 32)
VOUCHER_KEY = SigningKey(bytes([83]) * 32)
PRICE = 1_000

needs_speech = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox make the test speech (make test installs them)",
)


def speak(directory: Path, text: str, *sox_effects: str, name: str = "speech") -> tuple[Path, Path]:
    """espeak-ng's WAV of `text`, and sox's 16 kHz mono FLAC of it (after any effects)."""
    wav = directory / f"{name}.wav"
    flac = directory / f"{name}.flac"
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True, capture_output=True)
    subprocess.run(
        ["sox", str(wav), "-r", "16000", "-c", "1", str(flac), *sox_effects],
        check=True,
        capture_output=True,
    )
    return wav, flac


@pytest.fixture(scope="module")
def grammar_engine() -> PocketsphinxEngine:
    return PocketsphinxEngine(grammar=GRAMMAR)


@needs_speech
@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_grammar_mode_exact_words(
    grammar_engine: PocketsphinxEngine, tmp_path: Path, fmt: str
) -> None:
    wav, flac = speak(tmp_path, PHRASE)
    body = (wav if fmt == "wav" else flac).read_bytes()
    prepared = grammar_engine.prepare(body, f"audio/{fmt}", {"lang": "en-us"})
    assert prepared.units == 1
    answer = asyncio.run(grammar_engine.run(prepared))
    assert b'"text":"what is the weather in london"' in answer


@needs_speech
def test_open_mode_answers(tmp_path: Path) -> None:
    # Open vocabulary is poor on synthetic speech: it answers, the words are not checked
    engine = PocketsphinxEngine()
    _, flac = speak(tmp_path, PHRASE)
    answer = asyncio.run(engine.run(engine.prepare(flac.read_bytes(), "audio/x-flac", {})))
    assert b'"mode":"open"' in answer and b'"text":' in answer


def test_billing_per_started_ten_seconds() -> None:
    assert billed_units(1, 16_000) == 1
    assert billed_units(160_000, 16_000) == 1  # exactly 10 s
    assert billed_units(160_001, 16_000) == 2
    assert billed_units(59 * 44_100, 44_100) == 6


def test_conversion_to_16k_mono() -> None:
    stereo = np.zeros((44_100, 2), dtype=np.float32)
    stereo[:, 0] = 0.5
    pcm = to_pcm16_mono(stereo, 44_100)
    samples = np.frombuffer(pcm, dtype="<i2")
    assert len(samples) == 16_000 and int(samples[100]) == round(0.25 * 32767)


def test_invalid_audio(grammar_engine: PocketsphinxEngine, tmp_path: Path) -> None:
    with pytest.raises(BadRequestError):
        grammar_engine.prepare(b"RIFF not really audio", "audio/wav", {})
    with pytest.raises(BadRequestError):
        grammar_engine.prepare(b"", "audio/wav", {})
    long = tmp_path / "long.flac"
    soundfile.write(long, np.zeros(61 * 8_000, dtype=np.int16), 8_000)  # 61 s: over the limit
    with pytest.raises(TooLargeError):
        grammar_engine.prepare(long.read_bytes(), "audio/x-flac", {})
    with pytest.raises(BadRequestError):
        grammar_engine.prepare(long.read_bytes(), "audio/x-flac", {"lang": "fr-fr"})


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("stt") / "node"
    provider = PrivateKey(PROVIDER_SEED).public_key.address
    funds = {encode_address(provider): 10**12, encode_address(PAYER.public_key.address): 10**12}
    with LocalNode.start(home, funds=funds) as running:
        yield running


@pytest.mark.slow
@needs_speech
def test_paid_transcription(node: LocalNode, tmp_path: Path) -> None:
    provider_addr = PrivateKey(PROVIDER_SEED).public_key.address
    payer_addr = PAYER.public_key.address
    with VoxClient(node.url) as client:
        msg = {
            "payer": payer_addr,
            "payee": provider_addr,
            "voucher_key": bytes(VOUCHER_KEY.verify_key),
            "deposit": 100 * PRICE,
        }
        assert client.execute(PAYER, [("channels/Open", msg)], gas_limit=300_000).code == 0
    channel_id = derive_channel_id(node.chain_id, payer_addr, 0)
    home = tmp_path / "provider"
    Keyring(home / "keyring", "test").import_seed("provider", PROVIDER_SEED)
    grammar = tmp_path / "assistant.gram"
    grammar.write_text(GRAMMAR)
    _, flac = speak(tmp_path, PHRASE)
    _, padded = speak(tmp_path, PHRASE, "pad", "0", "11", name="padded")  # > 10 s
    audio = flac.read_bytes()
    with LocalProvider.start(
        home,
        node_url=node.url,
        kind="stt",
        engine="pocketsphinx",
        price=PRICE,
        extra=["--grammar", str(grammar)],
    ) as provider:
        assert provider.offer()["unit"] == "10s_audio"

        def post(body: bytes, amount: int) -> httpx.Response:
            voucher = sign_voucher(VOUCHER_KEY, node.chain_id, channel_id, amount)
            headers = {
                "Content-Type": "audio/x-flac",
                "X-Vox-Channel": channel_id.hex(),
                "X-Vox-Amount": str(amount),
                "X-Vox-Voucher": voucher.signature.hex(),
            }
            return httpx.post(
                provider.url + "/v1/stt?lang=en-us", content=body, headers=headers, timeout=30
            )

        resp = post(audio, PRICE)
        assert resp.status_code == 200, resp.text
        assert resp.json()["text"] == PHRASE
        receipt = Receipt(
            channel_id,
            hashlib.sha256(audio).digest(),
            hashlib.sha256(resp.content).digest(),
            PRICE,
            bytes.fromhex(resp.headers["x-vox-receipt"]),
        )
        assert receipt.verify(node.chain_id, bytes.fromhex(provider.offer()["signing_key"]))
        # 12 s of audio is two started 10-second blocks: one price is underpaid
        long_audio = padded.read_bytes()
        resp = post(long_audio, 2 * PRICE)
        assert resp.status_code == 402
        assert resp.json()["error"]["code"] == "underpaid"
        assert resp.json()["error"]["amount_needed"] == 3 * PRICE
        resp = post(long_audio, 3 * PRICE)
        assert resp.status_code == 200 and resp.json()["text"] == PHRASE
        status = provider.status()
        assert status["served"] == 2 and status["earned"] == 3 * PRICE
