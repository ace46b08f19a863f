"""The audio devices send, converted with a library: the grammar mode gets the exact words from
FLAC and WAV at the rates and channel counts devices and phones record (resampled with soxr), and
oversized, truncated or malformed audio and unknown languages are refused with their codes."""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile  # type: ignore[import-untyped]

from voxpop.provider.engines import BadRequestError, EngineError, TooLargeError
from voxpop.provider.engines.stt import (
    MAX_AUDIO_BYTES,
    SAMPLE_RATE,
    PocketsphinxEngine,
    decode_audio,
    to_pcm16_mono,
)

PHRASE = "set a timer for ten minutes"
GRAMMAR = (
    "#JSGF V1.0;\ngrammar assistant;\n"
    "public <request> = what is the weather in (london | paris) | tell me a joke"
    " | set a timer for (five | ten | twenty) (minutes | seconds);\n"
)
needs_speech = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox make the test speech (make test installs them)",
)


@pytest.fixture(scope="module")
def engine() -> PocketsphinxEngine:
    return PocketsphinxEngine(grammar=GRAMMAR)


def record(directory: Path, text: str, name: str, *sox_args: str) -> bytes:
    wav = directory / "espeak.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True, capture_output=True)
    out = directory / name
    subprocess.run(["sox", str(wav), *sox_args, str(out)], check=True, capture_output=True)
    return out.read_bytes()


@needs_speech
@pytest.mark.parametrize(
    "text",
    [
        "set a timer for ten minutes",
        "tell me a joke",
        "what is the weather in paris",
        # paused inside the phrase (espeak-ng SSML)
        'what is the weather <break time="700ms"/> in london',
        'tell me <break time="600ms"/> a joke',
    ],
)
def test_grammar_exact_words_of_each_phrase(
    engine: PocketsphinxEngine, tmp_path: Path, text: str
) -> None:
    wav, out = tmp_path / "s.wav", tmp_path / "s.flac"
    subprocess.run(["espeak-ng", "-m", "-w", str(wav), text], check=True, capture_output=True)
    subprocess.run(["sox", str(wav), "-r", "16000", str(out)], check=True, capture_output=True)
    prepared = engine.prepare(out.read_bytes(), "audio/x-flac", {"lang": "en-us"})
    answer = json.loads(asyncio.run(engine.run(prepared)))
    assert answer["text"] == " ".join(re.sub(r"<[^>]*>", " ", text).split())


@needs_speech
@pytest.mark.parametrize(
    ("name", "sox_args"),
    [
        ("device.flac", ["-r", "16000", "-c", "1"]),
        ("phone.wav", ["-r", "44100", "-c", "2"]),
        ("studio.flac", ["-r", "48000", "-c", "2", "-b", "24"]),
        ("float.wav", ["-r", "22050", "-e", "floating-point", "-b", "32"]),
    ],
)
def test_grammar_exact_words(
    engine: PocketsphinxEngine, tmp_path: Path, name: str, sox_args: list[str]
) -> None:
    body = record(tmp_path, PHRASE, name, *sox_args)
    prepared = engine.prepare(body, "audio/x-flac", {"lang": "en-us"})
    answer = json.loads(asyncio.run(engine.run(prepared)))
    assert answer["text"] == PHRASE
    assert answer["mode"] == "grammar" and prepared.units == 1


def test_resampling_keeps_a_tone() -> None:
    # A 440 Hz tone at 44.1 kHz stereo → 16 kHz mono: same length in time, same pitch, no clip
    rate, seconds = 44_100, 1.0
    t = np.arange(int(rate * seconds)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    pcm = np.frombuffer(to_pcm16_mono(np.stack([tone, tone], axis=1), rate), dtype="<i2")
    assert abs(len(pcm) - SAMPLE_RATE) <= 1
    spectrum = np.abs(np.fft.rfft(pcm))
    assert abs(int(np.argmax(spectrum)) * SAMPLE_RATE / len(pcm) - 440) < 2
    assert 0.45 * 32767 < np.abs(pcm).max() < 0.55 * 32767


def flac(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, samples, rate, format="FLAC")
    return out.getvalue()


@pytest.mark.parametrize(
    ("body", "error", "code"),
    [
        (b"", BadRequestError, "bad_request"),
        (b"fLaC" + b"\0" * 100, BadRequestError, "bad_request"),
        (b'{"text": "hi"}', BadRequestError, "bad_request"),
        (b"\xff" * 5000, BadRequestError, "bad_request"),
        ("truncated", BadRequestError, "bad_request"),
        ("empty", BadRequestError, "bad_request"),
        ("long", TooLargeError, "too_large"),
        (b"\0" * (MAX_AUDIO_BYTES + 1), TooLargeError, "too_large"),
    ],
)
def test_invalid_audio(body: object, error: type[EngineError], code: str) -> None:
    cases = {
        "truncated": flac(np.zeros(SAMPLE_RATE * 3, dtype=np.int16) + 1000)[:60],
        "empty": flac(np.zeros(0, dtype=np.int16)),
        "long": flac(np.zeros(SAMPLE_RATE * 61, dtype=np.int16)),
    }
    data = cases[body] if isinstance(body, str) else body
    assert isinstance(data, bytes)
    with pytest.raises(error) as info:
        decode_audio(data)
    assert info.value.code == code


@pytest.mark.parametrize("lang", ["fr-fr", "xx", "en-gb"])
def test_invalid_unknown_language(engine: PocketsphinxEngine, lang: str) -> None:
    with pytest.raises(BadRequestError) as info:
        engine.prepare(flac(np.zeros(1600, dtype=np.int16)), "audio/x-flac", {"lang": lang})
    assert (info.value.status, info.value.code) == (400, "unsupported_language")
