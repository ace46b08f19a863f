"""The payer prices stt audio from its header (FLAC STREAMINFO, PCM WAV) without decoding it;
the count must agree with the frames the gateway bills (soundfile's), on real speech."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from voxpop.client.payments import price_units
from voxpop.client.payments.wire import SECONDS_PER_UNIT, decoded_frames, header_frames
from voxpop.provider.engines.stt import billed_units, decode_audio

needs_speech_tools = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox make the test speech (make test installs them)",
)
# Several lengths, some across a 10 s unit boundary once padded with silence (sox `pad`)
PADS = [0.0, 3.7, 9.1, 17.25]


def _speech(directory: Path, pad: float, args: list[str], suffix: str) -> bytes:
    wav, out = directory / "speech.wav", directory / f"speech-{pad}{suffix}"
    subprocess.run(
        ["espeak-ng", "-w", str(wav), "what is the weather in london"],
        check=True,
        capture_output=True,
    )
    subprocess.run(["sox", str(wav), *args, str(out), "pad", "0", str(pad)], check=True)
    return out.read_bytes()


def _soundfile_frames(body: bytes) -> tuple[int, int]:
    info = soundfile.info(io.BytesIO(body))
    return int(info.frames), int(info.samplerate)


@needs_speech_tools
@pytest.mark.parametrize("pad", PADS)
@pytest.mark.parametrize(
    ("args", "suffix"),
    [
        (["-r", "16000", "-c", "1"], ".flac"),  # what devices send and the bench uses
        ([], ".flac"),  # espeak-ng's own 22050 Hz
        (["-r", "44100", "-c", "2"], ".flac"),
        (["-r", "16000", "-c", "1", "-b", "16"], ".wav"),
        (["-r", "8000", "-c", "2"], ".wav"),
    ],
)
def test_header_frames_agree_with_the_gateway(
    tmp_path: Path, pad: float, args: list[str], suffix: str
) -> None:
    body = _speech(tmp_path, pad, args, suffix)
    stated = header_frames(body)
    assert stated is not None, "the header states the length"
    assert stated == _soundfile_frames(body)
    _, frames, rate = decode_audio(body)  # what the gateway bills
    assert stated == (frames, rate)
    assert price_units("stt", body) == billed_units(frames, rate)


@pytest.mark.parametrize("seconds", [0.5, 9.99, 10.0, 10.01, 25.0])
@pytest.mark.parametrize("fmt", ["FLAC", "WAV"])
def test_header_frames_agree_on_exact_lengths(seconds: float, fmt: str) -> None:
    rate = 16_000
    out = io.BytesIO()
    soundfile.write(out, np.zeros(int(seconds * rate), dtype=np.int16), rate, format=fmt)
    body = out.getvalue()
    assert header_frames(body) == (int(seconds * rate), rate) == _soundfile_frames(body)
    assert price_units("stt", body) == max(1, -(-int(seconds * rate) // (rate * SECONDS_PER_UNIT)))


def test_float_wav_falls_back_to_soundfile() -> None:
    out = io.BytesIO()
    soundfile.write(out, np.zeros(25 * 8_000), 8_000, format="WAV", subtype="FLOAT")
    body = out.getvalue()
    assert header_frames(body) is None  # stdlib wave reads PCM only
    assert decoded_frames(body) == (25 * 8_000, 8_000)
    assert price_units("stt", body) == 3


def test_streamed_wav_with_a_placeholder_size_falls_back_to_soundfile() -> None:
    out = io.BytesIO()
    soundfile.write(out, np.zeros(12 * 16_000, dtype=np.int16), 16_000, format="WAV")
    body = bytearray(out.getvalue())
    data = body.index(b"data")
    body[data + 4 : data + 8] = (0x7FFFF000).to_bytes(4, "little")  # "until the stream ends"
    assert header_frames(bytes(body)) is None
    assert price_units("stt", bytes(body)) == 2 == -(-_soundfile_frames(bytes(body))[0] // 160_000)


def test_flac_without_a_sample_count_falls_back_to_soundfile() -> None:
    out = io.BytesIO()
    soundfile.write(out, np.zeros(21 * 16_000, dtype=np.int16), 16_000, format="FLAC")
    body = bytearray(out.getvalue())
    # STREAMINFO: 4-byte magic, 4-byte block header, then 10 bytes before the 36-bit count
    body[8 + 13] &= 0xF0
    body[8 + 14 : 8 + 18] = bytes(4)
    assert header_frames(bytes(body)) is None
    # soundfile's count as before (libsndfile reports "unknown" as huge; the gateway refuses it)
    frames, rate = _soundfile_frames(bytes(body))
    assert price_units("stt", bytes(body)) == -(-frames // (rate * SECONDS_PER_UNIT))


def test_pricing_audio_from_its_header_loads_no_numpy(tmp_path: Path) -> None:
    out = io.BytesIO()
    soundfile.write(out, np.zeros(16_000, dtype=np.int16), 16_000, format="FLAC")
    audio = tmp_path / "a.flac"
    audio.write_bytes(out.getvalue())
    code = (
        "import sys; from pathlib import Path; from voxpop.client.payments import price_units;"
        f"assert price_units('stt', Path({str(audio)!r}).read_bytes()) == 1;"
        "assert 'numpy' not in sys.modules and 'soundfile' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
